/**
 * Public types of the ingestion service: where accepted ticks go (TickSink), the quality-gate and
 * actor options (typed, with defaults; the config loader maps YAML keys onto them), and the drop
 * reasons every counter is labelled with.
 */
import type { NormalizedTick, VenueName } from '../contracts/market.js';
import { KestrelError } from '../contracts/errors.js';

/**
 * Receives every tick that passed the quality gates, in per-(venue, symbol) order. Called
 * synchronously on the ingestion actor's turn: it must not block and must not keep the object (the
 * tick is owned by ingestion; copy what you need). The shared-memory ring writer, the ClickHouse
 * writer and the capture recorder all implement it.
 */
export interface TickSink {
  readonly name: string;
  push(tick: NormalizedTick): void;
}

/** How a venue's `NormalizedTick.sequence` advances, which decides what counts as a gap. */
export type SequenceMode =
  /** next = previous + 1; anything larger is a gap (adapter-assigned sequences). */
  | 'contiguous'
  /** must increase; jumps are not gaps (venue update ids that skip, e.g. Binance bookTicker). */
  | 'monotonic'
  /** no sequence check. */
  | 'off';

/** Per-symbol limits from reference data (sql/003_market_data_bounds.sql); see `QualityOptions.bounds`. */
export interface MarketDataBounds {
  /** Largest single trade accepted, in base units. */
  maxTradeQty: number;
  /** Largest touch size (bid or ask size) accepted, in base units. */
  maxLevelQty: number;
  /** Largest distance of any price (bid, ask, trade) from the symbol's reference mark, in basis points. */
  maxMarkDeviationBps: number;
}

export interface QualityOptions {
  /** Drop a tick when recv_ts - exch_ts exceeds this (SPEC staleness_threshold_ms). */
  stalenessMs: number;
  /** Anomaly (md.anomaly, counted, tick kept) when (ask - bid) / mid * 100 exceeds this. */
  maxSpreadPct: number;
  /** Flag SKEW (tick kept) when |recv_ts - exch_ts| exceeds this, in either direction. */
  maxTimeSkewMs: number;
  /** Drop when bid > ask * (1 + tolerance); ask < bid <= ask * (1 + tolerance) is kept, flagged CROSSED. */
  crossedTolerance: number;
  /** Sequence semantics per venue; venues not listed use `defaultSequenceMode`. */
  sequenceMode: Partial<Record<VenueName, SequenceMode>>;
  defaultSequenceMode: SequenceMode;
  /** At most one md.anomaly event per (venue, symbol, kind) per this many ms; the rest are counted. */
  anomalyEventIntervalMs: number;
  /**
   * A stream quarantined after a gap waits this long (in tick time) for the adapter's resync, then
   * restarts from the next full top-of-book tick flagged RESYNC|GAP. 0 = wait for the adapter forever.
   */
  quarantineMaxMs: number;
  /**
   * Bounds per canonical symbol, from reference data. A tick outside them is dropped as
   * `out_of_bounds` with an md.anomaly event. Symbols not listed are not bounded.
   */
  bounds: Readonly<Record<string, MarketDataBounds>>;
  /**
   * The reference mark a price is bounded against is the stream's (venue, symbol) last accepted price.
   * Once it is older than this (tick time) it bounds nothing and the next valid tick becomes the new
   * reference, reported as a `reanchor` anomaly: a real jump beyond the band blacks the symbol out
   * for at most this long instead of forever.
   */
  markReferenceMaxAgeMs: number;
}

export interface IngestionOptions {
  /** Number of actor shards; symbols are assigned by jump consistent hash of xxhash64(symbol). */
  shards: number;
  /** Bounded mailbox per shard; when full the oldest tick is dropped (SPEC market_data: drop oldest). */
  mailboxCapacity: number;
  /** Messages an actor handles per event-loop turn before yielding to the others. */
  drainBatch: number;
  /**
   * `queued`: adapters enqueue and actors drain on later turns (isolation, bounded memory).
   * `inline`: the caller's turn runs the actor at once (deterministic replay, lowest latency).
   */
  dispatch: 'queued' | 'inline';
  /** Publish accepted ticks as protobuf Tick on md.norm.{venue}.{symbol}. */
  publishNorm: boolean;
  /** Publish the cross-venue best bid/offer on md.agg.{symbol} when it changes. */
  publishAgg: boolean;
  quality: QualityOptions;
}

