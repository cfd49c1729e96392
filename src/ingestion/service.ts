/**
 * Ingestion service: the `MarketDataSink` adapters deliver to. Routes each tick to the actor shard
 * that owns its canonical symbol, applies the quality gates there, and hands accepted ticks to the
 * TickSinks (ring writer, ClickHouse writer, capture recorder) and to the bus (md.norm / md.agg).
 * Quality events go out on md.gap.* / md.anomaly.*. Every drop is counted by reason.
 *
 * Node runs one JS thread, so an "actor" is a mailbox plus a drain task: each shard processes its own
 * symbols strictly in order, and a flood on one shard cannot grow memory (bounded, drop-oldest) or
 * starve the others (a shard yields after `drainBatch` messages).
 */
import { monotonicMs } from '../clock/monotonic.js';
import { create, toBinary } from '@bufbuild/protobuf';
import type { Bus } from '../bus/bus.js';
import { VENUES, VENUE_IDS, type NormalizedTick } from '../contracts/market.js';
import { MarketDataEventSchema, type MarketDataEvent } from '../contracts/gen/kestrel/v1/market_pb.js';
import { subjects, type Namespace } from '../contracts/subjects.js';
import type { MarketDataSink } from '../venues/common/adapter-types.js';
import { counter, gauge } from '../observability/metrics.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { loadHasher, shardFor } from './hash.js';
import { BoundedMailbox } from './mailbox.js';
import { encodeTickProto } from './wire.js';
import { CrossVenueBook } from './aggregate.js';
import { StreamQuality, compileBounds, compileQuality, type CompiledBounds, type CompiledQuality, type QualityEvent } from './quality.js';
import {
  DROP_REASONS,
  resolveIngestionOptions,
  type DropReason,
  type IngestionOptions,
  type IngestionOptionsInput,
  type TickSink,
} from './types.js';

/**
 * With a bus, its namespace is required: replay ticks published as live md.norm would mark the live
 * risk gateway's book (VaR, stop-loss) with recorded prices.
 */
export type IngestionDeps = IngestionDepsBase & ({ bus: Bus; namespace: Namespace } | { bus?: undefined; namespace?: undefined });

interface IngestionDepsBase {
  sinks?: readonly TickSink[];
  logger?: Logger;
  /**
   * Called when ingestion itself finds a sequence gap, so the owner can ask the venue adapter for a
   * snapshot (SPEC sequence_gap_action: request_snapshot). Adapter-reported gaps do not call it.
   */
  onResyncNeeded?: (venue: string, symbol: string, detail: string) => void;
}

export interface IngestionStats {
  received: number;
  accepted: number;
  dropped: Record<DropReason, number>;
  gaps: number;
  resyncs: number;
  anomalies: number;
  sinkErrors: number;
  published: { norm: number; agg: number; gap: number; anomaly: number };
  mailboxDepth: number[];
  mailboxHighWater: number[];
  quarantined: string[];
}

type Message = NormalizedTick | MarketDataEvent;

function isEvent(m: Message): m is MarketDataEvent {
  return (m as MarketDataEvent).$typeName === 'kestrel.v1.MarketDataEvent';
}

const MAX_VENUE_ID = Math.max(...Object.values(VENUE_IDS));

/** One venue's stream of one symbol: gates plus the cached subjects. */
interface Stream {
  quality: StreamQuality;
  normSubject: string;
  gapSubject: string;
  anomalySubject: string;
}

/** Cross-venue state of one canonical symbol (lives in the shard that owns the symbol). */
interface SymbolState {
  symbol: string;
  streams: (Stream | undefined)[];
  /** Reference-data bounds of the symbol (undefined: unbounded). */
  bounds: CompiledBounds | undefined;
  aggSubject: string;
  agg: CrossVenueBook;
}

class Shard {
  readonly mailbox: BoundedMailbox<Message>;
  readonly symbols = new Map<string, SymbolState>();
  scheduled = false;
  highWater = 0;

  constructor(
    readonly index: number,
    capacity: number,
  ) {
    this.mailbox = new BoundedMailbox<Message>(capacity);
  }
}

export class IngestionService implements MarketDataSink {
  readonly options: IngestionOptions;
  private readonly shards: Shard[];
  private readonly shardOf = new Map<string, Shard>();
  private readonly quality: CompiledQuality;
  private readonly bounds: ReadonlyMap<string, CompiledBounds>;
  private sinks: TickSink[];
  private readonly bus: Bus | undefined;
  private readonly ns: Namespace;
  private readonly log: Logger;
  private stopped = false;
  private metricsTimer: NodeJS.Timeout | undefined;

