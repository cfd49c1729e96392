/**
 * Positions and PnL from fills, per (venue, symbol) and netted per symbol across venues.
 *
 * Conventions: quantity is signed base units (+long, -short); avg_price is the average entry of the
 * open quantity; realized_pnl is net of fees (gross realized minus every fee paid on the position);
 * unrealized_pnl = quantity * (mark - avg_price). Symbols are canonical BASE-QUOTE.
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

const EPS = 1e-12;

export class PositionBook {
  private readonly entries = new Map<string, PositionEntry>();

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

  /** Per-venue positions; netted positions carry venue "*". */
  snapshot(mark?: MarkFn, tsNs: bigint = 0n, netted = false): PortfolioState {
    const positions: Position[] = [];
    const exposure: Record<string, number> = {};
    let total = 0;
    let value = 0;
    const bySymbol = new Map<string, PositionEntry>();
    for (const e of this.entries.values()) {
      const m = mark?.(e.venue, e.symbol);
      const p = this.toPosition(e, m);
      positions.push(p);
      total += p.realizedPnl + p.unrealizedPnl;
      value += e.quantity * (m ?? e.avgPrice);
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
    return create(PortfolioStateSchema, {
      positions,
      totalValue: value,
      totalPnl: total,
      dailyPnl: total,
      currencyExposure: exposure,
      tsNs,
    });
  }

  /** Replace the book with a snapshot (WAL checkpoint); netted "*" rows are derived, not loaded. */
  load(state: PortfolioState): void {
    this.entries.clear();
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
