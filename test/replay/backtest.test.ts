import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { NativeEngineError } from '../../src/native/index.js';
import { runBacktest } from '../../src/replay/backtest.js';
import { CaptureReader } from '../../src/storage/capture/reader.js';

const config = (over: Record<string, unknown> = {}) => loadConfig({ env: {}, overrides: { logging: { level: 'silent' }, ...over } });

describe('deterministic backtest on the real Binance capture', () => {
  it('trades the recorded timeline end to end and leaves its capture and report', async () => {
    const r = await runBacktest(config());
    expect(r.ticks).toBeGreaterThan(37_000);
    expect(r.signals).toBeGreaterThan(0);
    expect(r.orders).toBeGreaterThan(0);
    expect(r.fills).toBeGreaterThan(0);
    // The real risk path (executor guard on risk.limits, gateway risk.check): the position's notional
    // stays under risk.position_limits.per_symbol, and the orders that would break it are refused.
    expect(Math.abs(r.position) * r.avgPrice).toBeLessThanOrEqual(config().risk.position_limits.per_symbol * 1.01);
    expect(r.rejects.RISK_LIMIT).toBeGreaterThan(0);
    expect(r.accuracy.scored).toBe(r.signals);
    let n = 0;
    for await (const _t of (await CaptureReader.open(r.capture)).ticks()) n++;
    expect(n).toBe(r.ticks);
  });

  it('gives the same decisions and digest on every run', async () => {
    const a = await runBacktest(config());
    const b = await runBacktest(config());
    expect(b.digest).toBe(a.digest);
    expect(b.signals).toBe(a.signals);
    expect(b.netPnl).toBe(a.netPnl);
  });

  it('net PnL charges each fee once, and the per-regime rows add up to it', async () => {
    const r = await runBacktest(config());
    expect(r.fees).toBeGreaterThan(0);
    // realizedPnl is already net of fees: net = realized + unrealized (it used to subtract fees again)
    expect(r.netPnl).toBeCloseTo(r.realizedPnl + r.unrealizedPnl, 9);
    expect(r.regimes.reduce((a, g) => a + g.pnl, 0)).toBeCloseTo(r.netPnl, 6);
    expect(r.regimes.reduce((a, g) => a + g.signals, 0)).toBe(r.signals);
    expect(r.regimes.reduce((a, g) => a + g.fills, 0)).toBe(r.fills);
    // the default gate: no entries while TRENDING or HIGH_VOL
    for (const g of r.regimes) expect(['mean_reverting', 'unknown']).toContain(g.regime);
    expect(readFileSync(r.html, 'utf8')).toContain('<table id="regimes">');
  });

  it('strategy.regime.trend_entries: true lets entries through in every regime, and the report splits them', async () => {
    const gated = await runBacktest(config());
    const open = await runBacktest(config({ strategy: { regime: { trend_entries: true } } }));
    expect(open.digest).not.toBe(gated.digest);
    const names = open.regimes.map((g) => g.regime);
    expect(names.some((n) => n === 'trending' || n === 'high_vol')).toBe(true);
    expect(open.regimes.reduce((a, g) => a + g.pnl, 0)).toBeCloseTo(open.netPnl, 6);
    for (const g of open.regimes) if (g.scored > 0) expect(g.hitRate).toBeGreaterThanOrEqual(0);
  });

  it('a different strategy parameter changes the decisions', async () => {
    const a = await runBacktest(config());
    const b = await runBacktest(config({ strategy: { confidence_threshold: 0.45 } }));
    expect(b.digest).not.toBe(a.digest);
  });

  it('selecting the julia engine where no Julia is installed fails with a typed error', async () => {
    // JULIA_DIR at an empty directory stands for "no Julia" on every machine, Julia hosts included.
    const saved = process.env.JULIA_DIR;
    process.env.JULIA_DIR = mkdtempSync(path.join(tmpdir(), 'kestrel-no-julia-'));
    try {
      await expect(runBacktest(config({ strategy: { engine: 'julia' }, session: { max_ticks: 1000 } }))).rejects.toBeInstanceOf(
        NativeEngineError,
      );
    } finally {
      rmSync(process.env.JULIA_DIR, { recursive: true, force: true });
      if (saved === undefined) delete process.env.JULIA_DIR;
      else process.env.JULIA_DIR = saved;
    }
  });
});