export const DEFAULT_QUALITY: QualityOptions = {
  stalenessMs: 5000,
  maxSpreadPct: 1.0,
  maxTimeSkewMs: 1000,
  crossedTolerance: 0,
  sequenceMode: {},
  defaultSequenceMode: 'contiguous',
  anomalyEventIntervalMs: 1000,
  quarantineMaxMs: 10_000,
  bounds: {},
  markReferenceMaxAgeMs: 10_000,
};

export const DEFAULT_INGESTION: IngestionOptions = {
  shards: 4,
  mailboxCapacity: 10_000,
  drainBatch: 512,
  dispatch: 'queued',
  publishNorm: true,
  publishAgg: true,
  quality: DEFAULT_QUALITY,
};

export interface IngestionOptionsInput extends Partial<Omit<IngestionOptions, 'quality'>> {
  quality?: Partial<QualityOptions>;
}

/** Validated options with defaults filled in; throws IngestionConfigError naming the bad key. */
export function resolveIngestionOptions(input: IngestionOptionsInput = {}): IngestionOptions {
  const quality: QualityOptions = { ...DEFAULT_QUALITY, ...input.quality };
  const o: IngestionOptions = { ...DEFAULT_INGESTION, ...input, quality };
  const positiveInt = (key: string, v: number) => {
    if (!Number.isInteger(v) || v <= 0) throw new IngestionConfigError(key, `must be a positive integer, got ${v}`);
  };
  const nonNegative = (key: string, v: number) => {
    if (!Number.isFinite(v) || v < 0) throw new IngestionConfigError(key, `must be a finite number >= 0, got ${v}`);
  };
  positiveInt('shards', o.shards);
  positiveInt('mailboxCapacity', o.mailboxCapacity);
  positiveInt('drainBatch', o.drainBatch);
  if (o.dispatch !== 'queued' && o.dispatch !== 'inline') {
    throw new IngestionConfigError('dispatch', `must be 'queued' or 'inline', got ${String(o.dispatch)}`);
  }
  nonNegative('quality.stalenessMs', quality.stalenessMs);
  nonNegative('quality.maxSpreadPct', quality.maxSpreadPct);
  nonNegative('quality.maxTimeSkewMs', quality.maxTimeSkewMs);
  nonNegative('quality.crossedTolerance', quality.crossedTolerance);
  nonNegative('quality.anomalyEventIntervalMs', quality.anomalyEventIntervalMs);
  nonNegative('quality.quarantineMaxMs', quality.quarantineMaxMs);
  nonNegative('quality.markReferenceMaxAgeMs', quality.markReferenceMaxAgeMs);
  for (const [symbol, b] of Object.entries(quality.bounds)) {
    for (const f of ['maxTradeQty', 'maxLevelQty', 'maxMarkDeviationBps'] as const) {
      if (!(b[f] > 0) || !Number.isFinite(b[f]))
        throw new IngestionConfigError(`quality.bounds.${symbol}.${f}`, `must be a finite number > 0, got ${b[f]}`);
    }
  }
  const modes: readonly string[] = ['contiguous', 'monotonic', 'off'];
  if (!modes.includes(quality.defaultSequenceMode)) {
    throw new IngestionConfigError('quality.defaultSequenceMode', `unknown mode ${quality.defaultSequenceMode}`);
  }
  for (const [venue, mode] of Object.entries(quality.sequenceMode)) {
    if (mode !== undefined && !modes.includes(mode)) {
      throw new IngestionConfigError(`quality.sequenceMode.${venue}`, `unknown mode ${mode}`);
    }
  }
  return o;
}

export class IngestionConfigError extends KestrelError {
  override readonly name = 'IngestionConfigError';
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super('INGESTION_CONFIG_INVALID', `ingestion option ${key}: ${reason}`);
  }
}

/** Why a tick did not reach the sinks; every drop is counted under one of these. */
export const DROP_REASONS = [
  'mailbox_full',
  'crossed',
  'stale',
  'quarantined',
  'out_of_order',
  'invalid',
  'stopped',
  'out_of_bounds',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Kinds of events ingestion itself raises on md.gap.* / md.anomaly.*. */
export type QualityEventKind = 'gap' | 'resync' | 'crossed' | 'stale' | 'skew' | 'spread' | 'invalid' | 'out_of_bounds' | 'reanchor';
