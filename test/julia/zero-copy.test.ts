/**
 * Zero copy (docs/JULIA_EMBEDDING.md "Zero copy"): 100 000 ticks through the embedded julia engine,
 * which reads each tick from its /dev/shm ring slot inside the Julia call. Julia's own counters,
 * sampled by the engine thread after start and after the run, prove the run allocated nothing
 * and never collected; the signals equal the native engine's on the same 100 000 ticks.
 *
 * Skipped without libjulia unless KESTREL_REQUIRE_JULIA=1 (then a missing Julia fails), like the
 * other Julia-engine tests; a Julia host without the sysimage fails.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { diffSignals, repoRoot, type GoldenSignal } from './golden.js';
import { juliaImageProblem, probeLibjulia } from './julia-env.js';

const exec = promisify(execFile);
const runner = path.join(repoRoot, 'test/julia/zero-copy-runner.ts');
const tsxCli = path.join(repoRoot, 'node_modules/tsx/dist/cli.mjs');

interface RunOutput {
  signals?: GoldenSignal[];
  ticks?: number;
  missed?: number;
  samples?: number;
  gcBefore?: number;
  gcAfter?: number;
  bytesBefore?: number;
  bytesAfter?: number;
  error?: { code: string; message: string };
}

async function run(engine: 'native' | 'julia'): Promise<RunOutput> {
  let stdout: string;
  try {
    ({ stdout } = await exec(process.execPath, [tsxCli, runner, engine], {
      cwd: repoRoot,
      maxBuffer: 256 * 1024 * 1024,
      timeout: 300_000,
    }));
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    stdout = err.stdout ?? '';
    if (!stdout.trim()) throw new Error(`runner crashed (${engine}): ${err.message}\n${err.stderr ?? ''}`, { cause: e });
  }
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as RunOutput;
}

const requireJulia = process.env.KESTREL_REQUIRE_JULIA === '1';
const probe = probeLibjulia();

describe('julia engine reads ticks in place (zero copy)', () => {
  it('100k ticks: no Julia allocation, no GC, and the native engine signals', { timeout: 600_000 }, async (ctx) => {
    if (!probe.libjulia) {
      if (requireJulia) throw new Error(`KESTREL_REQUIRE_JULIA=1 but ${probe.reason}`);
      ctx.skip(probe.reason);
    }
    const problem = juliaImageProblem();
    if (problem) throw new Error(`libjulia found at ${probe.libjulia} but ${problem}`);
    const julia = await run('julia');
    expect(julia.error).toBeUndefined();
    expect(julia.ticks).toBe(100_000);
    expect(julia.missed).toBe(0);
    // A sample at start and at least one after the run: the counters below are Julia's, not zeros.
    expect(julia.samples).toBeGreaterThanOrEqual(2);
    expect(julia.bytesBefore).toBeGreaterThan(0);
    expect(julia.bytesAfter).toBe(julia.bytesBefore);
    expect(julia.gcAfter).toBe(julia.gcBefore);

    const native = await run('native');
    expect(native.error).toBeUndefined();
    expect(native.ticks).toBe(100_000);
    expect(native.samples).toBe(0); // no runtime counters on the native engine
    expect(native.signals?.length).toBeGreaterThan(0);
    expect(diffSignals(julia.signals ?? [], native.signals ?? [])).toEqual([]);
  });
});
