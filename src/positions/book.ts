/**
 * Positions and PnL from fills, per (venue, symbol) and netted per symbol across venues.
 *
 * Conventions: quantity is signed base units (+long, -short); avg_price is the average entry of the
 * open quantity; realized_pnl is net of fees (gross realized minus every fee paid on the position);
 * unrealized_pnl = quantity * (mark - avg_price). Symbols are canonical BASE-QUOTE.
 *
 * A position's PnL is in its quote currency. Portfolio totals (total_pnl, daily_pnl, total_value)
 * are in one reporting currency: each quote is converted with a rate from market data (a direct
 * pair, or a cross through a base quoted in both), never added raw; a quote without a rate is left
 * out of the totals and named in unpriced_quotes. daily_pnl is total_pnl minus the total at the last
 * valuation before the current UTC day began, by event time (fill and snapshot timestamps).
 */
import { create } from '@bufbuild/protobuf';
import { PortfolioStateSchema, PositionSchema, Side, type PortfolioState, type Position } from '../contracts/index.js';

export interface PositionEntry {
  venue: string;
  symbol: string;
  quantity: number;
  avgPrice: number;
  realizedGross: number;
  fees: number;
  tsNs: bigint;
}

/** Mark price lookup (mid of the latest snapshot); undefined when unknown. */
export type MarkFn = (venue: string, symbol: string) => number | undefined;

/** Value of one unit of a quote currency in the reporting currency; undefined when the data has no rate. */
export type RateFn = (quote: string) => number | undefined;

/** The reporting currency of portfolio totals and how quotes convert into it. */
export interface Valuation {
  currency: string;
  rate: RateFn;
}

const EPS = 1e-12;
const NS_PER_DAY = 86_400_000_000_000n;

/** Quote currency of a canonical BASE-QUOTE symbol. */
export function quoteOf(symbol: string): string {
  const i = symbol.indexOf('-');
  return i >= 0 ? symbol.slice(i + 1) : symbol;
}

function baseOf(symbol: string): string {
  const i = symbol.indexOf('-');
  return i >= 0 ? symbol.slice(0, i) : symbol;
}

/**
 * Conversion rates from mids in the data: QUOTE→REPORTING is the mid of QUOTE-REPORTING, else
 * 1 / mid of REPORTING-QUOTE, else a cross through a base quoted in both (BTC-USD / BTC-USDT gives
 * USDT in USD). Mids of one symbol on several venues are averaged.
 */
export function ratesFromMids(reporting: string, mids: Iterable<{ symbol: string; mid: number }>): RateFn {
  const sum = new Map<string, { total: number; n: number }>();
  for (const { symbol, mid } of mids) {
    if (!(mid > 0) || !Number.isFinite(mid)) continue;
    const a = sum.get(symbol) ?? { total: 0, n: 0 };
    a.total += mid;
    a.n++;
    sum.set(symbol, a);
  }
  const mid = (symbol: string): number | undefined => {
    const a = sum.get(symbol);
    return a ? a.total / a.n : undefined;
  };
  return (quote) => {
    if (quote === reporting) return 1;
    const direct = mid(`${quote}-${reporting}`);
    if (direct !== undefined) return direct;
    const inverse = mid(`${reporting}-${quote}`);
    if (inverse !== undefined) return 1 / inverse;
    for (const symbol of sum.keys()) {
      if (quoteOf(symbol) !== quote) continue;
      const inReporting = mid(`${baseOf(symbol)}-${reporting}`);
      const inQuote = mid(symbol);
      if (inReporting !== undefined && inQuote !== undefined) return inReporting / inQuote;
    }
    return undefined;
  };
}

const utcDay = (tsNs: bigint): bigint => tsNs / NS_PER_DAY;

export class PositionBook {
  private readonly entries = new Map<string, PositionEntry>();
  /** Marks and valuation of the last snapshot: the day's base is valued with them at a rollover. */
  private readonly lastMarks = new Map<string, number>();
  private lastValuation: Valuation | undefined;
  /** UTC day (days since the epoch) daily_pnl counts from, and total_pnl when it began. */
  private day: bigint | undefined;
  private dayBasePnl = 0;