  // Hot-path counters are plain numbers; syncMetrics() moves the deltas into prom-client, so a tick
  // never pays for label hashing.
  private received = 0;
  private accepted = 0;
  private readonly dropped: Record<DropReason, number>;
  private gaps = 0;
  private resyncs = 0;
  private anomalies = 0;
  private sinkErrors = 0;
  private readonly published = { norm: 0, agg: 0, gap: 0, anomaly: 0 };
  private readonly synced = {
    received: 0,
    accepted: 0,
    gaps: 0,
    resyncs: 0,
    anomalies: 0,
    sinkErrors: 0,
    dropped: {} as Record<DropReason, number>,
  };

  private readonly m = {
    received: counter('ingest_ticks_received_total', 'Ticks delivered to ingestion by adapters'),
    accepted: counter('ingest_ticks_accepted_total', 'Ticks that passed the quality gates'),
    dropped: counter('ingest_ticks_dropped_total', 'Ticks dropped by ingestion, by reason', ['reason']),
    gaps: counter('ingest_gaps_total', 'Sequence gaps (ingestion-detected and adapter-reported)'),
    resyncs: counter('ingest_resyncs_total', 'Quarantined streams that resynced'),
    anomalies: counter('ingest_anomalies_total', 'Data-quality anomalies (crossed, stale, skew, spread, invalid, out_of_bounds, reanchor)'),
    sinkErrors: counter('ingest_sink_errors_total', 'Exceptions thrown by tick sinks (caught)'),
    depth: gauge('ingest_mailbox_depth', 'Messages waiting in each ingestion shard mailbox', ['shard']),
    highWater: gauge('ingest_mailbox_high_water', 'Deepest mailbox level seen per shard', ['shard']),
  };

  private constructor(
    options: IngestionOptions,
    private readonly hasher: Awaited<ReturnType<typeof loadHasher>>,
    private readonly deps: IngestionDeps,
  ) {
    this.options = options;
    this.quality = compileQuality(options.quality);
    this.bounds = new Map(Object.entries(options.quality.bounds).map(([symbol, b]) => [symbol, compileBounds(b)]));
    this.shards = Array.from({ length: options.shards }, (_, i) => new Shard(i, options.mailboxCapacity));
    this.sinks = [...(deps.sinks ?? [])];
    this.bus = deps.bus;
    this.ns = deps.namespace ?? 'live'; // only read with a bus, which requires a namespace
    this.log = deps.logger ?? createLogger('ingestion');
    this.dropped = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
    this.synced.dropped = { ...this.dropped };
    this.metricsTimer = setInterval(() => this.syncMetrics(), 1000);
    this.metricsTimer.unref();
  }

  /** Async because the xxhash WebAssembly module is compiled once, here. */
  static async create(input: IngestionOptionsInput = {}, deps: IngestionDeps = {}): Promise<IngestionService> {
    const options = resolveIngestionOptions(input);
    return new IngestionService(options, await loadHasher(), deps);
  }

  addSink(sink: TickSink): void {
    this.sinks = [...this.sinks, sink];
  }

  removeSink(sink: TickSink): void {
    this.sinks = this.sinks.filter((s) => s !== sink);
  }

  /** Which shard owns a canonical symbol (stable across processes). */
  shardIndex(symbol: string): number {
    return this.shardFor(symbol).index;
  }

  // ---- MarketDataSink ----

  onTick(tick: NormalizedTick): void {
    this.received++;
    if (this.stopped) {
      this.dropped.stopped++;
      return;
    }
    this.enqueue(this.shardFor(tick.symbol), tick);
  }

  onEvent(event: MarketDataEvent): void {
    if (this.stopped) return;
    this.enqueue(this.shardFor(event.symbol), event);
  }

  /** Processes everything queued, synchronously (shutdown, tests, end of an instant replay). */
  drain(): void {
    for (const shard of this.shards) {
      while (shard.mailbox.size > 0) this.runShard(shard, Number.MAX_SAFE_INTEGER);
    }
    this.syncMetrics();
  }

  /** Drains, then refuses further input; sinks are not closed here (their owners close them). */
  stop(): void {
    this.drain();
    this.stopped = true;
    if (this.metricsTimer) clearInterval(this.metricsTimer);
    this.metricsTimer = undefined;
    this.syncMetrics();
  }

  /** Current consolidated best bid/offer of a symbol across venues, if any quote is known. */
  bestQuote(symbol: string): { bid: number; ask: number; bidSize: number; askSize: number } | undefined {
    return this.shardFor(symbol).symbols.get(symbol)?.agg.best();
  }

