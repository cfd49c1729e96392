/**
 * Backtest results per market regime (docs/STRATEGY.md "Regime"): how many signals each regime
 * produced, how often their direction was right over the accuracy horizon, and the PnL of the fills
 * they made. A fill's PnL is marked to the last mid of its instrument at the end of the run and is
 * net of its fee, so the rows add up to the report's netPnl (realized + unrealized, fees included).
 */
import { Regime } from '../contracts/index.js';
import { AccuracyMonitor, type AccuracyOptions, type ScoredSignal } from '../shadow/accuracy.js';

export type RegimeName = 'unknown' | 'mean_reverting' | 'trending' | 'high_vol';

export const REGIME_NAMES: Readonly<Record<Regime, RegimeName>> = Object.freeze({
  [Regime.UNSPECIFIED]: 'unknown',
  [Regime.MEAN_REVERTING]: 'mean_reverting',
  [Regime.TRENDING]: 'trending',
  [Regime.HIGH_VOL]: 'high_vol',
});

export interface RegimeRow {
  regime: RegimeName;
  signals: number;
  /** Signals whose horizon elapsed before the data ended (the hit rate's denominator). */
  scored: number;
  /** Fraction of scored signals whose mid moved their way over the horizon; undefined when none. */
  hitRate: number | undefined;
  fills: number;
  /** Quote currency, net of fees, fills marked to the instrument's last mid. */
  pnl: number;
}

interface Cell {
  accuracy: AccuracyMonitor;
  fills: number;
  /** Cash flow of the fills (sells +, buys −, fees −) and the base quantity they left. */
  cash: number;
  qty: number;
}

const ORDER: readonly Regime[] = [Regime.MEAN_REVERTING, Regime.TRENDING, Regime.HIGH_VOL, Regime.UNSPECIFIED];

/** Per (instrument, regime) tallies; `stream` is any key of the instrument (the backtest's ring). */
export class RegimeTally {
  private readonly cells = new Map<number, Map<Regime, Cell>>();

  constructor(private readonly accuracy: AccuracyOptions) {}

  private cell(stream: number, regime: Regime): Cell {
    const r = regime in REGIME_NAMES ? regime : Regime.UNSPECIFIED;
    let m = this.cells.get(stream);
    if (!m) this.cells.set(stream, (m = new Map()));
    let c = m.get(r);
    if (!c) m.set(r, (c = { accuracy: new AccuracyMonitor(this.accuracy), fills: 0, cash: 0, qty: 0 }));
    return c;
  }

  onSignal(stream: number, regime: Regime, s: ScoredSignal): void {
    this.cell(stream, regime).accuracy.onSignal(s);
  }

  /** Tick time of the instrument advances: scores its signals whose horizon elapsed. */
  onMid(stream: number, mid: number, tsNs: bigint): void {
    const m = this.cells.get(stream);
    if (m) for (const c of m.values()) c.accuracy.onMid(mid, tsNs);
  }

  onFill(stream: number, regime: Regime, direction: 1 | -1, qty: number, price: number, fee: number): void {
    const c = this.cell(stream, regime);
    c.fills++;
    c.cash += -direction * qty * price - fee;
    c.qty += direction * qty;
  }

  /** One row per regime that produced a signal, in a fixed order; `mark(stream)` = last mid. */
  rows(mark: (stream: number) => number): RegimeRow[] {
    const out: RegimeRow[] = [];
    for (const regime of ORDER) {
      const cells: Array<[number, Cell]> = [];
      for (const [stream, m] of this.cells) {
        const c = m.get(regime);
        if (c) cells.push([stream, c]);
      }
      if (cells.length === 0) continue;
      const acc = AccuracyMonitor.pooled(
        cells.map(([, c]) => c.accuracy),
        this.accuracy,
      ).report();
      out.push({
        regime: REGIME_NAMES[regime],
        signals: acc.signals,
        scored: acc.scored,
        hitRate: acc.hitRate,
        fills: cells.reduce((a, [, c]) => a + c.fills, 0),
        pnl: cells.reduce((a, [s, c]) => a + c.cash + (c.qty !== 0 ? c.qty * mark(s) : 0), 0),
      });
    }
    return out;
  }
}
