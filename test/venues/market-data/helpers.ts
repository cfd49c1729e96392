/** Test helpers for adapter ⇄ simulator runs: a recording sink and bounded polling. */
import type { MarketDataEvent } from '../../../src/contracts/gen/kestrel/v1/market_pb.js';
import { TickFlag, type NormalizedTick } from '../../../src/contracts/market.js';
import type { OrderBook } from '../../../src/venues/common/book.js';
import type { MarketDataSink } from '../../../src/venues/common/adapter-types.js';

export class CollectingSink implements MarketDataSink {
  readonly ticks: NormalizedTick[] = [];
  readonly events: MarketDataEvent[] = [];
  onTick(t: NormalizedTick): void {
    this.ticks.push(t);
  }
  onEvent(e: MarketDataEvent): void {
    this.events.push(e);
  }
  quotes(): NormalizedTick[] {
    return this.ticks.filter((t) => (t.flags & TickFlag.TRADE) === 0);
  }
  trades(): NormalizedTick[] {
    return this.ticks.filter((t) => (t.flags & TickFlag.TRADE) !== 0);
  }
  eventKinds(kind: string): MarketDataEvent[] {
    return this.events.filter((e) => e.kind === kind);
  }
}

export function touchKey(bid: number, bidSz: number, ask: number, askSz: number): string {
  return `${bid}|${bidSz}|${ask}|${askSz}`;
}

export function bookTouchKey(b: OrderBook): string {
  const bb = b.bids.best();
  const ba = b.asks.best();
  return touchKey(bb?.px ?? 0, bb?.qty ?? 0, ba?.px ?? 0, ba?.qty ?? 0);
}

/** Same levels (price and quantity) on both sides. */
export function sameBook(a: OrderBook, b: OrderBook, depth = Infinity): boolean {
  const eq = (x: OrderBook['bids'], y: OrderBook['bids']) => {
    const n = Math.min(depth, Math.max(x.size, y.size));
    if (Math.min(x.size, depth) !== Math.min(y.size, depth)) return false;
    for (let i = 0; i < n; i++) if (x.at(i)!.px !== y.at(i)!.px || x.at(i)!.qty !== y.at(i)!.qty) return false;
    return true;
  };
  return eq(a.bids, b.bids) && eq(a.asks, b.asks);
}
