/**
 * Producer child of hotpath.bench.ts and julia-engine-child.ts: attaches to the parent's region by name
 * and pushes synthetic ticks, either paced at `rate` ticks/s (one pushTick per tick) or, with rate 0,
 * as fast as the ring accepts (pushBatch of 256, backing off when the ring is nearly full: every tick
 * is consumed, none dropped). Pacing `spin` busy-waits on the monotonic clock for each tick's due time
 * (a core held all along); `sleep` pushes every tick that is due, then sleeps (futex, Atomics.wait)
 * until the next one is due, as a socket reader woken by arriving frames would: the producer leaves
 * its core to the engine thread in between.
 *   node --import tsx bench/hotpath-producer.ts <region> <rate> <count> [seed] [startNs] [spin|sleep]
 */
import { TickBatch, TickRegion, monotonicNs } from '../src/native/index.js';
import { syntheticTicks } from '../scripts/gen-golden-synthetic.js';

const [name, rateArg, countArg, seedArg, startArg, pacingArg] = process.argv.slice(2);
const pacing = pacingArg === 'sleep' ? 'sleep' : 'spin';
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const rate = Number(rateArg);
const count = Number(countArg);
const region = TickRegion.attach(name!);
const { ticks } = syntheticTicks({
  ticks: count,
  seed: seedArg === undefined ? 5n : BigInt(seedArg),
  tradeProb: 0.2,
  ...(startArg === undefined || startArg === '' ? {} : { startNs: BigInt(startArg) }),
});
process.send!({ ready: true });
await new Promise<void>((resolve) => process.once('message', () => resolve()));
const t0 = monotonicNs();
if (rate > 0) {
  const interval = 1e9 / rate;
  const start = Number(t0);
  if (pacing === 'spin') {
    for (let i = 0; i < ticks.length; i++) {
      const due = start + i * interval;
      while (Number(monotonicNs()) < due) {
        /* spin: pacing needs sub-10 µs precision */
      }
      region.pushTick(0, ticks[i]!);
    }
  } else {
    for (let i = 0; i < ticks.length;) {
      const now = Number(monotonicNs());
      while (i < ticks.length && start + i * interval <= now) region.pushTick(0, ticks[i++]!);
      if (i < ticks.length) {
        const aheadMs = (start + i * interval - Number(monotonicNs())) / 1e6;
        if (aheadMs > 0) Atomics.wait(sleeper, 0, 0, aheadMs);
      }
    }
  }
} else {
  const batch = new TickBatch(256);
  const cap = region.tickCapacity;
  for (let i = 0; i < ticks.length;) {
    batch.clear();
    while (batch.count < 256 && i < ticks.length) batch.push(ticks[i++]!);
    while (region.counters().ticks[0]!.occupancy > cap - 1024) {
      /* backpressure: the latency figure is about queueing, not about drops */
    }
    region.pushBatch(0, batch);
  }
}
const elapsedNs = Number(monotonicNs() - t0);
process.send!({ pushed: ticks.length, elapsedNs });
region.close();
process.disconnect();
