/**
 * Whole-capture parity: `kestrel backtest` over the bundled Binance recording makes the same
 * decisions with the julia engine as with the native one (same decision digest, same signal count).
 * Each run is its own CLI process: the embedded Julia belongs to the first engine thread of a
 * process (docs/JULIA_EMBEDDING.md). Needs Julia and the sysimage (sysimage/build.sh); without
 * Julia it is skipped, unless KESTREL_REQUIRE_JULIA=1, where that is a failure.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './golden.js';
import { juliaImageProblem, probeLibjulia } from './julia-env.js';

const requireJulia = process.env.KESTREL_REQUIRE_JULIA === '1';
const probe = probeLibjulia();

function backtest(engine: 'native' | 'julia'): { digest: string; signals: number; header: string } {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(repoRoot, 'src/cli/main.ts'), 'backtest', '--set', `strategy.engine=${engine}`],
    { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, KESTREL_LOG_LEVEL: 'silent' }, timeout: 240_000 },
  );
  if (r.status !== 0) throw new Error(`backtest (${engine}) exited ${r.status}: ${r.stderr}${r.stdout}`);
  const digest = /^\s*digest\s+([0-9a-f]{64})$/m.exec(r.stdout)?.[1];
  const signals = /^\s*signals\s+(\d+)$/m.exec(r.stdout)?.[1];
  if (!digest || !signals) throw new Error(`backtest (${engine}) printed no digest/signals:\n${r.stdout}`);
  return { digest, signals: Number(signals), header: r.stdout.split('\n')[0] ?? '' };
}

describe('julia and native engines decide alike on the whole bundled capture', () => {
  it('kestrel backtest --set strategy.engine=julia prints the native digest', { timeout: 480_000 }, (ctx) => {
    if (!probe.libjulia) {
      if (requireJulia) throw new Error(`KESTREL_REQUIRE_JULIA=1 but ${probe.reason}`);
      ctx.skip(probe.reason);
      return;
    }
    expect(juliaImageProblem()).toBeUndefined();
    const native = backtest('native');
    const julia = backtest('julia');
    expect(native.header).toContain('engine native');
    expect(julia.header).toContain('engine julia');
    expect(native.signals).toBeGreaterThan(0);
    expect(julia.signals).toBe(native.signals);
    expect(julia.digest).toBe(native.digest);
  });
});
