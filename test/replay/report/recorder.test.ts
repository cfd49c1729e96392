import { describe, expect, it } from 'vitest';
import { confidenceRows, priceRows } from '../../../src/replay/report/html.js';
import { AccuracyMonitor } from '../../../src/shadow/accuracy.js';
import { BacktestRecorder, expectedPoints } from '../../../src/replay/report/recorder.js';

describe('BacktestRecorder', () => {
  it('keeps every mark until full, then exactly the marks at multiples of a doubling stride', () => {
    for (const marks of [0, 1, 7, 8, 9, 16, 17, 33, 100, 1000]) {
      const r = new BacktestRecorder(8);
      for (let i = 0; i < marks; i++) r.onMark(BigInt(i) * 1_000_000n, 100 + i, i, i);
      const s = r.series();
      let stride = 1;
      while (Math.ceil(marks / stride) > 8) stride *= 2;
      const want = Array.from({ length: Math.ceil(marks / stride) }, (_, k) => k * stride);
      expect(s.tMs).toEqual(want);
      expect(s.equity).toEqual(want);
      expect(s.stride).toBe(stride);
      expect(s.marks).toBe(marks);
      expect(s.tMs.length).toBe(expectedPoints(marks, 8));
      expect(s.tMs.length).toBeLessThanOrEqual(8);
    }
  });

  it('measures drawdown on every mark, not only on the kept samples', () => {
    const r = new BacktestRecorder(4);
    const pnl = [0, 10, 4, 12, 12, -30, 5, 20, 19, 18, 17, 16];
    pnl.forEach((p, i) => r.onMark(BigInt(i) * 1_000_000n, 1, 0, p));
    const s = r.series();
    expect(s.maxDrawdown).toBe(-42); // 12 → -30 at mark 5, a mark the samples do not keep
    expect(s.peakEquity).toBe(20);
    expect(s.drawdown.every((d) => d <= 0)).toBe(true);
  });

  it('values a position at the mid: realized - fees + quantity × (mid - average price)', () => {
    const r = new BacktestRecorder();
    r.onMarkEntry(1_000_000n, 100, undefined);
    r.onMarkEntry(2_000_000n, 110, { quantity: -2, avgPrice: 100, realizedGross: 5, fees: 1 });
    expect(r.series().equity).toEqual([0, 5 - 1 - 20]);
    expect(r.series().position).toEqual([0, -2]);
  });

  it('caps the fills it keeps and counts the rest', () => {
    const r = new BacktestRecorder(4096, 3);
    for (let i = 0; i < 5; i++) r.onFill(BigInt(i), 1, 100, 1);
    expect(r.series().fills).toHaveLength(3);
    expect(r.series().fillsOmitted).toBe(2);
  });

  it('gives every fill its own row on the price axis, even at the same millisecond as a mid', () => {
    const r = new BacktestRecorder();
    r.onMark(5_000_000n, 100, 0, 0);
    r.onFill(5_000_000n, 1, 100.5, 1);
    r.onFill(5_000_000n, -1, 99.5, 1);
    r.onMark(6_000_000n, 101, 0, 0);
    const rows = priceRows(r.series());
    expect(rows.t.length).toBe(4);
    for (let i = 1; i < rows.t.length; i++) expect(rows.t[i]!).toBeGreaterThan(rows.t[i - 1]!);
    expect(rows.buy.filter((x) => x !== null)).toEqual([100.5]);
    expect(rows.sell.filter((x) => x !== null)).toEqual([99.5]);
    expect(rows.mid.filter((x) => x !== null)).toEqual([100, 101]);
  });
});

describe('confidence against outcome', () => {
  it("lists every scored signal with its signed forward return, in the accuracy monitor's verdict", () => {
    const m = new AccuracyMonitor({ horizonNs: 10n, threshold: 0.5, driftWindow: 100, driftThreshold: 0.1 });
    m.onSignal({ confidence: 0.8, direction: 1, refMid: 100, tsNs: 0n });
    m.onSignal({ confidence: 0.3, direction: -1, refMid: 100, tsNs: 1n });
    m.onSignal({ confidence: 0.6, direction: 1, refMid: 100, tsNs: 50n }); // not scored yet: horizon not reached
    m.onMid(101, 20n);
    const scored = m.scoredSignals();
    expect(scored).toEqual([
      { confidence: 0.8, returnFraction: 0.01, hit: true },
      { confidence: 0.3, returnFraction: -0.01, hit: false },
    ]);
    expect(m.report().hitRate).toBe(0.5);
    const rows = confidenceRows(scored.map((x) => ({ confidence: x.confidence, outcomeBps: x.returnFraction * 1e4, hit: x.hit })));
    expect(rows.conf).toEqual([0.3, 0.8]);
    expect(rows.hit).toEqual([null, 100]);
    expect(rows.miss).toEqual([-100, null]);
  });
});
