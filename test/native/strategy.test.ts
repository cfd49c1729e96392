/** The native strategy's building blocks against published references and hand-worked cases. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/native/addon.js';
import { LAYOUT, TickBatch, fitOu, replay, type TickInput } from '../../src/native/index.js';
import { syntheticTicks } from '../../scripts/gen-golden-synthetic.js';

const shared = path.resolve(packageRoot(), '../shared');

function run(ticks: TickInput[], params = {}) {
  const b = new TickBatch(ticks.length);
  for (const t of ticks) b.push(t);
  return replay(b, { params, featureStride: 1 });
}

describe('OU fit', () => {
  it('matches the sitmo example least-squares estimates (REFERENCE_VALUES.md)', () => {
    const file = path.join(shared, 'data/reference/ou_sitmo_example.csv');
    const rows = readFileSync(file, 'utf8').trim().split('\n').slice(1);
    const s = new Float64Array(rows.map((r) => Number(r.split(',')[2])));
    expect(s.length).toBe(21);
    const f = fitOu(s, 0.25);
    expect(f.valid).toBe(true);
    expect(f.kappa).toBeCloseTo(3.128732, 5);
    expect(f.mu).toBeCloseTo(0.907488, 5);
    expect(f.sigma).toBeCloseTo(0.583076, 5);
    expect(f.halfLife).toBeCloseTo(Math.LN2 / 3.128732, 5);
    expect(f.sigmaEq).toBeCloseTo(f.sigma / Math.sqrt(2 * f.kappa), 12);
  });

  it('is invalid for a trending (non mean-reverting) or constant series', () => {
    expect(
      fitOu(
        new Float64Array(50).map((_, i) => i * i),
        0.1,
      ).valid,
    ).toBe(false);
    expect(fitOu(new Float64Array(50).fill(3), 0.1).valid).toBe(false);
  });
});

describe('microstructure features (hand-worked)', () => {
  const q = (i: number, bid: number, ask: number, bs: number, as: number): TickInput => ({
    tsNs: BigInt(i) * 1_000_000n,
    flags: 0,
    bid,
    ask,
    bidSize: bs,
    askSize: as,
  });
  const r = run([q(0, 100, 101, 2, 3), q(1, 100, 101, 5, 1), q(2, 100.5, 101, 1, 1)]);
  it('spread, mid, microprice', () => {
    expect(r.features[0]).toMatchObject({ mid: 100.5, spread: 1, microprice: (100 * 3 + 101 * 2) / 5 });
    expect(r.features[2]).toMatchObject({ mid: 100.75, spread: 0.5, microprice: 100.75 });
    expect(r.features[2]!['spread_bps']).toBeCloseTo((0.5 / 100.75) * 1e4, 12);
  });
  it('order-flow imbalance (Cont–Kukanov–Stoikov increments, EWMA 0.1)', () => {
    // q1: e = 5 - 2 - 1 + 3 = 5; q2: bid up, ask same: e = 1 - 0 - 1 + 1 = 1
    expect(r.features[1]!['ofi']).toBeCloseTo(0.5, 15);
    expect(r.features[1]!['ofi_norm']).toBe(1);
    expect(r.features[2]!['ofi']).toBeCloseTo(0.55, 15);
  });
  it('EWMA variance of log mid returns, seeded by the first return', () => {
    expect(Number.isNaN(r.features[0]!['ewma_var'])).toBe(true);
    expect(r.features[1]!['ewma_var']).toBe(0);
    expect(r.features[2]!['ewma_var']).toBeCloseTo(0.06 * Math.log(100.75 / 100.5) ** 2, 18);
  });
});

describe('VPIN with bulk volume classification (hand-worked)', () => {
  const tr = (ms: number, p: number, qty: number): TickInput => ({
    tsNs: BigInt(ms) * 1_000_000n,
    flags: LAYOUT.kFlagTrade,
    bid: p,
    ask: p,
    bidSize: qty,
    askSize: 0,
  });
  const r = run([tr(100, 100, 0.6), tr(500, 101, 0.6), tr(1200, 101, 0.5), tr(1700, 100, 0.3), tr(2500, 100, 1.0), tr(3100, 100, 0.1)], {
    vpin_bucket_volume: 1,
    vpin_buckets: 2,
  });
  it('splits bars across buckets and averages |buy - sell| over the last n buckets', () => {
    // bar 0 (dp=+1, first bar: sd 0 -> phi 0.5) fills bucket 1 (OI 0) and leaves 0.2 split evenly.
    expect(r.features[2]!['n_buckets']).toBe(1);
    expect(Number.isNaN(r.features[2]!['vpin'])).toBe(true);
    // bar 1 (dp=-1; Welford sd of {1,-1} = sqrt 2; z = -1/sqrt 2; phi = 0.5 erfc(0.5)) fills bucket 2.
    const phi = 0.5 * 0.4795001221869535;
    const oi2 = Math.abs(0.1 + 0.8 * phi - (0.1 + 0.8 * (1 - phi)));
    expect(r.features[4]!['n_buckets']).toBe(2);
    expect(r.features[4]!['vpin']).toBeCloseTo((0 + oi2) / 2, 12);
    // bar 2 (dp=0 -> phi 0.5) fills bucket 3 with OI 0: window {oi2, 0}.
    expect(r.features[5]!['n_buckets']).toBe(3);
    expect(r.features[5]!['vpin']).toBeCloseTo(oi2 / 2, 12);
  });
});

describe('tainted ticks', () => {
  it('crossed and stale ticks are skipped; a gap resets the OU window, so no signal until it refills', () => {
    const { ticks } = syntheticTicks({ ticks: 8000, seed: 11n });
    const gapAt = 5000;
    ticks[gapAt] = { ...ticks[gapAt]!, flags: ticks[gapAt]!.flags | LAYOUT.kFlagGap };
    ticks[100] = { ...ticks[100]!, flags: LAYOUT.kFlagCrossed };
    ticks[200] = { ...ticks[200]!, flags: ticks[200]!.flags | LAYOUT.kFlagStale };
    const loose = { z_entry: 0.2, cooldown_ns: 0, min_confidence: 0 };
    const r = run(ticks, loose);
    expect(r.skipped).toBe(3);
    expect(r.resets).toBe(1);
    expect(r.features[gapAt]!['ou_valid']).toBe(0);
    const refill = r.features.findIndex((f, i) => i > gapAt && f['ou_valid'] === 1);
    const windowNs = 299n * 100_000_000n; // W samples on the grid span (W - 1) * dt
    expect(ticks[refill]!.tsNs - ticks[gapAt]!.tsNs >= windowNs).toBe(true);
    const firstAfter = r.signals.find((s) => s.sourceSeq > BigInt(gapAt));
    expect(firstAfter && firstAfter.sourceSeq >= BigInt(refill)).toBe(true);
    expect(r.signals.some((s) => s.sourceSeq < BigInt(gapAt))).toBe(true);
  });
});

describe('regime (docs/STRATEGY.md "Regime")', () => {
  it('is UNKNOWN until the windows are warm, classified after, reset by a gap, and gates entries unless trend_entries', () => {
    const { ticks } = syntheticTicks({ ticks: 8000, seed: 11n });
    const gapAt = 5000;
    ticks[gapAt] = { ...ticks[gapAt]!, flags: ticks[gapAt]!.flags | LAYOUT.kFlagGap };
    // a low vr_trend marks much of the (mean-reverting) path TRENDING, so the gate has entries to hold back
    const loose = { z_entry: 0.5, cooldown_ns: 0, min_confidence: 0, vr_trend: 0.9 };
    const gated = run(ticks, loose);
    const open = run(ticks, { ...loose, trend_entries: 1 });
    const firstFull = gated.features.findIndex((f) => f['ou_valid'] === 1 || Number.isFinite(f['vr']!));
    expect(gated.features.slice(0, firstFull).every((f) => f['regime'] === LAYOUT.kRegimeUnknown)).toBe(true);
    expect(gated.features[gapAt]!['regime']).toBe(LAYOUT.kRegimeUnknown);
    expect(Number.isNaN(gated.features[gapAt]!['vr']!)).toBe(true);
    const seen = new Set(gated.features.map((f) => f['regime']));
    expect(seen.has(LAYOUT.kRegimeTrending) && seen.has(LAYOUT.kRegimeMeanReverting)).toBe(true);
    // the regime only gates: every gated signal is one the open run made too, on a non-trending tick
    const gate = (r: number) => r === LAYOUT.kRegimeTrending || r === LAYOUT.kRegimeHighVol;
    expect(gated.signals.every((s) => !gate(s.regime))).toBe(true);
    expect(open.signals.some((s) => gate(s.regime))).toBe(true);
    expect(open.signals.filter((s) => !gate(s.regime)).map((s) => s.sourceSeq)).toEqual(gated.signals.map((s) => s.sourceSeq));
  });

  it('rejects regime parameters the way every other parameter is rejected', () => {
    const t = new TickBatch(1);
    for (const bad of [
      { vr_lag: 1 },
      { vr_lag: 299 },
      { vr_trend: 0 },
      { vol_ratio_threshold: -1 },
      { vol_long_lambda: 1 },
      { trend_entries: 2 },
    ])
      expect(() => replay(t, { params: bad })).toThrow(expect.objectContaining({ code: 'BAD_STRATEGY_PARAMS' }));
  });
});
