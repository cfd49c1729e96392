/**
 * The canonical in-memory tick used between adapters, ingestion and the rings. It is a plain object
 * (not the protobuf message) because the hot path never serializes; `toProto`/`fromProto` convert
 * at the NATS edge.
 */
import { create } from '@bufbuild/protobuf';
import { TickFlag, TickSchema, type Tick as TickMessage } from './gen/kestrel/v1/market_pb.js';

export { TickFlag };

export interface NormalizedTick {
  exchTsNs: bigint;
  recvTsNs: bigint;
  venueId: number;
  symbolId: number;
  venue: VenueName;
  /** Canonical symbol, e.g. BTC-USDT. */
  symbol: string;
  bid: number;
  ask: number;
  bidSize: number;
  askSize: number;
  /** Per (venue, symbol) monotonically increasing sequence assigned by the adapter/venue. */
  sequence: bigint;
  /** TickFlag bits. */
  flags: number;
  /** Trade fields when flags has TICK_FLAG_TRADE; otherwise 0. */
  lastPx: number;
  lastQty: number;
  /** +1 buyer-initiated trade, -1 seller-initiated, 0 none. */
  aggressor: -1 | 0 | 1;
}

export const VENUES = ['binance', 'kraken', 'okx'] as const;
export type VenueName = (typeof VENUES)[number];

/** Stable numeric venue ids used in ring records (u16). */
export const VENUE_IDS: Readonly<Record<VenueName, number>> = { binance: 1, kraken: 2, okx: 3 };

export function isVenue(v: string): v is VenueName {
  return (VENUES as readonly string[]).includes(v);
}

export function toProto(t: NormalizedTick): TickMessage {
  return create(TickSchema, {
    exchTsNs: t.exchTsNs,
    recvTsNs: t.recvTsNs,
    venueId: t.venueId,
    symbolId: t.symbolId,
    venue: t.venue,
    symbol: t.symbol,
    bid: t.bid,
    ask: t.ask,
    bidSize: t.bidSize,
    askSize: t.askSize,
    sequence: t.sequence,
    flags: t.flags,
    lastPx: t.lastPx,
    lastQty: t.lastQty,
    aggressor: t.aggressor,
  });
}

export function fromProto(m: TickMessage): NormalizedTick {
  if (!isVenue(m.venue)) throw new RangeError(`unknown venue in tick: ${m.venue}`);
  const aggressor = m.aggressor > 0 ? 1 : m.aggressor < 0 ? -1 : 0;
  return {
    exchTsNs: m.exchTsNs,
    recvTsNs: m.recvTsNs,
    venueId: m.venueId,
    symbolId: m.symbolId,
    venue: m.venue,
    symbol: m.symbol,
    bid: m.bid,
    ask: m.ask,
    bidSize: m.bidSize,
    askSize: m.askSize,
    sequence: m.sequence,
    flags: m.flags,
    lastPx: m.lastPx,
    lastQty: m.lastQty,
    aggressor,
  };
}
