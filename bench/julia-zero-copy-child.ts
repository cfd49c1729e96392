/**
 * One engine of bench/julia-zero-copy.ts, in a process of its own:
 *   node --import tsx bench/julia-zero-copy-child.ts <ticks> [julia|native]
 * The addon (KESTREL_ADDON_PATH) and the Julia package (KESTREL_JULIA_SOURCE or
 * KESTREL_JULIA_SYSIMAGE) come from the environment, so the same child measures this checkout (the
 * julia engine reads each tick from its ring slot) and a baseline build (the engine copies each
 * tick out of the ring first). Measures the engine thread's own CPU time per tick, from
 * /proc/self/task/<tid>/schedstat (ns), over `ticks` synthetic ticks pushed into one ring after a
 * warm-up that compiled every path; the engine sleeps instead of spinning when it runs dry
 * (idleSpinNs 0), so waiting for the pusher costs it no CPU. Prints one JSON line.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { NativeEngine, SignalBatch, TickBatch, TickRegion, monotonicNs, type StrategyParams } from '../src/native/index.js';
import { syntheticTicks } from '../scripts/gen-golden-synthetic.js';

const N = Number(process.argv[2] ?? 500_000);
const ENGINE = process.argv[3] === 'native' ? 'native' : 'julia';
const WARM = 50_000;
const LOOSE: Partial<StrategyParams> = { z_entry: 0.5, z_high: 10, cooldown_ns: 0, min_confidence: 0, vpin_max: 1, min_size: 0 };

const tasks = () => new Set(readdirSync('/proc/self/task'));
const cpuNs = (tid: string) => Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);

async function main(): Promise<void> {
  const region = TickRegion.create({
    name: `kestrel-bench-zc-${process.pid}`,
    symbols: ['B'],
    tickCapacity: 1 << 20,
    signalCapacity: 65536,
    replace: true,
  });
  const sigs = new SignalBatch(4096);
  const drain = () => {
    while (region.drainSignals(sigs).count === sigs.capacity) {
      /* keep the signal ring from overwriting */
    }
  };
  const engine = new NativeEngine(region, { engine: ENGINE, params: LOOSE, onSignals: drain, idleSpinNs: 0 });
  const { ticks } = syntheticTicks({ ticks: WARM + N, seed: 11n, tradeProb: 0.2 });
  const push = (from: number, to: number) => {
    const batch = new TickBatch(4096);
    for (let i = from; i < to; i++) {
      if (!batch.push(ticks[i]!, 0)) {
        region.pushBatch(0, batch);
        batch.clear();
        batch.push(ticks[i]!, 0);
      }
    }
    if (batch.count) region.pushBatch(0, batch);
  };
  const waitTicks = async (n: number) => {
    while (engine.stats().ticks + engine.stats().missed < n) {
      if (!engine.running) throw engine.lastError() ?? new Error('engine stopped');
      drain();
      await new Promise((r) => setTimeout(r, 1));
    }
  };
  try {
    const before = tasks();
    engine.start();
    const tid = [...tasks()].find((t) => !before.has(t));
    if (!tid) throw new Error('engine thread not found in /proc/self/task');
    push(0, WARM); // warm-up: every path compiled (source mode JIT-compiles on the first ticks)
    await waitTicks(WARM);
    const c0 = cpuNs(tid);
    const s0 = engine.stats();
    const w0 = monotonicNs();
    push(WARM, WARM + N);
    await waitTicks(WARM + N);
    const wallNs = Number(monotonicNs() - w0);
    const c1 = cpuNs(tid);
    const s1 = engine.stats();
    const n = s1.ticks - s0.ticks;
    process.stdout.write(
      `${JSON.stringify({
        engine: ENGINE,
        ticks: n,
        missed: s1.missed - s0.missed,
        signals: s1.signals - s0.signals,
        sleeps: s1.sleeps - s0.sleeps,
        engineCpuNsPerTick: +((c1 - c0) / n).toFixed(1),
        wallNsPerTick: +(wallNs / n).toFixed(1),
      })}\n`,
    );
  } finally {
    engine.stop();
    region.unlink();
    region.close();
  }
}

main().catch((e: unknown) => {
  process.stdout.write(`${JSON.stringify({ error: String((e as Error)?.stack ?? e) })}\n`);
  process.exit(1);
});
