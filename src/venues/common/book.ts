/**
 * Price-level order book shared by adapters and simulators.
 *
 * Each side keeps its prices in a Float64Array sorted worst → best (the best price last), with an
 * Int32Array of slots in the same order pointing into an array of level objects that never moves. Updates cluster near the touch, so with the best price at the end an
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
  /**
   * The owning venue's checksum contribution of this level (`crc32Update(0, <its level string>)`)
   * and that string's length, cached by checksum.ts; ckLen -1: not computed since the level last
   * changed. A book belongs to one venue, so one level-string format.
   */
  ck: number;
  ckLen: number;
}

export class BookSide {
  /** Prices sorted worst → best, and in the same order the slot of each price's level. */
  private prices = new Float64Array(64);
  private slotAt = new Int32Array(64);
  private n = 0;
  /** Level objects by slot: never moved, so an insert or delete only memmoves the two typed arrays. */
  private readonly bySlot: Array<Level | undefined> = [];
  /** Slots freed by deletes, reused by inserts (a reused slot gets a new Level object). */
  private free = new Int32Array(64);
  private nFree = 0;

  /** bids: best = highest; asks: best = lowest. */
  constructor(readonly descending: boolean) {}

  /** Storage index where `px` is or would be inserted. */
  private lowerBound(px: number): number {
    let lo = 0;
    let hi = this.n;
    const p = this.prices;
    if (this.descending) {
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (p[mid]! < px) lo = mid + 1;
        else hi = mid;
      }
    } else {
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (p[mid]! > px) lo = mid + 1;
        else hi = mid;
      }
    }
    return lo;
  }

  private releaseSlot(slot: number): void {
    this.bySlot[slot] = undefined;
    if (this.nFree === this.free.length) {
      const grown = new Int32Array(this.free.length * 2);
      grown.set(this.free);
      this.free = grown;
    }
    this.free[this.nFree++] = slot;
  }

  /**
   * Sets a level; quantity 0 deletes it (every venue here uses 0 for delete). The level is found by
   * binary search over the typed price array (no Map keyed by a double: each lookup boxed the price),
   * and inserts and deletes move only doubles and int32s (a memmove, no write barriers), wherever in
   * the book they land: Binance diffs touch levels hundreds deep.
   */
  set(px: number, qty: number, pxStr: string, qtyStr: string): void {
    const n = this.n;
    const i = this.lowerBound(px);
    const found = i < n && this.prices[i] === px;
    if (qty === 0) {
      if (!found) return;
      this.releaseSlot(this.slotAt[i]!);
      this.prices.copyWithin(i, i + 1, n);
      this.slotAt.copyWithin(i, i + 1, n);
      this.n = n - 1;
      return;
    }
    if (found) {
      const l = this.bySlot[this.slotAt[i]!]!;
      l.qty = qty;
      l.qtyStr = qtyStr;
      l.pxStr = pxStr;
      l.ckLen = -1;
      return;
    }
    if (n === this.prices.length) {
      const grownP = new Float64Array(n * 2);
      grownP.set(this.prices);
      this.prices = grownP;
      const grownS = new Int32Array(n * 2);
      grownS.set(this.slotAt);
      this.slotAt = grownS;
    }
    const slot = this.nFree > 0 ? this.free[--this.nFree]! : this.bySlot.length;
    const l: Level = { px, qty, pxStr, qtyStr, ck: 0, ckLen: -1 };
    if (slot === this.bySlot.length) this.bySlot.push(l);
    else this.bySlot[slot] = l;
    this.prices.copyWithin(i + 1, i, n);
    this.slotAt.copyWithin(i + 1, i, n);
    this.prices[i] = px;
    this.slotAt[i] = slot;
    this.n = n + 1;
  }

  /**
   * `set` with the strings given as ranges of `text`, sliced only when kept: a delete keeps none, and
   * an update whose price string equals the stored one keeps the stored one (same content).
   */
  setFromText(px: number, qty: number, text: string, pxStart: number, pxEnd: number, qtyStart: number, qtyEnd: number): void {
    if (qty !== 0) {
      const i = this.lowerBound(px);
      if (i < this.n && this.prices[i] === px) {
        const l = this.bySlot[this.slotAt[i]!]!;
        l.qty = qty;
        l.qtyStr = text.slice(qtyStart, qtyEnd);
        if (l.pxStr.length !== pxEnd - pxStart || !text.startsWith(l.pxStr, pxStart)) l.pxStr = text.slice(pxStart, pxEnd);
        l.ckLen = -1;
        return;
      }
      this.set(px, qty, text.slice(pxStart, pxEnd), text.slice(qtyStart, qtyEnd));
      return;
    }
    this.set(px, 0, '', '');
  }

  get(px: number): Level | undefined {
    const i = this.lowerBound(px);
    return i < this.n && this.prices[i] === px ? this.bySlot[this.slotAt[i]!] : undefined;
  }

  /** The i-th best level (0 = best). */
  at(i: number): Level | undefined {
    return i < this.n ? this.bySlot[this.slotAt[this.n - 1 - i]!] : undefined;
  }

  best(): Level | undefined {
    return this.n > 0 ? this.bySlot[this.slotAt[this.n - 1]!] : undefined;
  }

  /** The best `depth` levels, best first (a new array; the levels themselves are live). */
  top(depth: number = this.n): Level[] {
    const out: Level[] = [];
    for (let i = 0; i < depth && i < this.n; i++) out.push(this.bySlot[this.slotAt[this.n - 1 - i]!]!);
    return out;
  }

  /** Keeps only the best `depth` levels. */
  truncate(depth: number): void {
    if (this.n <= depth) return;
    const drop = this.n - depth;
    for (let i = 0; i < drop; i++) this.releaseSlot(this.slotAt[i]!);
    this.prices.copyWithin(0, drop, this.n);
    this.slotAt.copyWithin(0, drop, this.n);
    this.n = depth;
  }

  clear(): void {
    this.n = 0;
    this.nFree = 0;
    this.bySlot.length = 0;
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
