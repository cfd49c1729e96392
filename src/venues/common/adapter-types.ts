/**
 * The contract between market-data adapters (src/venues/{kraken,binance,okx}/market-data.ts) and their consumers
 * (ingestion). Kept small and stable: ingestion only needs `MarketDataSink`, `SymbolMapping` and
 * `MarketDataAdapter`.
 */
import type { Bus } from '../../bus/bus.js';
import type { Clock } from '../../clock/clock.js';
import type { NormalizedTick, VenueName } from '../../contracts/market.js';
import type { Namespace } from '../../contracts/subjects.js';
import type { MarketDataEvent } from '../../contracts/gen/kestrel/v1/market_pb.js';
import { KestrelError } from '../../contracts/errors.js';

/** One tradable instrument on one venue, as reference data knows it. */
export interface SymbolMapping {
  /** The venue's own spelling: `BTC/USD` (Kraken v2), `BTCUSDT` (Binance), `BTC-USDT` (OKX). */
  venueSymbol: string;
  /** Canonical symbol, e.g. `BTC-USDT`, `BTC-USD`. */
  symbol: string;
  /** Numeric id from reference data (u32 in ring records). */
  symbolId: number;
  /**
   * Price/quantity decimals the venue publishes for this instrument. Kraken's CRC32 formats levels at
   * these precisions; when absent the Kraken adapter takes them from the first snapshot's strings.
   */
  pricePrecision?: number;
  qtyPrecision?: number;
}

/** Kinds of data-quality events (MarketDataEvent.kind). */
export type MarketDataEventKind = 'gap' | 'crossed' | 'stale' | 'skew' | 'checksum' | 'resync' | 'parse' | 'disconnect' | 'duplicate';

/**
 * Where an adapter delivers its output. Called synchronously on the adapter's event loop turn; a
 * sink must not throw (an exception is caught, counted and logged, never propagated to the socket).
 */
export interface MarketDataSink {
  /**
   * Top of book after every book update that changed the touch, and every trade (flags has
   * TickFlag.TRADE). Only ticks from a book whose integrity checks passed are ever delivered.
   */
  onTick(tick: NormalizedTick): void;
  /** Gaps, checksum failures, crossed/stale/skewed data, resyncs, parse errors, disconnects, replayed trades. */
  onEvent?(event: MarketDataEvent): void;
}

/** Per-adapter counters, also exported as Prometheus metrics and in VenueHealth. */
export interface AdapterStats {
  venue: VenueName;
  connected: boolean;
  messages: number;
  ticks: number;
  trades: number;
  parseErrors: number;
  gaps: number;
  checksumFailures: number;
  crossed: number;
  /**
   * Messages dropped as duplicates or replays: trades whose venue trade id is not above the last one
   * delivered, book updates whose sequence (or, on Kraken, content and timestamp) was already applied.
   */
  replays: number;
  stale: number;
  skewed: number;
  resyncs: number;
  reconnects: number;
  /** Ticks withheld because the book was not (yet) in sync. */
  suppressed: number;
  /** Streams declared stalled by the watchdog (no message for stallTimeoutMs). */
  stalls: number;
  /** Connection attempts, the first included. */
  connects: number;
  lastMessageNs: bigint;
  lastHeartbeatNs: bigint;
}

/** Reconnect policy: exponential backoff with full jitter, capped, plus a per-window connect budget. */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  multiplier: number;
  /** At most this many connection attempts in any `windowMs` (the venue's connection rate limit). */
  maxAttemptsPerWindow: number;
  windowMs: number;
}

export interface AdapterOptions {
  /** WebSocket URL (a simulator's `wsUrl` in tests and the default session). */
  url: string;
  symbols: readonly SymbolMapping[];
  sink: MarketDataSink;
  /** Receipt stamps, staleness, backoff and snapshot pacing: the owner's clock (virtual in a replay). */
  clock: Clock;
  /** When given, the adapter publishes md.health.{venue} and venue.health.{venue} (VenueHealth) on it. */
  bus?: Bus;
  namespace?: Namespace;
  /** Health publication period; SPEC says every 1 s. */
  healthIntervalMs?: number;
  reconnect?: Partial<BackoffPolicy>;
  /** A tick whose exchange timestamp is older than recv by more than this is flagged STALE. */
  staleAfterMs?: number;
  /** Exchange timestamp ahead of receive time by more than this is flagged SKEW. */
  maxSkewMs?: number;
  /** No message for this long counts as a stalled stream: the adapter reconnects. */
  stallTimeoutMs?: number;
}

export interface MarketDataAdapter {
  readonly venue: VenueName;
  /** Connects and subscribes; resolves when the first connection is open and subscriptions are sent. */
  start(): Promise<void>;
  /** Closes the socket and timers; no callback fires after it resolves. */
  stop(): Promise<void>;
  stats(): AdapterStats;
}

/** Typed parse failure: the raw message was malformed or not what the venue's protocol allows. */
export class VenueParseError extends KestrelError {
  override readonly name = 'VenueParseError';
  constructor(
    readonly venue: VenueName,
    readonly reason: string,
    readonly raw: string,
  ) {
    super('VENUE_PARSE', `${venue}: ${reason}`);
  }
}