  private entry(venue: string, symbol: string): PositionEntry {
    const key = `${venue}|${symbol}`;
    let e = this.entries.get(key);
    if (!e) {
      e = { venue, symbol, quantity: 0, avgPrice: 0, realizedGross: 0, fees: 0, tsNs: 0n };
      this.entries.set(key, e);
    }
    return e;
  }

  /** Apply one fill. Fee is in quote currency and always a cost. */
  applyFill(venue: string, symbol: string, side: Side, qty: number, price: number, fee: number, tsNs: bigint): void {
    if (!(qty > 0) || !Number.isFinite(price)) return;
    // Before the fill: its PnL belongs to its own day.
    this.rollDay(tsNs);
    const e = this.entry(venue, symbol);
    const signed = side === Side.SELL ? -qty : qty;
    const q = e.quantity;
    if (Math.abs(q) < EPS || Math.sign(q) === Math.sign(signed)) {
      const nq = q + signed;
      e.avgPrice = (Math.abs(q) * e.avgPrice + qty * price) / Math.abs(nq);
      e.quantity = nq;
    } else {
      const closing = Math.min(Math.abs(q), qty);
      e.realizedGross += closing * (price - e.avgPrice) * Math.sign(q);
      const nq = q + signed;
      if (Math.abs(nq) < EPS) {
        e.quantity = 0;
        e.avgPrice = 0;
      } else if (Math.sign(nq) !== Math.sign(q)) {
        e.quantity = nq; // crossed through zero: the remainder opens at the fill price
        e.avgPrice = price;
      } else {
        e.quantity = nq;
      }
    }
    e.fees += fee;
    e.tsNs = tsNs;
  }

  get(venue: string, symbol: string): PositionEntry | undefined {
    return this.entries.get(`${venue}|${symbol}`);
  }

  quantity(venue: string, symbol: string): number {
    return this.entries.get(`${venue}|${symbol}`)?.quantity ?? 0;
  }

  /** Net quantity of a symbol across venues. */
  net(symbol: string): number {
    let q = 0;
    for (const e of this.entries.values()) if (e.symbol === symbol) q += e.quantity;
    return q;
  }

  all(): PositionEntry[] {
    return [...this.entries.values()];
  }

  /** Gross notional at average prices (used by the local risk guard). */
  grossNotional(): number {
    let n = 0;
    for (const e of this.entries.values()) n += Math.abs(e.quantity * e.avgPrice);
    return n;
  }

  toPosition(e: PositionEntry, mark: number | undefined): Position {
    return create(PositionSchema, {
      venue: e.venue,
      symbol: e.symbol,
      quantity: e.quantity,
      avgPrice: e.avgPrice,
      unrealizedPnl: mark !== undefined && e.quantity !== 0 ? e.quantity * (mark - e.avgPrice) : 0,
      realizedPnl: e.realizedGross - e.fees,
      fees: e.fees,
      tsNs: e.tsNs,
    });
  }

  /**
   * A new UTC day at `tsNs` (event time): the day's base becomes the total at the last marks seen,
   * i.e. everything made up to the last valuation before midnight (and fills since) is yesterday's.
   */
  private rollDay(tsNs: bigint): void {
    if (tsNs <= 0n) return; // no event time (WAL checkpoint): the day stays
    const d = utcDay(tsNs);
    if (this.day === undefined) this.day = d;
    else if (d > this.day) {
      this.dayBasePnl = this.totals((v, s) => this.lastMarks.get(`${v}|${s}`), this.lastValuation).pnl;
      this.day = d;
    }
  }

  /** Reporting currency when none is given: the quote if every position shares one, else USD. */
  private defaultValuation(mark: MarkFn | undefined): Valuation {
    const quotes = new Set([...this.entries.values()].map((e) => quoteOf(e.symbol)));
    const currency = quotes.size === 1 ? [...quotes][0]! : 'USD';
    const mids = [...this.entries.values()].flatMap((e) => {
      const m = mark?.(e.venue, e.symbol);
      return m !== undefined ? [{ symbol: e.symbol, mid: m }] : [];
    });
    return { currency, rate: ratesFromMids(currency, mids) };
  }

