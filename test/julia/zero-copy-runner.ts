/**
 * 100 000 ticks through a real engine thread (native or julia), in its own process:
 *   node --import tsx test/julia/zero-copy-runner.ts <native|julia>
 * The golden Binance capture, cycled with its time shifted forward each pass, is pushed into a
 * /dev/shm tick ring in chunks while the engine runs (it consumes each chunk, goes to sleep, wakes
 * on the next); the julia engine reads every tick in place from its ring slot. Prints one JSON
 * line: {signals, ticks, missed, gcBefore, gcAfter, bytesBefore, bytesAfter, samples} or {error}.
 * gc* and bytes* are the engine's runtime counters (Julia's GC pauses and bytes allocated) sampled
 * by the engine thread after start and after the last tick (when it went to sleep).
 */
import { NativeEngine, NativeError, SignalBatch, TickBatch, TickRegion, type EngineKind } from '../../src/native/index.js';
import { readParams, readTicks, type GoldenSignal } from './golden.js';

const TOTAL = 100_000;
const CHUNK = 10_000;
const CASE = 'binance_btcusdt';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const engineArg = process.argv[2];
  if (engineArg !== 'native' && engineArg !== 'julia') throw new Error('usage: zero-copy-runner.ts <native|julia>');
  const engineKind: EngineKind = engineArg;
  const base = readTicks(CASE);
  const span = base[base.length - 1]!.tsNs - base[0]!.tsNs + 1_000_000_000n;
  const region = TickRegion.create({
    name: `kestrel-zero-copy-${engineKind}-${process.pid}`,
    symbols: ['GOLDEN'],
    tickCapacity: 131072, // every tick of the run fits: nothing is lost to an overrun
    signalCapacity: 16384,
    replace: true,
  });
  const signals: GoldenSignal[] = [];
  let engine: NativeEngine | undefined;
  try {
    engine = new NativeEngine(region, { engine: engineKind, params: readParams(CASE) });
    engine.start();
    const s0 = engine.stats(); // sampled by the engine thread before start() returned
    const out = new SignalBatch(4096);
    const drain = () => {
      for (;;) {
        const { count, missed } = region.drainSignals(out);
        if (missed > 0) throw new Error(`signal ring overwrote ${missed} signals`);
        for (let i = 0; i < count; i++) {
          const s = out.get(i);
          signals.push({
            index: Number(s.sourceSeq),
            side: s.side,
            size: s.size,
            confidence: s.confidence,
            zscore: s.zscore,
            ref_price: s.refPrice,
            urgency: s.urgency,
            min_fill_qty: s.minFillQty,
            ttl_ms: s.ttlMs,
            max_slippage_bps: s.maxSlippageBps,
            trace_hi: s.traceHi.toString(),
            trace_lo: s.traceLo.toString(),
            regime: s.regime,
          });
        }
        if (count < out.capacity) return;
      }
    };
    const deadline = Date.now() + 240_000;
    const waitFor = async (what: string, done: () => boolean) => {
      while (!done()) {
        drain();
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(5);
      }
    };
    const batch = new TickBatch(CHUNK);
    for (let pushed = 0; pushed < TOTAL; pushed += CHUNK) {
      batch.clear();
      for (let k = pushed; k < pushed + CHUNK; k++) {
        const t = base[k % base.length]!;
        batch.push({ ...t, tsNs: t.tsNs + span * BigInt(Math.floor(k / base.length)) }, 0);
      }
      region.pushBatch(0, batch);
      const target = pushed + CHUNK;
      await waitFor(`${target} ticks`, () => {
        const st = engine!.stats();
        return st.ticks + st.missed >= target;
      });
    }
    // The engine samples its runtime counters when it goes to sleep: wait for a sample taken after
    // the last tick.
    const samplesAtEnd = engine.stats().runtimeSamples;
    await waitFor('a runtime sample after the run', () => engine!.stats().runtimeSamples > samplesAtEnd || engineKind === 'native');
    const s1 = engine.stats();
    engine.stop();
    drain();
    process.stdout.write(
      `${JSON.stringify({
        signals,
        ticks: s1.ticks,
        missed: s1.missed,
        samples: s1.runtimeSamples,
        gcBefore: s0.runtimeGcCollections,
        gcAfter: s1.runtimeGcCollections,
        bytesBefore: s0.runtimeAllocatedBytes,
        bytesAfter: s1.runtimeAllocatedBytes,
      })}\n`,
    );
  } finally {
    engine?.stop();
    region.unlink();
    region.close();
  }
}

main().catch((e: unknown) => {
  const err = e instanceof NativeError ? { code: e.code, message: e.message } : { code: 'RUNNER', message: String(e) };
  process.stdout.write(`${JSON.stringify({ error: err })}\n`);
  process.exit(3);
});
