/**
 * Cost of zero copy (docs/JULIA_EMBEDDING.md "Zero copy"; figures in docs/PERFORMANCE.md): the julia
 * engine reading each tick from its ring slot (this checkout) against the same engine copying each
 * tick out of the ring first (a baseline checkout built before the change), interleaved: A B A B …,
 * each run a fresh process (Julia can start once per process) measuring the engine thread's CPU ns
 * per tick over the same ticks (bench/julia-zero-copy-child.ts).
 *
 *   node --import tsx bench/julia-zero-copy.ts <baseline-checkout> [rounds] [ticks]
 *
 * The baseline checkout needs its addon built (npm run build:addon there). The Julia package is
 * taken from each checkout's julia/ in source mode (KESTREL_JULIA_SOURCE), unless
 * KESTREL_ZC_SYSIMAGES="<baseline.so>:<this.so>" names one sysimage per side; in both modes the
 * child warms up first, so only steady-state ticks are measured.
 */
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

const [baseArg, roundsArg, ticksArg] = process.argv.slice(2);
if (!baseArg) throw new Error('usage: julia-zero-copy.ts <baseline-checkout> [rounds] [ticks]');
const base = path.resolve(baseArg);
const rounds = Number(roundsArg ?? 3);
const ticks = Number(ticksArg ?? 500_000);
const images = process.env.KESTREL_ZC_SYSIMAGES?.split(':');

interface Sample {
  engineCpuNsPerTick: number;
  wallNsPerTick: number;
  ticks: number;
  missed: number;
  error?: string;
}

async function once(side: 'copy' | 'zeroCopy'): Promise<Sample> {
  const tree = side === 'copy' ? base : root;
  const env: NodeJS.ProcessEnv = { ...process.env, KESTREL_ADDON_PATH: path.join(tree, 'build/Release/kestrel.node') };
  if (images) {
    env.KESTREL_JULIA_SYSIMAGE = images[side === 'copy' ? 0 : 1];
    delete env.KESTREL_JULIA_SOURCE;
  } else {
    env.KESTREL_JULIA_SOURCE = path.join(tree, 'julia');
  }
  const r = await exec(process.execPath, ['--import', 'tsx', path.join(here, 'julia-zero-copy-child.ts'), String(ticks)], {
    cwd: root,
    env,
    timeout: 900_000,
  });
  const s = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Sample;
  if (s.error) throw new Error(`${side}: ${s.error}`);
  if (s.missed !== 0) throw new Error(`${side}: ${s.missed} ticks missed`);
  return s;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const samples: Record<'copy' | 'zeroCopy', Sample[]> = { copy: [], zeroCopy: [] };
const load: number[][] = [];
for (let i = 0; i < rounds; i++) {
  for (const side of i % 2 === 0 ? (['copy', 'zeroCopy'] as const) : (['zeroCopy', 'copy'] as const)) {
    samples[side].push(await once(side));
    load.push(loadavg().map((x) => +x.toFixed(2)));
  }
}
const summary = (xs: Sample[]) => ({
  engineCpuNsPerTick: xs.map((s) => s.engineCpuNsPerTick),
  medianEngineCpuNsPerTick: median(xs.map((s) => s.engineCpuNsPerTick)),
  medianWallNsPerTick: median(xs.map((s) => s.wallNsPerTick)),
});
process.stdout.write(
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      ticksPerRun: ticks,
      mode: images ? 'sysimage' : 'source',
      copy: summary(samples.copy),
      zeroCopy: summary(samples.zeroCopy),
      loadAverage: load,
    },
    null,
    1,
  )}\n`,
);
