/**
 * Runs one golden case through a real engine thread (native or julia) in its own process:
 *   node --import tsx test/julia/engine-runner.ts <native|julia> <case>
 * Ticks go into a fresh /dev/shm region's tick ring, the engine thread consumes them, signals are
 * drained from the signal ring. Prints one JSON line: {signals, ticks, missed} or {error}.
 *
 * One process per run because the embedded Julia runtime belongs to the first engine thread that
 * started it (docs/JULIA_EMBEDDING.md), so each julia engine needs a fresh process.
 */
import {
  NativeEngine,
  NativeError,
  SignalBatch,
  TickBatch,
  TickRegion,
  type EngineKind,
} from '../../src/native/index.js';
import { readParams, readTicks, type GoldenSignal } from './golden.js';

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

async function main(): Promise<void> {
  const [engineArg, name] = process.argv.slice(2);
  if ((engineArg !== 'native' && engineArg !== 'julia') || !name) {
    throw new Error('usage: engine-runner.ts <native|julia> <case>');
  }
  const engineKind: EngineKind = engineArg;
  const ticks = readTicks(name);
  const params = readParams(name);
  const region = TickRegion.create({
    name: `kestrel-parity-${engineKind}-${process.pid}`,
    symbols: ['GOLDEN'],
    tickCapacity: nextPow2(Math.max(1024, ticks.length)),
    signalCapacity: 4096,
    replace: true,
  });
  const signals: GoldenSignal[] = [];
  let engine: NativeEngine | undefined;
  try {
    const batch = new TickBatch(ticks.length);
    for (const t of ticks) batch.push(t, 0);
    const first = region.pushBatch(0, batch);
    if (first !== 0) throw new Error(`first ring sequence is ${first}, expected 0`);
    engine = new NativeEngine(region, { engine: engineKind, params });
    engine.start();
    const out = new SignalBatch(4096);
    const deadline = Date.now() + 120_000;
    const drain = () => {
      for (;;) {
        const { count, missed } = region.drainSignals(out);
        if (missed > 0) throw new Error(`signal ring overwrote ${missed} signals`);
        for (let i = 0; i < count; i++) {
          const s = out.get(i);
          if (s.engine !== engineKind) throw new Error(`signal stamped engine=${s.engine}, expected ${engineKind}`);
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
    for (;;) {
      drain();
      const st = engine.stats();
      if (st.ticks + st.missed >= ticks.length) break;
      if (Date.now() > deadline) throw new Error(`engine consumed ${st.ticks} of ${ticks.length} ticks in 120 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const st = engine.stats();
    engine.stop();
    drain();
    process.stdout.write(`${JSON.stringify({ signals, ticks: st.ticks, missed: st.missed })}\n`);
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
