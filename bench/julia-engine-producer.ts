/**
 * Producer child of bench/julia-engine-child.ts: attaches to the region by name and pushes synthetic
 * ticks (scripts/gen-golden-synthetic.ts) starting at `startNs`, paced at `rate` ticks/s (spin on the
 * monotonic clock, one pushTick per tick) or, with rate 0, as fast as the ring accepts (pushBatch of
 * 256, backing off when the ring is nearly full so the engine sees every tick).
 *   node --import tsx bench/julia-engine-producer.ts <region> <rate> <count> <seed> <startNs>
 */
import { TickBatch, TickRegion, monotonicNs } from '../src/native/index.js';
import { syntheticTicks } from '../scripts/gen-golden-synthetic.js';

const [name, rateArg, countArg, seedArg, startArg] = process.argv.slice(2);
const rate = Number(rateArg);
const region = TickRegion.attach(name!);
const { ticks } = syntheticTicks({ ticks: Number(countArg), seed: BigInt(seedArg!), tradeProb: 0.2, startNs: BigInt(startArg!) });
process.send!({ ready: true });
await new Promise<void>((resolve) => process.once('message', () => resolve()));
const t0 = monotonicNs();
if (rate > 0) {
  const interval = 1e9 / rate;
  const start = Number(t0);
  for (let i = 0; i < ticks.length; i++) {
    const due = start + i * interval;
    while (Number(monotonicNs()) < due) {
      /* spin: pacing needs sub-10 µs precision */
    }
    region.pushTick(0, ticks[i]!);
  }
} else {
  const batch = new TickBatch(256);
  const cap = region.tickCapacity;
  for (let i = 0; i < ticks.length;) {
    batch.clear();
    while (batch.count < 256 && i < ticks.length) batch.push(ticks[i++]!);
    while (region.counters().ticks[0]!.occupancy > cap - 1024) {
      /* backpressure: a throughput figure needs every tick consumed, not dropped */
    }
    region.pushBatch(0, batch);
  }
}
process.send!({ pushed: ticks.length, elapsedNs: Number(monotonicNs() - t0) });
region.close();
process.disconnect();
