import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkJuliaSource, runJuliaSyntaxGate } from '../../scripts/julia-syntax-gate.js';

const exec = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const gateScript = path.join(repoRoot, 'scripts/julia-syntax-gate.ts');
const tsxCli = path.join(repoRoot, 'node_modules/tsx/dist/cli.mjs');

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the gate exactly as CI does (a separate process, exit code is the verdict). */
async function runGate(args: string[]): Promise<RunResult> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [tsxCli, gateScript, ...args], { cwd: repoRoot });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

const VALID = `module Planted
using LinearAlgebra
Base.@ccallable function step!(p::Ptr{Float64}, n::Csize_t)::Cint
    v = unsafe_wrap(Array, p, Int(n); own=false)
    @inbounds for i in eachindex(v)
        v[i] += 1.0
    end
    return Cint(0)
end
f(x::T) where {T<:Real} = x^2
end
`;

// Each CLI run starts a fresh Node + tsx; on a loaded 2-core machine that alone can take 20 s.
const CLI_TIMEOUT = 120_000;

describe('julia syntax gate', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kestrel-jlgate-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('passes a directory of valid Julia', { timeout: CLI_TIMEOUT }, async () => {
    const ok = path.join(dir, 'ok');
    await mkdir(ok);
    await writeFile(path.join(ok, 'Valid.jl'), VALID);
    const r = await runGate([ok]);
    expect(r.stderr).not.toMatch(/ERROR|MISSING/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1 file(s) parsed clean');
  });

  it('fails on a planted unclosed block and prints file:line:col', { timeout: CLI_TIMEOUT }, async () => {
    const bad = path.join(dir, 'bad-block');
    await mkdir(bad);
    await writeFile(path.join(bad, 'Valid.jl'), VALID);
    // The planted error is on line 3: a `for` whose `end` is missing inside a closed function.
    await writeFile(path.join(bad, 'Broken.jl'), 'x = 1\nfunction g(v)\n    for i in v\n        i + 1\nend\n');
    const r = await runGate([bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Broken\.jl:\d+:\d+: ERROR/);
    expect(r.stderr).not.toContain('Valid.jl');
    expect(r.stderr).toContain('1 problem(s) in 1 of 2 file(s)');
  });

  it('reports a missing token with its exact position', async () => {
    const problems = await checkJuliaSource('planted.jl', 'a = 1\nx = (a + 2\n');
    expect(problems).toEqual([{ file: 'planted.jl', line: 2, column: 11, kind: 'MISSING', detail: 'missing )' }]);
  });

  it('fails when there is nothing to check, so a wrong root cannot pass silently', { timeout: CLI_TIMEOUT }, async () => {
    const empty = path.join(dir, 'empty');
    await mkdir(empty);
    const r = await runGate([empty]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no .jl files');
  });

  it('exits 2 when a root does not exist', { timeout: CLI_TIMEOUT }, async () => {
    const r = await runGate([path.join(dir, 'does-not-exist')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('path does not exist');
  });

  it("passes the repository's own julia/, sysimage/ and bench/ sources", async () => {
    const report = await runJuliaSyntaxGate([path.join(repoRoot, 'julia'), path.join(repoRoot, 'sysimage'), path.join(repoRoot, 'bench')]);
    expect(report.files.length).toBeGreaterThan(5);
    expect(report.problems).toEqual([]);
  });

  it('catches a syntax error planted into a copy of a real package file', async () => {
    const src = await readFile(path.join(repoRoot, 'julia/src/KestrelStrategy.jl'), 'utf8');
    expect(await checkJuliaSource('KestrelStrategy.jl', src)).toEqual([]);
    // Drop the module's final `end`: the whole file becomes one unclosed block.
    const broken = src.replace(/end # module\s*$/, '');
    expect(broken).not.toBe(src);
    const problems = await checkJuliaSource('KestrelStrategy.jl', broken);
    expect(problems.length).toBeGreaterThan(0);
  });
});
