/**
 * Feeds a matching engine (or a simulated private venue) from the real Binance capture via the
 * market-data helper's loader: depth snapshot + diff updates rebuild the book, bookTicker refreshes
 * the touch, trades become prints (Binance `m` = buyer is maker, so the seller was the aggressor).
 */
import { binanceCapture, type BinanceLevel, type BinanceRecord } from '../recordings.js';
import type { Level, Side } from './engine.js';

export interface BookSink {
  book(symbol: string, bids: readonly Level[], asks: readonly Level[]): void;
  trade(symbol: string, price: number, qty: number, aggressor: Side): void;
}

/** One side of a price-level book kept sorted best-first, updated by binary search. */
export class SortedSide {
  readonly levels: Array<[number, number]> = [];
  constructor(private readonly descending: boolean) {}

  private find(price: number): { found: boolean; index: number } {
    let lo = 0;
    let hi = this.levels.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const p = this.levels[mid]![0];
      if (p === price) return { found: true, index: mid };
      if (this.descending ? p > price : p < price) lo = mid + 1;
      else hi = mid;
    }
    return { found: false, index: lo };
  }

  set(price: number, qty: number): void {
    const { found, index } = this.find(price);
    if (qty <= 0) {
      if (found) this.levels.splice(index, 1);
    } else if (found) this.levels[index]![1] = qty;
    else this.levels.splice(index, 0, [price, qty]);
  }

  /** Drop levels better than `price` (a fresher touch says they are gone). */
  trimBetterThan(price: number): void {
    let n = 0;
    while (n < this.levels.length && (this.descending ? this.levels[n]![0] > price : this.levels[n]![0] < price)) n++;
    if (n > 0) this.levels.splice(0, n);
  }

  clear(): void {
    this.levels.length = 0;
  }

  top(n: number): Level[] {
    return this.levels.slice(0, n).map((l) => [l[0], l[1]] as const);
  }
}

/** Applies Binance capture records to a book and forwards book/trade events to the sink. */
export class BinanceReplayFeeder {
  private readonly bids = new SortedSide(true);
  private readonly asks = new SortedSide(false);
  private synced = false;

  constructor(
    private readonly sink: BookSink,
    /** Canonical symbol the capture's BTCUSDT maps to. */
    private readonly symbol = 'BTC-USDT',
    private readonly depth = 20,
  ) {}

  private apply(side: SortedSide, levels: readonly BinanceLevel[]): void {
    for (const [p, q] of levels) side.set(Number(p), Number(q));
  }

  private emitBook(): void {
    if (this.synced && this.bids.levels.length > 0 && this.asks.levels.length > 0)
      this.sink.book(this.symbol, this.bids.top(this.depth), this.asks.top(this.depth));
  }

  onRecord(r: BinanceRecord): void {
    switch (r.kind) {
      case 'snapshot':
        this.bids.clear();
        this.asks.clear();
        this.apply(this.bids, r.data.bids);
        this.apply(this.asks, r.data.asks);
        this.synced = true;
        this.emitBook();
        return;
      case 'depth':
        this.apply(this.bids, r.data.b);
        this.apply(this.asks, r.data.a);
        this.emitBook();
        return;
      case 'bookTicker': {
        const b = Number(r.data.b);
        const a = Number(r.data.a);
        this.bids.trimBetterThan(b);
        this.asks.trimBetterThan(a);
        this.bids.set(b, Number(r.data.B));
        this.asks.set(a, Number(r.data.A));
        this.emitBook();
        return;
      }
      case 'trade':
        if (this.synced) this.sink.trade(this.symbol, Number(r.data.p), Number(r.data.q), r.data.m ? 'sell' : 'buy');
        return;
    }
  }

  /** Replay up to `maxRecords` records of the capture (all when 0). Returns how many were applied. */
  async replay(maxRecords = 0, file?: string): Promise<number> {
    let n = 0;
    for await (const r of file ? binanceCapture(file) : binanceCapture()) {
      this.onRecord(r);
      if (++n === maxRecords) break;
    }
    return n;
  }
}
