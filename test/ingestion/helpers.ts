import { TickFlag, VENUE_IDS, type NormalizedTick, type VenueName } from '../../src/contracts/market.js';
import type { TickSink } from '../../src/ingestion/types.js';

const BASE_NS = 1_723_100_000_000_000_000n;

/** A valid top-of-book tick; `i` drives sequence and time (1 ms apart, 2 ms receive latency). */
export function tick(i: number, over: Partial<NormalizedTick> = {}): NormalizedTick {
  const venue: VenueName = over.venue ?? 'binance';
  const exch = BASE_NS + BigInt(i) * 1_000_000n;
  return {
    exchTsNs: exch,
    recvTsNs: exch + 2_000_000n,
    venueId: VENUE_IDS[venue],
    symbolId: 1,
    venue,
    symbol: 'BTC-USDT',
    bid: 60_000 + (i % 7),
    ask: 60_000.5 + (i % 7),
    bidSize: 1.5,
    askSize: 2.5,
    sequence: BigInt(i),
    flags: TickFlag.NONE,
    lastPx: 0,
    lastQty: 0,
    aggressor: 0,
    ...over,
  };
}

/** Sink that copies what it receives (ingestion owns the tick object). */
export class CollectingSink implements TickSink {
  readonly name = 'collect';
  readonly ticks: NormalizedTick[] = [];
  push(t: NormalizedTick): void {
    this.ticks.push({ ...t });
  }
}
