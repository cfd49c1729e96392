/**
 * The julia engine's C++ beyond the failure paths, on machines without Julia: with the fixture
 * libjulia (test/julia/fixtures/fake_libjulia.c, which checks the options and the calling thread
 * and serves a trivial strategy through the entry-point table), the real addon must
 *  - pass --handle-signals=no and --threads=1 before init, with absolute paths, on the engine thread;
 *  - read the table, call create/on_tick from that thread only, stamp engine=julia and the pop time
 *    on each signal, and commit it to the signal ring with the tick's sequence as trace_lo;
 *  - refuse a second start on a new thread (JULIA_WRONG_THREAD), even though the new thread may
 *    get the old one's recycled thread id (this test caught exactly that);
 *  - report a loading error (JULIA_INIT_FAILED with the message) and an ABI mismatch
 *    (JULIA_ENTRYPOINT_MISSING);
 *  - survive a failing strategy: the engine thread ends, lastError() is a JuliaStrategyError.
 * Each scenario runs in its own process, because the loader initialises "Julia" once per process.
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './golden.js';

const exec = promisify(execFile);
const runner = path.join(repoRoot, 'test/julia/fake-julia-runner.ts');
const tsxCli = path.join(repoRoot, 'node_modules/tsx/dist/cli.mjs');

interface Outcome {
  startError?: { code: string; message: string };
  signals?: Array<{ traceLo: string; engine: string; side: number; size: number; refPrice: number; popNs: string }>;
  ticks?: number;
  runtime?: { samples: number; allocatedBytes: number; missed: number };
  restartError?: { code: string; message: string };
  strategyError?: { code: string; typed: boolean; juliaMessage?: string; juliaStacktrace?: string; running: boolean };
}

describe('julia embedding contract (fixture libjulia)', () => {
  let dir: string;
  let juliaHome: string;
  let image: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kestrel-jlfake-'));
    juliaHome = path.join(dir, 'julia');
    mkdirSync(path.join(juliaHome, 'bin'), { recursive: true });
    mkdirSync(path.join(juliaHome, 'lib'), { recursive: true });
    const cc = execFileSync('sh', ['-c', 'command -v cc || command -v gcc'], { encoding: 'utf8' }).trim();
    execFileSync(cc, [
      '-shared',
      '-fPIC',
      '-o',
      path.join(juliaHome, 'lib/libjulia.so.1'),
      path.join(repoRoot, 'test/julia/fixtures/fake_libjulia.c'),
    ]);
    image = path.join(dir, 'kestrel.so');
    copyFileSync(path.join(repoRoot, 'build/Release/kestrel.node'), image); // any ELF object
    writeFileSync(`${image}.julia-version`, '1.10.8\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function run(mode: string): Promise<{ out: Outcome; stderr: string }> {
    const env = { ...process.env, FAKE_JULIA_MODE: mode };
    let stdout: string;
    let stderr: string;
    try {
      ({ stdout, stderr } = await exec(process.execPath, [tsxCli, runner, juliaHome, image], { cwd: repoRoot, env, timeout: 120_000 }));
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; message: string };
      stdout = err.stdout ?? '';
      stderr = err.stderr ?? '';
      if (!stdout.trim()) throw new Error(`runner crashed in mode ${mode}: ${err.message}\n${stderr}`, { cause: e });
    }
    return { out: JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Outcome, stderr };
  }

  it('runs ticks through the entry points on the engine thread and publishes julia signals', { timeout: 180_000 }, async () => {
    const { out } = await run('ok');
    expect(out.startError).toBeUndefined();
    expect(out.ticks).toBe(12);
    expect(out.signals?.map((s) => s.traceLo)).toEqual(['2', '5', '8', '11']);
    for (const s of out.signals ?? []) {
      expect(s.engine).toBe('julia');
      expect(BigInt(s.popNs)).toBeGreaterThan(0n);
      expect(s.side).toBe(1);
      expect(s.size).toBe(0.5);
    }
    expect(out.signals?.[0]?.refPrice).toBe(102.5); // tick 2: bid 102, ask 103
    // ABI 2: each tick handed over as its committed ring slot (the fixture re-checks the commit
    // word like read_slot; none torn), and gc_stats sampled by the engine thread from start on.
    expect(out.runtime?.missed).toBe(0);
    expect(out.runtime?.samples).toBeGreaterThanOrEqual(1);
    expect(out.runtime?.allocatedBytes).toBe(4096);
    // Julia stays bound to the first engine thread.
    expect(out.restartError?.code).toBe('JULIA_WRONG_THREAD');
  });

  it('reports an error of the loading expression as JULIA_INIT_FAILED with its message', { timeout: 180_000 }, async () => {
    const { out } = await run('init-error');
    expect(out.startError?.code).toBe('JULIA_INIT_FAILED');
    expect(out.startError?.message).toContain('Package KestrelStrategy not found');
    // Julia cannot be initialised twice: a later start says so and repeats why the first failed.
    expect(out.restartError?.code).toBe('JULIA_WRONG_THREAD');
    expect(out.restartError?.message).toContain('initialisation had failed');
    expect(out.restartError?.message).toContain('Package KestrelStrategy not found');
  });

  it('refuses an entry-point table of another ABI version', { timeout: 180_000 }, async () => {
    const { out } = await run('bad-abi');
    expect(out.startError?.code).toBe('JULIA_ENTRYPOINT_MISSING');
    expect(out.startError?.message).toContain('ABI is 99');
  });

  it('ends the engine on a failing strategy with a typed JuliaStrategyError instead of crashing', { timeout: 180_000 }, async () => {
    const { out } = await run('tick-error');
    expect(out.startError).toBeUndefined();
    expect(out.signals?.map((s) => s.traceLo)).toEqual(['2']); // nothing after the failure at tick 6
    expect(out.strategyError).toEqual({
      code: 'JULIA_STRATEGY_FAILED',
      typed: true,
      juliaMessage: 'fixture strategy failed at tick 6',
      juliaStacktrace: ' [1] f_on_tick(h::Int64)\n   @ Fixture fake_libjulia.c:102',
      running: false,
    });
    // the process lived on: the restart was refused by the loader, not by a crash
    expect(out.restartError?.code).toBe('JULIA_WRONG_THREAD');
  });
});
