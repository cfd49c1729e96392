/**
 * In-flight bookkeeping: the concurrency slots of open orders (global, per venue, per symbol), the
 * signed quantity they may still add to each symbol, and the gross notional they stand for. The
 * caps, the local risk guard and the risk gateway read it; the Executor takes and releases slots
 * as orders open, fill and finish, and reserves one while an order waits on risk.check.
 */
import { Side } from '../../contracts/index.js';
import type { PositionBook } from '../../positions/book.js';
import type { OrderRecord } from '../order.js';
import type { RiskExposure } from '../risk-guard.js';
import type { ConcurrencyConfig } from './types.js';

/** The order fields the slots account by. */
type SlotOrder = Pick<OrderRecord, 'clientId' | 'venue' | 'symbol' | 'side' | 'remaining'>;

export class InflightBook {
  private inflight = 0;
  private readonly venueInflight = new Map<string, number>();
  private readonly symbolInflight = new Map<string, number>();
  /** Inflight signed quantity per symbol (risk exposure of orders not yet filled). */
  private readonly symbolPending = new Map<string, number>();
  /**
   * Gross notional of the orders holding a slot (unfilled remainder) and of orders waiting on
   * risk.check: the portfolio cap counts what is already on its way, not only filled positions.
   * Each order is valued once, at the worse of its limit and mid when it took its slot (`pendingPx`).
   */
  private pendingNotional = 0;
  private readonly pendingPx = new Map<string, number>();
  private readonly slots = new Set<string>();

  /** Orders in flight plus reservations. */
  get count(): number {
    return this.inflight;
  }

  get notional(): number {
    return this.pendingNotional;
  }

  venueCount(venue: string): number {
    return this.venueInflight.get(venue) ?? 0;
  }

  symbolCount(symbol: string): number {
    return this.symbolInflight.get(symbol) ?? 0;
  }

  /** Signed quantity of `symbol` in flight (not yet filled). */
  pendingQty(symbol: string): number {
    return this.symbolPending.get(symbol) ?? 0;
  }

  holds(clientId: string): boolean {
    return this.slots.has(clientId);
  }

  /** Room for one more order of `symbol` under the global and per-symbol caps. */
  hasRoom(symbol: string, caps: ConcurrencyConfig): boolean {
    return this.inflight < caps.globalMaxInflight && this.symbolCount(symbol) < caps.perSymbolMaxInflight;
  }

  /** How many more orders of `symbol` the global and per-symbol caps allow (may be negative). */
  room(symbol: string, caps: ConcurrencyConfig): number {
    return Math.min(caps.globalMaxInflight - this.inflight, caps.perSymbolMaxInflight - this.symbolCount(symbol));
  }

  /** Positions plus what is in flight, plus `extraQty` of `symbol` and `extraGross` not yet in flight. */
  exposure(book: PositionBook, symbol: string, extraQty = 0, extraGross = 0): RiskExposure {
    return {
      symbolQty: book.net(symbol) + this.pendingQty(symbol) + extraQty,
      grossNotional: book.grossNotional() + this.pendingNotional + extraGross,
      inflightNotional: this.pendingNotional + extraGross,
    };
  }

  /** An open order takes its slot, valued at `px` (the worse of its limit and mid). No-op if held. */
  take(o: SlotOrder, px: number): void {
    if (this.slots.has(o.clientId)) return;
    this.slots.add(o.clientId);
    this.inflight++;
    this.venueInflight.set(o.venue, (this.venueInflight.get(o.venue) ?? 0) + 1);
    this.symbolInflight.set(o.symbol, (this.symbolInflight.get(o.symbol) ?? 0) + 1);
    const rem = o.side === Side.SELL ? -o.remaining : o.remaining;
    this.symbolPending.set(o.symbol, (this.symbolPending.get(o.symbol) ?? 0) + rem);
    this.pendingPx.set(o.clientId, px);
    this.pendingNotional += o.remaining * px;
  }

  /** A finished order gives its slot back; false when it held none. */
  release(o: SlotOrder): boolean {
    if (!this.slots.delete(o.clientId)) return false;
    this.inflight--;
    this.venueInflight.set(o.venue, (this.venueInflight.get(o.venue) ?? 1) - 1);
    this.symbolInflight.set(o.symbol, (this.symbolInflight.get(o.symbol) ?? 1) - 1);
    const rem = o.side === Side.SELL ? -o.remaining : o.remaining;
    this.symbolPending.set(o.symbol, (this.symbolPending.get(o.symbol) ?? 0) - rem);
    this.pendingNotional -= o.remaining * (this.pendingPx.get(o.clientId) ?? 0);
    this.pendingPx.delete(o.clientId);
    // Nothing in flight: drop the floating-point residue of the running sum.
    if (this.inflight === 0 || this.pendingNotional < 0) this.pendingNotional = 0;
    return true;
  }

  /** `qty` of a slot-holding order filled: it is a position now, no longer in flight. */
  filled(o: SlotOrder, qty: number): void {
    if (!this.slots.has(o.clientId)) return;
    const signed = o.side === Side.SELL ? -qty : qty;
    this.symbolPending.set(o.symbol, (this.symbolPending.get(o.symbol) ?? 0) - signed);
    this.pendingNotional = Math.max(0, this.pendingNotional - qty * (this.pendingPx.get(o.clientId) ?? 0));
  }

  /**
   * The venue took a new size for `o` (replace): `resize` applies it to the order, and the in-flight
   * exposure follows exactly when the order holds a slot.
   */
  resized(o: SlotOrder, resize: () => void): void {
    if (!this.slots.has(o.clientId)) return resize();
    const before = o.side === Side.SELL ? -o.remaining : o.remaining;
    resize();
    const after = o.side === Side.SELL ? -o.remaining : o.remaining;
    this.symbolPending.set(o.symbol, (this.symbolPending.get(o.symbol) ?? 0) + after - before);
    this.pendingNotional = Math.max(0, this.pendingNotional + (Math.abs(after) - Math.abs(before)) * (this.pendingPx.get(o.clientId) ?? 0));
  }

  /** Hold (+1) or give back (−1) a slot for an order still waiting on risk.check. */
  reserve(venue: string, symbol: string, d: 1 | -1, notional: number): void {
    this.pendingNotional = Math.max(0, this.pendingNotional + d * notional);
    this.inflight += d;
    this.venueInflight.set(venue, (this.venueInflight.get(venue) ?? 0) + d);
    this.symbolInflight.set(symbol, (this.symbolInflight.get(symbol) ?? 0) + d);
  }
}
