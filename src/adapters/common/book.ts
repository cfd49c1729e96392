/**
 * Price-level order book shared by adapters and simulators.
 *
 * Each side keeps its prices in a Float64Array sorted worst → best (the best price last) and the
 * levels in a Map by price. Updates cluster near the touch, so with the best price at the end an
 * insert or delete moves only the few prices better than it, and moving doubles in a typed array is a
 * plain memmove: measured on the Binance capture, a sorted array of level objects best-first spent
 * most of its time in Array.prototype.splice write barriers. Levels keep the venue's original strings
 * because OKX checksums them verbatim.
 */

export interface Level {
  px: number;
  qty: number;
  /** Price and quantity exactly as the venue sent them. */
  pxStr: string;
  qtyStr: string;
}

export class BookSide {
  private prices = new Float64Array(64);
  private n = 0;
  private readonly byPx = new Map<number, Level>();

  /** bids: best = highest; asks: best = lowest. */
  constructor(readonly descending: boolean) {}

  /** Storage order is worst → best: ascending prices for bids, descending for asks. */
  private before(a: number, b: number): boolean {
    return this.descending ? a < b : a > b;
  }

  /** Storage index where `px` is or would be inserted. */
  private lowerBound(px: number): number {
    let lo = 0;
    let hi = this.n;
    const p = this.prices;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.before(p[mid]!, px)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Sets a level; quantity 0 deletes it (every venue here uses 0 for delete). */
  set(px: number, qty: number, pxStr: string, qtyStr: string): void {
    const l = this.byPx.get(px);
    if (qty === 0) {
      if (l === undefined) return;
      this.byPx.delete(px);
      const i = this.lowerBound(px);
      this.prices.copyWithin(i, i + 1, this.n);
      this.n--;
      return;
    }
    if (l !== undefined) {
      l.qty = qty;
      l.qtyStr = qtyStr;
      l.pxStr = pxStr;
      return;
    }
    if (this.n === this.prices.length) {
      const grown = new Float64Array(this.prices.length * 2);
      grown.set(this.prices);
      this.prices = grown;
    }
    const i = this.lowerBound(px);
    this.prices.copyWithin(i + 1, i, this.n);
    this.prices[i] = px;
    this.n++;
    this.byPx.set(px, { px, qty, pxStr, qtyStr });
  }

  get(px: number): Level | undefined {
    return this.byPx.get(px);
  }

  /** The i-th best level (0 = best). */
  at(i: number): Level | undefined {
    return i < this.n ? this.byPx.get(this.prices[this.n - 1 - i]!) : undefined;
  }

  best(): Level | undefined {
    return this.n > 0 ? this.byPx.get(this.prices[this.n - 1]!) : undefined;
  }

  /** The best `depth` levels, best first (a new array; the levels themselves are live). */
  top(depth: number = this.n): Level[] {
    const out: Level[] = [];
    for (let i = 0; i < depth && i < this.n; i++) out.push(this.byPx.get(this.prices[this.n - 1 - i]!)!);
    return out;
  }

  /** Keeps only the best `depth` levels. */
  truncate(depth: number): void {
    if (this.n <= depth) return;
    const drop = this.n - depth;
    for (let i = 0; i < drop; i++) this.byPx.delete(this.prices[i]!);
    this.prices.copyWithin(0, drop, this.n);
    this.n = depth;
  }

  clear(): void {
    this.n = 0;
    this.byPx.clear();
  }

  get size(): number {
    return this.n;
  }
}

export class OrderBook {
  readonly bids = new BookSide(true);
  readonly asks = new BookSide(false);

  clear(): void {
    this.bids.clear();
    this.asks.clear();
  }

  /** Best bid at or above best ask: a book no venue may publish. */
  isCrossed(): boolean {
    const b = this.bids.best();
    const a = this.asks.best();
    return b !== undefined && a !== undefined && b.px >= a.px;
  }

  clone(): OrderBook {
    const c = new OrderBook();
    // Insert worst → best so every insert lands at the end (no moves).
    const bids = this.bids.top();
    const asks = this.asks.top();
    for (let i = bids.length - 1; i >= 0; i--) c.bids.set(bids[i]!.px, bids[i]!.qty, bids[i]!.pxStr, bids[i]!.qtyStr);
    for (let i = asks.length - 1; i >= 0; i--) c.asks.set(asks[i]!.px, asks[i]!.qty, asks[i]!.pxStr, asks[i]!.qtyStr);
    return c;
  }
}
