/**
 * Julia-engine parity: the `julia` engine, embedded in the addon and driven by the real engine
 * thread over a /dev/shm tick ring, reproduces the golden signals (test/golden/, produced by the
 * native engine) within docs/STRATEGY.md's tolerance.
 *
 * - On a machine without libjulia the julia half is skipped, with the reason printed, unless
 *   KESTREL_REQUIRE_JULIA=1 (CI on Julia hosts sets it): then a missing Julia is a failure.
 * - A Julia host without the sysimage fails (build it: sysimage/build.sh); it is not skipped.
 * - The same harness runs the native engine on every machine, so the runner, the ring path and
 *   the comparison are themselves proven against the goldens even where Julia is absent.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { diffSignals, goldenCases, readSignals, repoRoot, type GoldenSignal } from './golden.js';
import { juliaImageProblem, probeLibjulia } from './julia-env.js';

const exec = promisify(execFile);
const runner = path.join(repoRoot, 'test/julia/engine-runner.ts');
const tsxCli = path.join(repoRoot, 'node_modules/tsx/dist/cli.mjs');

interface RunOutput {
  signals?: GoldenSignal[];
  ticks?: number;
  missed?: number;
  error?: { code: string; message: string };
}

async function runEngine(engine: 'native' | 'julia', name: string): Promise<RunOutput> {
  let stdout: string;
  try {
    ({ stdout } = await exec(process.execPath, [tsxCli, runner, engine, name], {
      cwd: repoRoot,
      maxBuffer: 64 * 1024 * 1024,
      timeout: 240_000,
    }));
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    stdout = err.stdout ?? '';
    if (!stdout.trim()) throw new Error(`runner crashed (${engine} ${name}): ${err.message}\n${err.stderr ?? ''}`, { cause: e });
  }
  const line = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as RunOutput;
}

const cases = goldenCases();
const requireJulia = process.env.KESTREL_REQUIRE_JULIA === '1';
const probe = probeLibjulia();
if (!probe.libjulia && !requireJulia) {
  // Printed once per run so a skipped julia half is never silent.
  console.warn(`[julia parity] julia engine tests skipped: ${probe.reason}`);
}

describe('engine parity on the golden vectors', () => {
  it('has golden cases to compare against', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  it.runIf(requireJulia)('finds libjulia (KESTREL_REQUIRE_JULIA=1)', () => {
    expect(probe.libjulia, `KESTREL_REQUIRE_JULIA=1 but ${probe.reason}`).toBeDefined();
  });

  for (const name of cases) {
    it(`native engine thread reproduces ${name} (proves the harness)`, { timeout: 300_000 }, async () => {
      const out = await runEngine('native', name);
      expect(out.error).toBeUndefined();
      expect(out.missed).toBe(0);
      expect(diffSignals(out.signals ?? [], readSignals(name))).toEqual([]);
    });

    it(`julia engine reproduces ${name}`, { timeout: 300_000 }, async (ctx) => {
      if (!probe.libjulia) {
        if (requireJulia) throw new Error(`KESTREL_REQUIRE_JULIA=1 but ${probe.reason}`);
        ctx.skip(probe.reason);
      }
      const problem = juliaImageProblem();
      if (problem) throw new Error(`libjulia found at ${probe.libjulia} but ${problem}`);
      const out = await runEngine('julia', name);
      expect(out.error).toBeUndefined();
      expect(out.missed).toBe(0);
      expect(diffSignals(out.signals ?? [], readSignals(name))).toEqual([]);
    });
  }
});
