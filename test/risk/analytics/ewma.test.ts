import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DrawdownTracker,
  EwmaCorrelation,
  EwmaVolatility,
  cvarMultiplier,
  effectiveWindow,
  erfc,
  normalQuantile,
  varMultiplier,
} from '../../../src/risk/analytics/ewma.js';
import { sharedDataFile } from '../../../src/simulators/recordings.js';

describe('normal distribution helpers (REFERENCE_VALUES.md)', () => {
  it('gives the exact quantiles z95 = 1.644854 and z99 = 2.326348', () => {
    expect(normalQuantile(0.95)).toBeCloseTo(1.644854, 6);
    expect(normalQuantile(0.99)).toBeCloseTo(2.326348, 6);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 14);
    expect(normalQuantile(1e-6)).toBeCloseTo(-4.753424, 5);
  });

  it('gives the normal ES multipliers 2.062713 (95%) and 2.665214 (99%)', () => {
    expect(cvarMultiplier(0.95)).toBeCloseTo(2.062713, 6);
    expect(cvarMultiplier(0.99)).toBeCloseTo(2.665214, 6);
    expect(varMultiplier(0.95)).toBeCloseTo(1.644854, 6);
  });

  it('erfc matches known values', () => {
    expect(erfc(0)).toBe(1);
    expect(erfc(1)).toBeCloseTo(0.157299207050285, 14);
    expect(erfc(-1)).toBeCloseTo(1.842700792949715, 14);
    expect(erfc(5)).toBeCloseTo(1.5374597944280349e-12, 24);
    expect(erfc(0.3)).toBeCloseTo(0.671373240540873, 14);
    expect(erfc(1.5)).toBeCloseTo(0.033894853524689274, 15);
    expect(erfc(2)).toBeCloseTo(0.004677734981047266, 16);
  });

  it('refuses probabilities outside (0,1) with a typed error', () => {
    expect(() => normalQuantile(1)).toThrow(RangeError);
  });
});

describe('EWMA volatility (RiskMetrics)', () => {
  it('reproduces Hull Example 5.2: λ=0.90, σ=1%, u=2% → σ=1.140175%', () => {
    const v = new EwmaVolatility(0.9, 0.01 ** 2);
    v.update(0.02);
    expect(v.sigma).toBeCloseTo(0.01140175, 8);
  });

  it('has the effective windows K(1%)=74.43, K(0.1%)=111.64 for λ=0.94 and 151.19 for λ=0.97', () => {
    expect(effectiveWindow(0.94, 0.01)).toBeCloseTo(74.43, 2);
    expect(effectiveWindow(0.94, 0.001)).toBeCloseTo(111.64, 2);
    expect(effectiveWindow(0.97, 0.01)).toBeCloseTo(151.19, 2);
  });

  it('95% VaR on a month of real 1-minute BTC bars is exceeded about 5% of the time', () => {
    const file = sharedDataFile('bars', 'btc-perp-20211231-20220201_1m.csv');
    const closes = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => Number(l.split(',')[4]));
    const v = new EwmaVolatility(0.94);
    let tested = 0;
    let exceeded = 0;
    let esExceeded = 0;
    for (let i = 1; i < closes.length; i++) {
      const r = Math.log(closes[i]! / closes[i - 1]!);
      if (v.observations >= 100) {
        tested++;
        if (-r > v.valueAtRisk(1, 0.95)) exceeded++;
        if (-r > v.expectedShortfall(1, 0.95)) esExceeded++;
      }
      v.update(r);
    }
    expect(tested).toBeGreaterThan(40_000);
    const rate = exceeded / tested;
    // Fat tails and zero-return minutes move it off 5%, but a broken model lands far outside this band.
    expect(rate).toBeGreaterThan(0.02);
    expect(rate).toBeLessThan(0.08);
    expect(esExceeded).toBeLessThan(exceeded);
  });
});

describe('EWMA correlation and drawdown', () => {
  it('is +1 for identical series and -1 for mirrored ones', () => {
    const a = new EwmaCorrelation(0.94);
    const b = new EwmaCorrelation(0.94);
    for (const r of [0.01, -0.02, 0.015, 0.003, -0.007]) {
      a.update(r, r);
      b.update(r, -r);
    }
    expect(a.correlation).toBeCloseTo(1, 12);
    expect(b.correlation).toBeCloseTo(-1, 12);
  });

  it('tracks total, daily and maximum drawdown in event time', () => {
    const d = new DrawdownTracker();
    const day = 86_400_000_000_000n;
    d.update(100, 0n);
    d.update(120, 1n);
    d.update(90, 2n);
    expect(d.current).toBeCloseTo(0.25, 12);
    d.update(95, day + 1n); // new day: daily peak restarts at 95
    expect(d.daily).toBe(0);
    d.update(76, day + 2n);
    expect(d.daily).toBeCloseTo(0.2, 12);
    expect(d.max).toBeCloseTo((120 - 76) / 120, 12);
  });
});