  stats(): IngestionStats {
    const quarantined: string[] = [];
    for (const shard of this.shards) {
      for (const s of shard.symbols.values()) {
        for (const st of s.streams) if (st?.quality.quarantined) quarantined.push(`${st.quality.venue}.${s.symbol}`);
      }
    }
    return {
      received: this.received,
      accepted: this.accepted,
      dropped: { ...this.dropped },
      gaps: this.gaps,
      resyncs: this.resyncs,
      anomalies: this.anomalies,
      sinkErrors: this.sinkErrors,
      published: { ...this.published },
      mailboxDepth: this.shards.map((s) => s.mailbox.size),
      mailboxHighWater: this.shards.map((s) => s.highWater),
      quarantined: quarantined.sort(),
    };
  }

  // ---- internals ----

  private shardFor(symbol: string): Shard {
    let shard = this.shardOf.get(symbol);
    if (shard === undefined) {
      shard = this.shards[shardFor(this.hasher, symbol, this.shards.length)]!;
      this.shardOf.set(symbol, shard);
    }
    return shard;
  }

  private enqueue(shard: Shard, msg: Message): void {
    if (this.options.dispatch === 'inline') {
      // Keep order with anything still queued (e.g. after a switch from queued dispatch).
      if (shard.mailbox.size > 0) this.runShard(shard, Number.MAX_SAFE_INTEGER);
      this.process(shard, msg);
      return;
    }
    const evicted = shard.mailbox.push(msg);
    if (evicted !== undefined) this.evict(shard, evicted);
    if (shard.mailbox.size > shard.highWater) shard.highWater = shard.mailbox.size;
    if (!shard.scheduled) this.schedule(shard);
  }

  private schedule(shard: Shard): void {
    shard.scheduled = true;
    setImmediate(() => {
      shard.scheduled = false;
      this.runShard(shard, this.options.drainBatch);
      if (shard.mailbox.size > 0 && !shard.scheduled) this.schedule(shard);
    });
  }

  /** Mailbox overflow: a tick is dropped and counted; an event is applied now, as it is next in order. */
  private evict(shard: Shard, msg: Message): void {
    if (isEvent(msg)) {
      this.process(shard, msg);
      return;
    }
    this.dropped.mailbox_full++;
    const stream = this.stream(shard, msg.venue, msg.venueId, msg.symbol);
    stream.quality.evictedSinceLast++;
  }

  private runShard(shard: Shard, budget: number): void {
    let n = 0;
    while (n < budget) {
      const msg = shard.mailbox.shift();
      if (msg === undefined) break;
      this.process(shard, msg);
      n++;
    }
  }

  private process(shard: Shard, msg: Message): void {
    if (isEvent(msg)) {
      this.handleAdapterEvent(shard, msg);
      return;
    }
    const tick = msg;
    const sym = this.symbolState(shard, tick.symbol);
    const stream = this.stream(shard, tick.venue, tick.venueId, tick.symbol);
    const verdict = stream.quality.check(tick, (e) => this.onQualityEvent(stream, tick.venue, tick.symbol, e));
    if (!verdict.ok) {
      this.dropped[verdict.reason]++;
      return;
    }
    this.accepted++;
    const sinks = this.sinks;
    for (let i = 0; i < sinks.length; i++) {
      try {
        sinks[i]!.push(tick);
      } catch (err) {
        this.sinkError(sinks[i]!, err);
      }
    }
    if (this.bus !== undefined) {
      if (this.options.publishNorm) {
        this.bus.publish(stream.normSubject, encodeTickProto(tick));
        this.published.norm++;
      }
      if (this.options.publishAgg) this.updateAggregate(sym, tick);
    }
  }

  private updateAggregate(s: SymbolState, t: NormalizedTick): void {
    const agg = s.agg.update(t);
    if (agg === undefined) return;
    this.bus!.publish(s.aggSubject, encodeTickProto(agg));
    this.published.agg++;
  }

  private handleAdapterEvent(shard: Shard, e: MarketDataEvent): void {
    const venueId = (VENUE_IDS as Record<string, number>)[e.venue];
    if (venueId === undefined || e.symbol.length === 0) {
      this.log.warn({ venue: e.venue, symbol: e.symbol, kind: e.kind }, 'market data event for an unknown venue/symbol');
      this.anomalies++;
      return;
    }
    const stream = this.stream(shard, e.venue, venueId, e.symbol);
    switch (e.kind) {
      case 'gap':
      case 'checksum':
        // The adapter is resyncing its book: nothing from this stream passes until it says so.
        stream.quality.quarantine(e.tsNs);
        if (e.kind === 'gap') this.gaps++;
        else this.anomalies++;
        this.publishEvent(stream, e.kind === 'gap' ? 'gap' : 'anomaly', e);
        return;
      case 'resync':
        if (stream.quality.resync()) this.resyncs++;
        this.publishEvent(stream, 'gap', e);
        return;
      default: {
        // Adapters report every stale/skewed/crossed message; publish at most one per kind per interval.
        this.anomalies++;
        const skipped = stream.quality.admit(`adapter:${e.kind}`, e.tsNs);
        if (skipped < 0) return;
        if (skipped > 0) e.detail = `${e.detail} (+${skipped} suppressed since last event)`;
        this.publishEvent(stream, 'anomaly', e);
      }
    }
  }

