/**
 * One engine of bench/julia-engine.bench.ts, in a process of its own (Julia belongs to the first
 * engine thread of a process):  node --import tsx bench/julia-engine-child.ts <native|julia>
 * Prints one JSON line: start time (for julia: dlopen + jl_init_with_image of the sysimage + entry
 * points), first-tick latency, engine-thread throughput at saturation, tick→signal latency at
 * 100k ticks/s (HDR), and with KESTREL_JULIA_TRACE_COMPILE set, what Julia compiled after start.
 */
import { fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  LAYOUT,
  NativeEngine,
  SignalBatch,
  TickBatch,
  TickRegion,
  juliaRuntimeInfo,
  monotonicNs,
  type StrategyParams,
} from '../src/native/index.js';
import { latencyHistogram, summarize } from './lib/hdr.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const engineKind = process.argv[2] === 'julia' ? 'julia' : 'native';
const RATE = Number(process.env.KESTREL_BENCH_RATE ?? 100_000);
const PACED_TICKS = Number(process.env.KESTREL_BENCH_PACED_TICKS ?? 300_000);
const SATURATION_TICKS = Number(process.env.KESTREL_BENCH_SATURATION_TICKS ?? 500_000);
const BASE_NS = 1_723_161_254_000_000_000n;

// As bench/hotpath.bench.ts: loose thresholds and no cooldown, so many quotes signal and the
// tick→signal latency is well sampled (the same parameters for both engines).
const LOOSE: Partial<StrategyParams> = { z_entry: 0.5, z_high: 10, cooldown_ns: 0, min_confidence: 0, vpin_max: 1, min_size: 0 };

function traceLines(): string[] {
  const f = process.env.KESTREL_JULIA_TRACE_COMPILE;
  if (!f || !existsSync(f)) return [];
  return readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0);
}

