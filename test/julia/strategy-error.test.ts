/**
 * A Julia exception inside the strategy reaches Node as a typed JuliaStrategyError (code
 * JULIA_STRATEGY_FAILED) carrying Julia's message and the Julia stack trace captured inside the
 * entry point, the engine thread ends cleanly (running false, the error kept after stop(), a later
 * start refused by the loader) and the process lives on. The failing strategy is a copy of julia/
 * whose on_tick entry point goes through a function that throws on the 5th tick, loaded in source
 * mode (KestrelStrategy from a folder, docs/RESEARCHER_GUIDE.md). Skipped only when Julia is
 * absent and KESTREL_REQUIRE_JULIA is not set.
 */
import { execFile } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '../support/tmp.js';
import { repoRoot } from './golden.js';
import { probeLibjulia } from './julia-env.js';

const exec = promisify(execFile);
const requireJulia = process.env.KESTREL_REQUIRE_JULIA === '1';
const probe = probeLibjulia();
const runner = path.join(repoRoot, 'test/julia/strategy-error-runner.ts');
const tsxCli = path.join(repoRoot, 'node_modules/tsx/dist/cli.mjs');

const CALL = 'emitted, rec = engine_tick!(e, t, sym, seq)';
const PLANTED = `
# test/julia/strategy-error.test.ts: a strategy bug on the 5th tick.
const PLANTED_TICKS = Ref(0)
function planted_failing_tick!(e::Engine, t::TickEntry, sym::Int, seq::UInt64)
    PLANTED_TICKS[] += 1
    PLANTED_TICKS[] == 5 && throw(DomainError(PLANTED_TICKS[], "planted strategy failure"))
    return engine_tick!(e, t, sym, seq)
end
`;

/** A copy of julia/ whose on_tick entry point throws on the 5th tick. */
function failingSource(): string {
  const dir = path.join(tmpDir('jlerr'), 'julia');
  cpSync(path.join(repoRoot, 'julia'), dir, { recursive: true });
  const file = path.join(dir, 'src/EntryPoints.jl');
  const src = readFileSync(file, 'utf8');
  expect(src, 'c_on_tick no longer calls engine_tick! this way: update the planted failure').toContain(CALL);
  writeFileSync(file, src.replace(CALL, 'emitted, rec = planted_failing_tick!(e, t, sym, seq)') + PLANTED);
  return dir;
}

describe('a Julia strategy exception surfaces in Node as JuliaStrategyError', () => {
  it('carries the message and the Julia stack trace; the engine stops and the process survives', { timeout: 240_000 }, async (ctx) => {
    if (!probe.libjulia) {
      if (requireJulia) throw new Error(`KESTREL_REQUIRE_JULIA=1 but ${probe.reason}`);
      ctx.skip(probe.reason);
      return;
    }
    const source = failingSource();
    const r = await exec(process.execPath, [tsxCli, runner, source, '20'], {
      cwd: repoRoot,
      env: { ...process.env, KESTREL_LOG_LEVEL: 'silent' },
      timeout: 200_000,
    });
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
    expect(out.startError).toBeUndefined();
    expect(out.error.name).toBe('JuliaStrategyError');
    expect(out.error.code).toBe('JULIA_STRATEGY_FAILED');
    expect(out.error.message).toMatch(/^JULIA_STRATEGY_FAILED: julia strategy failed in on_tick \(symbol 0, sequence \d+\): /);
    expect(out.error.juliaMessage).toContain('planted strategy failure');
    expect(out.error.juliaMessage).toContain('DomainError with 5');
    // the frame of the function that threw, with its file, and the entry point that called it
    expect(out.error.juliaStacktrace).toMatch(/\[1\] planted_failing_tick!.*\n\s+@ .*\/src\/EntryPoints\.jl:\d+/);
    expect(out.error.juliaStacktrace).toMatch(/\[2\] c_on_tick\(h::Int64, .*\n\s+@ Main\.KestrelStrategy .*EntryPoints\.jl:\d+/);
    expect(out.runningAfter).toBe(false);
    expect(out.errorAfterStop).toBe('JULIA_STRATEGY_FAILED');
    expect(out.restart).toBe('JULIA_WRONG_THREAD'); // Julia stays bound to the ended engine thread
    expect(out.alive).toBe(true);
  });
});
