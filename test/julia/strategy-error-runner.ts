/**
 * Child process for strategy-error.test.ts: runs the real julia engine in source mode over a
 * package folder whose strategy throws on a given tick, and prints one JSON line with what Node saw.
 *   node --import tsx test/julia/strategy-error-runner.ts <juliaSource> <ticks>
 * One process per run: Julia belongs to the first engine thread of a process.
 */
import { JuliaStrategyError, NativeEngine, NativeError, TickBatch, TickRegion } from '../../src/native/index.js';
import { until } from '../support/wait.js';

interface Outcome {
  startError?: { code: string; message: string };
  error?: { name: string; code: string; message: string; juliaMessage?: string; juliaStacktrace?: string };
  runningAfter?: boolean;
  ticksSeen?: number;
  /** lastError() again after stop(): the stopped state is kept. */
  errorAfterStop?: string;
  /** A later start() on this process. */
  restart?: string;
  alive?: boolean;
}

async function main(): Promise<void> {
  const [juliaSource, nTicks] = process.argv.slice(2);
  if (!juliaSource || !nTicks) throw new Error('usage: strategy-error-runner.ts <juliaSource> <ticks>');
  const n = Number(nTicks);
  const region = TickRegion.create({ name: `kestrel-jlerr-${process.pid}`, symbols: ['BTC-USDT'], replace: true });
  const out: Outcome = {};
  try {
    const engine = new NativeEngine(region, { engine: 'julia', juliaSource });
    try {
      engine.start();
    } catch (e) {
      out.startError = e instanceof NativeError ? { code: String(e.code), message: e.message } : { code: 'RUNNER', message: String(e) };
      return;
    }
    const batch = new TickBatch(n);
    for (let i = 0; i < n; i++) {
      batch.push({ tsNs: 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n, flags: 0, bid: 100 + (i % 7), ask: 100.5 + (i % 7), bidSize: 1, askSize: 2 });
    }
    region.pushBatch(0, batch);
    await until(() => !engine.running, 120_000, 'the julia engine to stop on the planted failure');
    const e = engine.lastError();
    out.runningAfter = engine.running;
    out.ticksSeen = engine.stats().ticks;
    if (e) {
      out.error = {
        name: e.name,
        code: String(e.code),
        message: e.message,
        ...(e instanceof JuliaStrategyError ? { juliaMessage: e.juliaMessage, juliaStacktrace: e.juliaStacktrace } : {}),
      };
    }
    engine.stop();
    out.errorAfterStop = String(engine.lastError()?.code ?? 'none');
    try {
      engine.start();
      out.restart = 'started';
      engine.stop();
    } catch (err) {
      out.restart = err instanceof NativeError ? String(err.code) : String(err);
    }
    out.alive = true;
  } finally {
    process.stdout.write(`${JSON.stringify(out)}\n`);
    region.unlink();
    region.close();
  }
}

main().catch((e: unknown) => {
  process.stdout.write(`${JSON.stringify({ startError: { code: 'RUNNER', message: String(e) } })}\n`);
  process.exit(3);
});
