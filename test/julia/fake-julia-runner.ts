/**
 * Child process for embedding-contract.test.ts: runs the julia engine against the fixture
 * libjulia (test/julia/fixtures/fake_libjulia.c) and prints one JSON line with what happened.
 *   node --import tsx test/julia/fake-julia-runner.ts <juliaHome> <sysimage>
 * (FAKE_JULIA_MODE in the environment selects the fixture's behaviour.) One process per run: the
 * loader initialises "Julia" once per process, as it must with the real one.
 */
import { JuliaStrategyError, NativeEngine, NativeError, SignalBatch, TickBatch, TickRegion } from '../../src/native/index.js';

interface Outcome {
  startError?: { code: string; message: string };
  signals?: Array<{ traceLo: string; engine: string; side: number; size: number; refPrice: number; popNs: string }>;
  ticks?: number;
  runtime?: { samples: number; allocatedBytes: number; missed: number };
  restartError?: { code: string; message: string };
  /** engine.lastError() after the run, when the strategy failed. */
  strategyError?: { code: string; typed: boolean; juliaMessage?: string; juliaStacktrace?: string; running: boolean };
}

function coded(e: unknown): { code: string; message: string } {
  return e instanceof NativeError ? { code: String(e.code), message: e.message } : { code: 'RUNNER', message: String(e) };
}

/** A second start runs on a new engine thread: Julia must refuse it. */
function restart(region: TickRegion, juliaHome: string, juliaSysimage: string): { code: string; message: string } | undefined {
  const again = new NativeEngine(region, { engine: 'julia', juliaHome, juliaSysimage });
  try {
    again.start();
    again.stop();
    return undefined;
  } catch (e) {
    return coded(e);
  }
}

async function main(): Promise<void> {
  const [juliaHome, juliaSysimage] = process.argv.slice(2);
  if (!juliaHome || !juliaSysimage) throw new Error('usage: fake-julia-runner.ts <juliaHome> <sysimage>');
  const region = TickRegion.create({ name: `kestrel-fakejl-${process.pid}`, symbols: ['BTC-USDT'], replace: true });
  const out: Outcome = {};
  try {
    const batch = new TickBatch(12);
    for (let i = 0; i < 12; i++) {
      batch.push({ tsNs: 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n, flags: 0, bid: 100 + i, ask: 101 + i, bidSize: 1, askSize: 1 });
    }
    region.pushBatch(0, batch);
    const engine = new NativeEngine(region, { engine: 'julia', juliaHome, juliaSysimage });
    try {
      engine.start();
    } catch (e) {
      out.startError = coded(e);
      out.restartError = restart(region, juliaHome, juliaSysimage);
      return;
    }
    const deadline = Date.now() + 30_000;
    while (engine.stats().ticks < 12 && engine.running && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    out.ticks = engine.stats().ticks;
    const st = engine.stats();
    out.runtime = { samples: st.runtimeSamples, allocatedBytes: st.runtimeAllocatedBytes, missed: st.missed };
    const failure = engine.lastError();
    if (failure) {
      out.strategyError = {
        code: String(failure.code),
        typed: failure instanceof JuliaStrategyError,
        ...(failure instanceof JuliaStrategyError ? { juliaMessage: failure.juliaMessage, juliaStacktrace: failure.juliaStacktrace } : {}),
        running: engine.running,
      };
    }
    engine.stop();
    const sigs = new SignalBatch(64);
    region.drainSignals(sigs);
    out.signals = [];
    for (let i = 0; i < sigs.count; i++) {
      const s = sigs.get(i);
      out.signals.push({
        traceLo: s.traceLo.toString(),
        engine: s.engine,
        side: s.side,
        size: s.size,
        refPrice: s.refPrice,
        popNs: s.enginePopNs.toString(),
      });
    }
    out.restartError = restart(region, juliaHome, juliaSysimage);
  } finally {
    process.stdout.write(`${JSON.stringify(out)}\n`);
    region.unlink();
    region.close();
  }
}

main().catch((e: unknown) => {
  process.stdout.write(`${JSON.stringify({ startError: coded(e) })}\n`);
  process.exit(3);
});