function producer(region: string, rate: number, count: number, seed: number, startNs: bigint) {
  const c = fork(path.join(here, 'hotpath-producer.ts'), [region, String(rate), String(count), String(seed), String(startNs)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = <T>() =>
    new Promise<T>((resolve, reject) => {
      c.once('message', (m) => resolve(m as T));
      c.once('exit', (code) => (code ? reject(new Error(`producer exited ${code}`)) : undefined));
    });
  return { c, next };
}

async function waitTicks(engine: NativeEngine, n: number): Promise<void> {
  while (engine.stats().ticks < n) {
    if (!engine.running) throw engine.lastError() ?? new Error('engine stopped');
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function main(): Promise<void> {
  const region = TickRegion.create({ name: `kestrel-bench-jl-${process.pid}`, symbols: ['B'], signalCapacity: 65536, replace: true });
  const tickToSignal = latencyHistogram();
  const queueWait = latencyHistogram();
  const sigs = new SignalBatch(1024);
  const view = new DataView(sigs.bytes.buffer);
  let recording = false;
  let signals = 0;
  const drain = () => {
    for (;;) {
      const r = region.drainSignals(sigs);
      if (recording) {
        for (let i = 0; i < r.count; i++) {
          const o = i * LAYOUT.kSignalRecordSize;
          const pushed = view.getBigInt64(o + LAYOUT.kSigTickPushNsOffset, true);
          tickToSignal.recordValue(Math.max(1, Number(view.getBigInt64(o + LAYOUT.kSigSignalNsOffset, true) - pushed)));
          queueWait.recordValue(Math.max(1, Number(view.getBigInt64(o + LAYOUT.kSigEnginePopNsOffset, true) - pushed)));
        }
        signals += r.count;
      }
      if (r.count < sigs.capacity) break;
    }
  };
  const engine = new NativeEngine(region, { engine: engineKind, params: LOOSE, onSignals: drain, idleSpinNs: 50_000 });
  const out: Record<string, unknown> = { engine: engineKind };
  try {
    // 1. start: for julia, dlopen libjulia + jl_init_with_image(sysimage) + resolve the entry points
    const s0 = monotonicNs();
    engine.start();
    out['startMs'] = Number(monotonicNs() - s0) / 1e6;
    if (engineKind === 'julia') out['runtime'] = juliaRuntimeInfo();
    const compiledAtStart = traceLines();

    // 2. first tick: push → the engine counted it (JS spins on the counter), and the engine
    //    thread's own time inside the strategy for it (busyNs)
    const first = new TickBatch(1);
    first.push({ tsNs: BASE_NS - 10_000_000_000n, flags: 0, bid: 30000, ask: 30000.5, bidSize: 1, askSize: 1 });
    const f0 = monotonicNs();
    region.pushBatch(0, first);
    while (engine.stats().ticks < 1) {
      /* spin: sub-µs resolution */
    }
    out['firstTick'] = { wallNs: Number(monotonicNs() - f0), engineBusyNs: engine.stats().busyNs };

    // 3. tick→signal at RATE ticks/s (a paced producer process)
    {
      const p = producer(region.name, RATE, PACED_TICKS, 5, BASE_NS);
      await p.next();
      const done = p.next<{ pushed: number; elapsedNs: number }>();
      recording = true;
      p.c.send('go');
      const r = await done;
      await waitTicks(engine, 1 + r.pushed);
      await new Promise((res) => setTimeout(res, 20));
      drain();
      recording = false;
      out['paced'] = {
        targetRate: RATE,
        achievedPushRate: Math.round(r.pushed / (r.elapsedNs / 1e9)),
        ticks: r.pushed,
        signals,
        tickToSignal: summarize(tickToSignal),
        queueWait: summarize(queueWait),
        missed: engine.stats().missed,
      };
    }

    // 4. saturation: engine-thread ticks/s (wall, ring pops included) and strategy ticks/s on the
    //    engine thread (ticks over the time spent inside the strategy, busyNs)
    {
      const before = engine.stats();
      const p = producer(region.name, 0, SATURATION_TICKS, 7, BASE_NS + 20_000_000_000_000n);
      await p.next();
      const done = p.next<{ pushed: number; elapsedNs: number }>();
      const w0 = monotonicNs();
      const cpu0 = process.cpuUsage();
      p.c.send('go');
      const r = await done;
      await waitTicks(engine, before.ticks + r.pushed);
      const wallNs = Number(monotonicNs() - w0);
      const cpu = process.cpuUsage(cpu0);
      const after = engine.stats();
      const ticks = after.ticks - before.ticks;
      // CPU time of this process while the producer (another process) ran: the engine thread's, plus
      // the JS thread's millisecond polling. On a loaded machine the wall rates measure scheduling.
      const cpuNs = (cpu.user + cpu.system) * 1000;
      out['saturation'] = {
        ticks,
        engineThreadTicksPerSec: Math.round(ticks / (wallNs / 1e9)),
        strategyTicksPerSecOnEngineThread: Math.round(ticks / ((after.busyNs - before.busyNs) / 1e9)),
        processCpuNsPerTick: +(cpuNs / ticks).toFixed(1),
        ticksPerProcessCpuSec: Math.round(ticks / (cpuNs / 1e9)),
        missed: after.missed - before.missed,
      };
    }

    // 5. what Julia compiled while ticks flowed (--trace-compile): the goal is nothing
    if (process.env.KESTREL_JULIA_TRACE_COMPILE && engineKind === 'julia') {
      const all = traceLines();
      const after = all.slice(compiledAtStart.length);
      out['traceCompile'] = {
        file: process.env.KESTREL_JULIA_TRACE_COMPILE,
        linesAtStart: compiledAtStart.length,
        atStart: compiledAtStart.slice(0, 20),
        linesAfterStart: after.length,
        after: after.slice(0, 20),
      };
    }
  } finally {
    engine.stop();
    region.unlink();
    region.close();
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((e: unknown) => {
  process.stdout.write(`${JSON.stringify({ engine: engineKind, error: String((e as Error)?.stack ?? e) })}\n`);
  process.exit(1);
});
