/**
 * The researcher loop of docs/RESEARCHER_GUIDE.md, replayed: a copy of julia/ is patched with
 * docs/examples/researcher-loop.patch (`patch -p1`, an earlier z-score entry), `npm run julia:dev --
 * backtest --verbose` runs it in source mode (KestrelStrategy loaded from that folder, no sysimage)
 * and prints a different decision digest than the unpatched sources, while the unpatched sources in
 * source mode decide exactly like the native engine (same digest). Each backtest is its own process
 * (one Julia per process). Skipped only when Julia is absent and KESTREL_REQUIRE_JULIA is not set.
 */
import { execFile } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '../support/tmp.js';
import { repoRoot } from './golden.js';
import { probeLibjulia } from './julia-env.js';

const exec = promisify(execFile);
const requireJulia = process.env.KESTREL_REQUIRE_JULIA === '1';
const probe = probeLibjulia();
const patchFile = path.join(repoRoot, 'docs/examples/researcher-loop.patch');

interface Run {
  digest: string;
  signals: number;
  stdout: string;
}

function parse(stdout: string, what: string): Run {
  const digest = /^\s*digest\s+([0-9a-f]{64})$/m.exec(stdout)?.[1];
  const signals = /^\s*signals\s+(\d+)$/m.exec(stdout)?.[1];
  if (!digest || !signals) throw new Error(`${what} printed no digest/signals:\n${stdout}`);
  return { digest, signals: Number(signals), stdout };
}

/** `npm run julia:dev -- backtest --verbose`, with KESTREL_JULIA_SOURCE when `source` is given. */
async function juliaDev(source: string | undefined): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, KESTREL_LOG_LEVEL: 'silent' };
  delete env.KESTREL_JULIA_SOURCE;
  if (source) env.KESTREL_JULIA_SOURCE = source;
  const { stdout } = await exec('npm', ['run', '-s', 'julia:dev', '--', 'backtest', '--verbose'], {
    cwd: repoRoot,
    env,
    timeout: 240_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return parse(stdout, `julia:dev (${source ?? './julia'})`);
}

async function native(): Promise<Run> {
  const { stdout } = await exec(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/cli/main.ts'), 'backtest'], {
    cwd: repoRoot,
    env: { ...process.env, KESTREL_LOG_LEVEL: 'silent', KESTREL__strategy__engine: 'native' },
    timeout: 240_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return parse(stdout, 'native backtest');
}

describe('researcher loop: edit julia/src, backtest from source, see the decisions change', () => {
  it('a patched source changes the digest; the unpatched source matches the native engine', { timeout: 600_000 }, async (ctx) => {
    if (!probe.libjulia) {
      if (requireJulia) throw new Error(`KESTREL_REQUIRE_JULIA=1 but ${probe.reason}`);
      ctx.skip(probe.reason);
      return;
    }
    const work = tmpDir('research');
    cpSync(path.join(repoRoot, 'julia'), path.join(work, 'julia'), { recursive: true });
    await exec('patch', ['-p1', '-d', work, '-i', patchFile]);
    expect(readFileSync(path.join(work, 'julia/src/Strategy.jl'), 'utf8')).toContain('abs(z) < 0.8 * p.z_entry');

    const patched = await juliaDev(path.join(work, 'julia'));
    const unpatched = await juliaDev(undefined);
    const reference = await native();

    expect(patched.stdout).toContain(`source mode: KestrelStrategy from ${path.join(work, 'julia')}`);
    expect(unpatched.stdout).toContain(`source mode: KestrelStrategy from ${path.join(repoRoot, 'julia')}`);
    expect(unpatched.stdout).toMatch(/^kestrel backtest \(.*engine julia/m);
    expect(reference.stdout).toMatch(/^kestrel backtest \(.*engine native/m);
    expect(reference.signals).toBeGreaterThan(0);
    // the unpatched sources decide exactly like the native engine
    expect(unpatched.digest).toBe(reference.digest);
    expect(unpatched.signals).toBe(reference.signals);
    // the patch (entering at 0.8 × z_entry) trades differently: more signals, another digest
    expect(patched.digest).not.toBe(unpatched.digest);
    expect(patched.signals).toBeGreaterThan(unpatched.signals);
  });
});