  /** Total PnL and value in the reporting currency, and the quotes that had no rate. */
  private totals(
    mark: MarkFn | undefined,
    valuation: Valuation | undefined,
  ): { pnl: number; value: number; unpriced: string[]; currency: string } {
    const v = valuation ?? this.defaultValuation(mark);
    let pnl = 0;
    let value = 0;
    const unpriced = new Set<string>();
    for (const e of this.entries.values()) {
      const quote = quoteOf(e.symbol);
      const rate = v.rate(quote);
      const m = mark?.(e.venue, e.symbol);
      const p = this.toPosition(e, m);
      if (rate === undefined) {
        if (Math.abs(p.realizedPnl) > EPS || Math.abs(p.unrealizedPnl) > EPS || Math.abs(e.quantity) > EPS) unpriced.add(quote);
        continue;
      }
      pnl += (p.realizedPnl + p.unrealizedPnl) * rate;
      value += e.quantity * (m ?? e.avgPrice) * rate;
    }
    return { pnl, value, unpriced: [...unpriced].sort(), currency: v.currency };
  }

  /** Per-venue positions; netted positions carry venue "*". Totals in `valuation`'s currency. */
  snapshot(mark?: MarkFn, tsNs: bigint = 0n, netted = false, valuation?: Valuation): PortfolioState {
    this.rollDay(tsNs);
    const positions: Position[] = [];
    const exposure: Record<string, number> = {};
    const bySymbol = new Map<string, PositionEntry>();
    for (const e of this.entries.values()) {
      const m = mark?.(e.venue, e.symbol);
      if (m !== undefined) this.lastMarks.set(`${e.venue}|${e.symbol}`, m);
      const p = this.toPosition(e, m);
      positions.push(p);
      const base = e.symbol.split('-')[0] ?? e.symbol;
      exposure[base] = (exposure[base] ?? 0) + e.quantity;
      if (netted) {
        const n = bySymbol.get(e.symbol);
        if (!n) bySymbol.set(e.symbol, { ...e, venue: '*' });
        else {
          const q = n.quantity + e.quantity;
          // Netted average: weighted by open quantity on the same side; opposite sides net out.
          n.avgPrice =
            Math.abs(q) < EPS
              ? 0
              : Math.sign(n.quantity) === Math.sign(e.quantity)
                ? (Math.abs(n.quantity) * n.avgPrice + Math.abs(e.quantity) * e.avgPrice) / Math.abs(q)
                : Math.abs(n.quantity) > Math.abs(e.quantity)
                  ? n.avgPrice
                  : e.avgPrice;
          n.quantity = q;
          n.realizedGross += e.realizedGross;
          n.fees += e.fees;
        }
      }
    }
    for (const n of bySymbol.values()) {
      let m: number | undefined;
      for (const e of this.entries.values()) if (e.symbol === n.symbol) m ??= mark?.(e.venue, e.symbol);
      positions.push(this.toPosition(n, m));
    }
    if (valuation) this.lastValuation = valuation;
    const t = this.totals(mark, valuation);
    return create(PortfolioStateSchema, {
      positions,
      totalValue: t.value,
      totalPnl: t.pnl,
      dailyPnl: t.pnl - this.dayBasePnl,
      currencyExposure: exposure,
      tsNs,
      reportingCurrency: t.currency,
      unpricedQuotes: t.unpriced,
    });
  }

  /** Replace the book with a snapshot (WAL checkpoint); netted "*" rows are derived, not loaded. */
  load(state: PortfolioState): void {
    this.entries.clear();
    this.lastMarks.clear();
    // Keep the day the checkpoint counted from: its base is what it did not count as today.
    this.dayBasePnl = state.totalPnl - state.dailyPnl;
    this.day = state.tsNs > 0n ? utcDay(state.tsNs) : undefined;
    for (const p of state.positions) {
      if (p.venue === '*') continue;
      this.entries.set(`${p.venue}|${p.symbol}`, {
        venue: p.venue,
        symbol: p.symbol,
        quantity: p.quantity,
        avgPrice: p.avgPrice,
        realizedGross: p.realizedPnl + p.fees,
        fees: p.fees,
        tsNs: p.tsNs,
      });
    }
  }
}