  private onQualityEvent(stream: Stream, venue: string, symbol: string, q: QualityEvent): void {
    if (q.kind === 'gap') {
      this.gaps++;
      this.deps.onResyncNeeded?.(venue, symbol, q.detail);
    } else if (q.kind === 'resync') {
      this.resyncs++;
    } else {
      this.anomalies++;
    }
    this.publishEvent(
      stream,
      q.kind === 'gap' || q.kind === 'resync' ? 'gap' : 'anomaly',
      create(MarketDataEventSchema, {
        venue,
        symbol,
        kind: q.kind,
        detail: q.detail,
        expectedSequence: q.expectedSequence,
        receivedSequence: q.receivedSequence,
        tsNs: q.tsNs,
      }),
    );
  }

  private publishEvent(stream: Stream, channel: 'gap' | 'anomaly', e: MarketDataEvent): void {
    if (this.bus === undefined) return;
    this.bus.publish(channel === 'gap' ? stream.gapSubject : stream.anomalySubject, toBinary(MarketDataEventSchema, e));
    this.published[channel]++;
  }

  private symbolState(shard: Shard, symbol: string): SymbolState {
    let s = shard.symbols.get(symbol);
    if (s === undefined) {
      const n = MAX_VENUE_ID + 1;
      s = {
        symbol,
        streams: new Array<Stream | undefined>(n).fill(undefined),
        bounds: this.bounds.get(symbol),
        aggSubject: subjects.mdAgg(symbol, this.ns),
        agg: new CrossVenueBook(symbol, this.quality.stalenessNs),
      };
      shard.symbols.set(symbol, s);
    }
    return s;
  }

  private stream(shard: Shard, venue: string, venueId: number, symbol: string): Stream {
    const s = this.symbolState(shard, symbol);
    const slot = venueId >= 0 && venueId <= MAX_VENUE_ID ? venueId : 0;
    let st = s.streams[slot];
    if (st === undefined || st.quality.venue !== venue) {
      const mode = (VENUES as readonly string[]).includes(venue)
        ? (this.options.quality.sequenceMode[venue as (typeof VENUES)[number]] ?? this.options.quality.defaultSequenceMode)
        : this.options.quality.defaultSequenceMode;
      st = {
        quality: new StreamQuality(venue, symbol, mode, this.quality, s.bounds),
        normSubject: subjects.mdNorm(venue, symbol, this.ns),
        gapSubject: subjects.mdGap(venue, symbol, this.ns),
        anomalySubject: subjects.mdAnomaly(venue, symbol, this.ns),
      };
      s.streams[slot] = st;
    }
    return st;
  }

  private lastSinkErrorLog = 0;
  private sinkError(sink: TickSink, err: unknown): void {
    this.sinkErrors++;
    // Log throttle: operator-facing, paced in real time.
    const now = monotonicMs();
    if (now - this.lastSinkErrorLog > 1000) {
      this.lastSinkErrorLog = now;
      this.log.error({ sink: sink.name, err }, 'tick sink threw; tick not delivered to it');
    }
  }

  /** Moves hot-path counts into the Prometheus metrics (cheap; runs every second and on drain/stop). */
  syncMetrics(): void {
    const d = (now: number, key: 'received' | 'accepted' | 'gaps' | 'resyncs' | 'anomalies' | 'sinkErrors') => {
      const delta = now - this.synced[key];
      this.synced[key] = now;
      return delta;
    };
    const inc = (c: { inc(v: number): void }, v: number) => {
      if (v > 0) c.inc(v);
    };
    inc(this.m.received, d(this.received, 'received'));
    inc(this.m.accepted, d(this.accepted, 'accepted'));
    inc(this.m.gaps, d(this.gaps, 'gaps'));
    inc(this.m.resyncs, d(this.resyncs, 'resyncs'));
    inc(this.m.anomalies, d(this.anomalies, 'anomalies'));
    inc(this.m.sinkErrors, d(this.sinkErrors, 'sinkErrors'));
    for (const r of DROP_REASONS) {
      const delta = this.dropped[r] - (this.synced.dropped[r] ?? 0);
      if (delta > 0) this.m.dropped.inc({ reason: r }, delta);
      this.synced.dropped[r] = this.dropped[r];
    }
    for (const s of this.shards) {
      this.m.depth.set({ shard: String(s.index) }, s.mailbox.size);
      this.m.highWater.set({ shard: String(s.index) }, s.highWater);
    }
  }
}
