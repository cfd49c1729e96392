/**
 * Feeds a matching engine (or a simulated private venue) from the real captures via the
 * market-data helper's loaders (src/simulators/recordings.ts). Binance: depth snapshot + diff
 * updates rebuild the book, bookTicker refreshes the touch, trades become prints (`m` = buyer is
 * maker, so the seller was the aggressor). Kraken: v2 book snapshot + updates (depth 10). OKX:
 * books snapshot/updates and trades of one instrument.
 */
import { monotonicNs } from '../../clock/monotonic.js';
import {
  binanceCapture,
  loadKrakenBookCapture,
  loadOkxRecording,
  type BinanceLevel,
  type BinanceRecord,
  type KrakenBookMessage,
  type OkxRecord,
} from '../recordings.js';
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

/** Replays the real Kraken v2 book capture (BTC/USD, depth 10) into the sink as `symbol`. */
export class KrakenReplayFeeder {
  private readonly bids = new SortedSide(true);
  private readonly asks = new SortedSide(false);

  constructor(
    private readonly sink: BookSink,
    private readonly symbol = 'BTC-USD',
    private readonly depth = 10,
  ) {}

  onMessage(m: KrakenBookMessage): void {
    for (const d of m.data) {
      if (m.type === 'snapshot') {
        this.bids.clear();
        this.asks.clear();
      }
      for (const l of d.bids) this.bids.set(l.price, l.qty);
      for (const l of d.asks) this.asks.set(l.price, l.qty);
      // Kraken keeps the subscribed depth: levels pushed out of the top are dropped by the client.
      this.bids.levels.length = Math.min(this.bids.levels.length, this.depth);
      this.asks.levels.length = Math.min(this.asks.levels.length, this.depth);
    }
    if (this.bids.levels.length > 0 && this.asks.levels.length > 0)
      this.sink.book(this.symbol, this.bids.top(this.depth), this.asks.top(this.depth));
  }

  /** All records in order (snapshot first); `pace` may delay between records. */
  async replay(pace?: (recvNs: bigint) => Promise<void>, file?: string): Promise<number> {
    const cap = await loadKrakenBookCapture(...(file ? [file] : []));
    let n = 0;
    for (const r of [cap.snapshot, ...cap.updates]) {
      if (pace) await pace(r.recvNs);
      this.onMessage(r.message);
      n++;
    }
    return n;
  }
}

/** Replays one instrument of the real OKX recording (books + trades) into the sink. */
export class OkxReplayFeeder {
  private readonly bids = new SortedSide(true);
  private readonly asks = new SortedSide(false);
  private synced = false;

  constructor(
    private readonly sink: BookSink,
    private readonly instId = 'BTC-USDT',
    private readonly symbol = 'BTC-USDT',
    private readonly depth = 20,
  ) {}

  onRecord(r: OkxRecord): void {
    if (r.instId !== this.instId) return;
    if (r.kind === 'books') {
      if (r.action === 'snapshot') {
        this.bids.clear();
        this.asks.clear();
        this.synced = true;
      }
      for (const [p, q] of r.data.bids) this.bids.set(Number(p), Number(q));
      for (const [p, q] of r.data.asks) this.asks.set(Number(p), Number(q));
      if (this.synced && this.bids.levels.length > 0 && this.asks.levels.length > 0)
        this.sink.book(this.symbol, this.bids.top(this.depth), this.asks.top(this.depth));
    } else if (r.kind === 'trades' && this.synced) {
      // OKX `side` is the taker's side.
      this.sink.trade(this.symbol, Number(r.data.px), Number(r.data.sz), r.data.side);
    }
  }

  async replay(pace?: (recvNs: bigint) => Promise<void>, file?: string): Promise<number> {
    let n = 0;
    for (const r of await loadOkxRecording(...(file ? [file] : []))) {
      if (r.instId !== this.instId) continue;
      if (pace) await pace(r.recvNs);
      this.onRecord(r);
      n++;
    }
    return n;
  }
}

/** A pacer for replays: waits so records are applied at `speed` times their recorded spacing. */
export function pacer(speed: number): (recvNs: bigint) => Promise<void> {
  let first: bigint | undefined;
  const t0 = monotonicNs();
  return async (recvNs) => {
    if (speed <= 0) return;
    first ??= recvNs;
    const lagNs = Number(recvNs - first) / speed - Number(monotonicNs() - t0);
    if (lagNs > 1e6) await new Promise((r) => setTimeout(r, lagNs / 1e6));
  };
}
