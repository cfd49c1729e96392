/**
 * Price-level order book shared by adapters and simulators. Each side is an array sorted best-first,
 * searched by binary search: books here are at most a few thousand levels and the touch is read after
 * every update, so a sorted array beats a tree on both counts. Levels keep the venue's original
 * strings because OKX checksums them verbatim.
 */

export interface Level {
  px: number;
  qty: number;
  /** Price and quantity exactly as the venue sent them. */
  pxStr: string;
  qtyStr: string;
}

export class BookSide {
  readonly levels: Level[] = [];

  /** bids: descending (best = highest); asks: ascending (best = lowest). */
  constructor(readonly descending: boolean) {}

  /** Index of `px`, or -(insertionPoint + 1) when absent. */
  private find(px: number): number {
    const a = this.levels;
    let lo = 0;
    let hi = a.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const p = a[mid]!.px;
      if (p === px) return mid;
      const before = this.descending ? p > px : p < px;
      if (before) lo = mid + 1;
      else hi = mid - 1;
    }
    return -(lo + 1);
  }

  /** Sets a level; quantity 0 deletes it (every venue here uses 0 for delete). */
  set(px: number, qty: number, pxStr: string, qtyStr: string): void {
    const i = this.find(px);
    if (qty === 0) {
      if (i >= 0) this.levels.splice(i, 1);
      return;
    }
    if (i >= 0) {
      const l = this.levels[i]!;
      l.qty = qty;
      l.qtyStr = qtyStr;
      l.pxStr = pxStr;
    } else {
      this.levels.splice(-i - 1, 0, { px, qty, pxStr, qtyStr });
    }
  }

  get(px: number): Level | undefined {
    const i = this.find(px);
    return i >= 0 ? this.levels[i] : undefined;
  }

  best(): Level | undefined {
    return this.levels[0];
  }

  truncate(depth: number): void {
    if (this.levels.length > depth) this.levels.length = depth;
  }

  clear(): void {
    this.levels.length = 0;
  }

  get size(): number {
    return this.levels.length;
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
    for (const l of this.bids.levels) c.bids.levels.push({ ...l });
    for (const l of this.asks.levels) c.asks.levels.push({ ...l });
    return c;
  }
}
