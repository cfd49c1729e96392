/**
 * Julia engine against the native engine, side by side in one run (issue 12 item 5). Results:
 * bench/results/julia-engine.json; figures in docs/PERFORMANCE.md "Julia engine".
 *
 * - strategyOneCore: the strategy alone on one core over the golden Binance ticks, same loop and
 *   parameters for both: native = build/kestrel_bench's `strategy` figure (ReferenceStrategy::on_tick),
 *   julia = bench/julia-strategy.jl in `julia -J sysimage/build/kestrel.so` (the @cfunction on_tick
 *   the addon calls).
 * - engines: each engine in its own process (bench/julia-engine-child.ts): start time (julia: load
 *   libjulia + the sysimage + resolve entry points), first-tick latency, tick→signal p50/p99/p99.9
 *   at 100k ticks/s (HDR), engine-thread ticks/s at saturation. The julia child runs with
 *   KESTREL_JULIA_TRACE_COMPILE (Julia's --trace-compile): lines written after start = methods JIT-
 *   compiled while ticks flowed (goal 0).
 * Needs Julia 1.10 and the sysimage (sysimage/build.sh); without them the benchmark fails, it does
 * not quietly report the native half only.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

function juliaBin(): string {
  if (process.env.JULIA_DIR) return path.join(process.env.JULIA_DIR, 'bin/julia');
  for (const d of (process.env.PATH ?? '').split(':')) {
    const p = path.join(d || '.', 'julia');
    if (existsSync(p)) return p;
  }
  throw new Error('no julia: set JULIA_DIR or put Julia 1.10 on PATH');
}

function sysimage(): string {
  const p = process.env.KESTREL_JULIA_SYSIMAGE || path.join(root, 'sysimage/build/kestrel.so');
  if (!existsSync(p)) throw new Error(`no sysimage at ${p}: run npm run build:sysimage`);
  return p;
}

async function child(engine: 'native' | 'julia', env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  const r = await exec(process.execPath, ['--import', 'tsx', path.join(here, 'julia-engine-child.ts'), engine], {
    cwd: root,
    env: { ...process.env, ...env },
    timeout: 600_000,
    maxBuffer: 16 << 20,
  }).catch((e: { stdout?: string; stderr?: string; message: string }) => {
    if (e.stdout?.trim()) return { stdout: e.stdout, stderr: e.stderr ?? '' };
    throw new Error(`${engine} child failed: ${e.message}\n${e.stderr ?? ''}`);
  });
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
  if (out['error']) throw new Error(`${engine} child: ${String(out['error'])}`);
  return out;
}

export async function run(): Promise<object> {
  const image = sysimage();
  const julia = juliaBin();
  const out: Record<string, unknown> = { loadAverageBefore: os.loadavg(), sysimage: image };

  // strategy alone, one core
  const exe = path.join(root, 'build/kestrel_bench');
  if (!existsSync(exe)) throw new Error('build/kestrel_bench missing: run `npm run build:addon`');
  const cpp = JSON.parse(
    execFileSync(exe, [path.join(root, 'test/golden/binance_btcusdt.ticks.csv'), '20000'], { encoding: 'utf8', maxBuffer: 64 << 20 }),
  ) as { strategy: { ticksPerSec: number; nsPerTick: number } };
  const jl0 = process.hrtime.bigint();
  const jl = await exec(
    julia,
    [
      '--startup-file=no',
      '--threads=1',
      `--project=${path.join(root, 'julia')}`,
      `--sysimage=${image}`,
      path.join(here, 'julia-strategy.jl'),
    ],
    {
      cwd: root,
      timeout: 600_000,
    },
  );
  const jlWallMs = Number(process.hrtime.bigint() - jl0) / 1e6;
  const jlStrategy = JSON.parse(jl.stdout.trim().split('\n').pop() ?? '{}') as { ticksPerSec: number; nsPerTick: number };
  out['strategyOneCore'] = {
    native: cpp.strategy,
    julia: { ...jlStrategy, processWallMs: Math.round(jlWallMs) },
    juliaOverNative: +(jlStrategy.ticksPerSec / cpp.strategy.ticksPerSec).toFixed(3),
  };

  // the engines, one process each, one after the other (never concurrently)
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kestrel-bench-jl-'));
  try {
    const native = await child('native', {});
    const trace = path.join(dir, 'trace-compile.jl');
    const juliaEngine = await child('julia', { KESTREL_JULIA_TRACE_COMPILE: trace, KESTREL_JULIA_SYSIMAGE: image });
    out['engines'] = { native, julia: juliaEngine };
    type Sat = { engineThreadTicksPerSec: number; ticksPerProcessCpuSec: number };
    const sat = (o: Record<string, unknown>) => o['saturation'] as Sat;
    out['engineThreadJuliaOverNative'] = {
      wall: +(sat(juliaEngine).engineThreadTicksPerSec / sat(native).engineThreadTicksPerSec).toFixed(3),
      cpu: +(sat(juliaEngine).ticksPerProcessCpuSec / sat(native).ticksPerProcessCpuSec).toFixed(3),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  out['loadAverageAfter'] = os.loadavg();
  return out;
}
