/** Per-regime backtest rows (src/replay/regime-report.ts): attribution of signals, hits and PnL. */
import { describe, expect, it } from 'vitest';
import { Regime } from '../../src/contracts/index.js';
import { RegimeTally } from '../../src/replay/regime-report.js';

const opts = { horizonNs: 10n, threshold: 0.5, driftWindow: 1000, driftThreshold: 0.05 };

describe('RegimeTally', () => {
  it('splits signals, hit rate and fee-net PnL by the regime of the signal that made the fill', () => {
    const t = new RegimeTally(opts);
    t.onSignal(0, Regime.TRENDING, { confidence: 0.6, direction: 1, refMid: 100, tsNs: 0n });
    t.onFill(0, Regime.TRENDING, 1, 1, 100, 0.1);
    t.onSignal(0, Regime.MEAN_REVERTING, { confidence: 0.6, direction: -1, refMid: 110, tsNs: 5n });
    t.onFill(0, Regime.MEAN_REVERTING, -1, 1, 110, 0.2);
    t.onSignal(0, Regime.MEAN_REVERTING, { confidence: 0.6, direction: 1, refMid: 110, tsNs: 6n });
    t.onMid(0, 105, 20n); // scores all three: buy@100 hit, sell@110 hit, buy@110 miss
    const rows = t.rows(() => 105);
    expect(rows.map((r) => r.regime)).toEqual(['mean_reverting', 'trending']);
    const [mr, tr] = rows;
    expect([mr!.signals, mr!.scored, mr!.hitRate, mr!.fills]).toEqual([2, 2, 0.5, 1]);
    expect([tr!.signals, tr!.scored, tr!.hitRate, tr!.fills]).toEqual([1, 1, 1, 1]);
    expect(tr!.pnl).toBeCloseTo(105 - 100 - 0.1, 12); // long 1 from 100, marked at 105, fee 0.1
    expect(mr!.pnl).toBeCloseTo(110 - 105 - 0.2, 12); // short 1 from 110, marked at 105, fee 0.2
  });

  it('an unknown regime byte is reported as unknown, not dropped', () => {
    const t = new RegimeTally(opts);
    t.onSignal(3, 9 as Regime, { confidence: 0.6, direction: 1, refMid: 100, tsNs: 0n });
    expect(t.rows(() => 100)).toEqual([{ regime: 'unknown', signals: 1, scored: 0, hitRate: undefined, fills: 0, pnl: 0 }]);
  });
});
