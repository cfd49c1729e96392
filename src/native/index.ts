/**
 * Typed API over the native hot path: shared-memory tick rings, the engine thread (native or
 * julia strategy) and its signal ring. See docs/ADDON.md for the design and a wiring example.
 */
import os from 'node:os';
import type { NormalizedTick } from '../contracts/market.js';
import type { TickColumns } from '../storage/capture/columns.js';
import { LITTLE_ENDIAN } from '../storage/capture/format.js';
import { Regime, Side, Urgency } from '../contracts/index.js';
import type { Clock } from '../clock/clock.js';
import { type ExecSignal, type SignalHandler, type SignalSource } from '../execution/types.js';
import { loadAddon, type JuliaRuntimeInfo, type RawEngine, type RawEngineStats, type RawRegion, type RawRingCounters } from './addon.js';
import { NativeEngineError, NativeError, engineFailure } from './errors.js';
import { LAYOUT } from './layout.js';

export { LAYOUT, REGION_MAGIC } from './layout.js';
export { NativeError, NativeEngineError, JuliaStrategyError, type NativeErrorCode } from './errors.js';
export { loadAddon } from './addon.js';

const L = LAYOUT;

/** A tick as it is written into a ring (TickEntry without the ring-owned fields). */
export interface TickInput {
  /** Event time, ns since the epoch. */
  tsNs: bigint;
  /** TickFlag bits (src/contracts) | LAYOUT.kFlagBuyAggressor. LAYOUT.kFlagTrade marks a trade. */
  flags: number;
  /** Quote: best bid. Trade: trade price. */
  bid: number;
  /** Quote: best ask. Trade: trade price. */
  ask: number;
  /** Quote: bid size. Trade: quantity. */
  bidSize: number;
  /** Quote: ask size. Trade: 0. */
  askSize: number;
  venueId?: number;
}

/** A tick read back from a ring. */
export interface TickRecord extends Required<TickInput> {
  symbolId: number;
  /** Ring sequence (0-based; gaps mean the reader missed records). */
  sequence: bigint;
  /** CLOCK_MONOTONIC ns at push. */
  pushNs: bigint;
}

/** Fixed-layout signal record (addon/include/kestrel/layout.h SignalRecord), decoded. */
export interface SignalRecordView {
  sequence: bigint;
  traceHi: bigint;
  traceLo: bigint;
  strategyId: number;
  symbolId: number;
  venueId: number;
  side: Side;
  urgency: Urgency;
  engine: 'native' | 'julia';
  /** Regime at decision (docs/STRATEGY.md "Regime"); the byte is the proto Regime number. */
  regime: Regime;
  ttlMs: number;
  size: number;
  confidence: number;
  maxSlippageBps: number;
  minFillQty: number;
  refPrice: number;
  zscore: number;
  sourceSeq: bigint;
  tickTsNs: bigint;
  /** CLOCK_MONOTONIC ns: tick pushed, popped by the engine, signal committed. */
  tickPushNs: bigint;
  enginePopNs: bigint;
  signalNs: bigint;
}

/** Map a canonical tick onto the ring's TickEntry fields (trade → price in bid/ask, qty in bidSize). */
export function tickFromNormalized(t: NormalizedTick, tsSource: 'recv' | 'exch' = 'recv'): TickInput {
  const trade = (t.flags & L.kFlagTrade) !== 0;
  const flags = (t.flags & 0x3f) | (trade && t.aggressor > 0 ? L.kFlagBuyAggressor : 0);
  return {
    tsNs: tsSource === 'recv' ? t.recvTsNs : t.exchTsNs,
    flags,
    bid: trade ? t.lastPx : t.bid,
    ask: trade ? t.lastPx : t.ask,
    bidSize: trade ? t.lastQty : t.bidSize,
    askSize: trade ? 0 : t.askSize,
    venueId: t.venueId,
  };
}

/** A reusable buffer of 64-byte TickEntry records for batched pushes (one N-API call per batch). */
export class TickBatch {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private views: { u16: Uint16Array; u32: Uint32Array; f64: Float64Array } | undefined;
  count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity <= 0) throw new NativeError('BAD_ARGUMENT', 'TickBatch capacity must be > 0');
    this.bytes = new Uint8Array(capacity * L.kTickEntrySize);
    this.view = new DataView(this.bytes.buffer);
  }

  /** Appends; returns false when full (flush first). */
  push(t: TickInput, symbolId = 0): boolean {
    if (this.count >= this.capacity) return false;
    const o = this.count * L.kTickEntrySize;
    const v = this.view;
    v.setBigInt64(o + L.kTickTsOffset, t.tsNs, true);
    v.setUint16(o + L.kTickVenueOffset, t.venueId ?? 0, true);
    v.setUint16(o + L.kTickSymbolOffset, symbolId, true);
    v.setUint32(o + L.kTickFlagsOffset, t.flags >>> 0, true);
    v.setFloat64(o + L.kTickBidOffset, t.bid, true);
    v.setFloat64(o + L.kTickAskOffset, t.ask, true);
    v.setFloat64(o + L.kTickBidSizeOffset, t.bidSize, true);
    v.setFloat64(o + L.kTickAskSizeOffset, t.askSize, true);
    this.count++;
    return true;
  }

  /**
   * Appends a NormalizedTick as `tickFromNormalized(t)` (receive time) would, without building the
   * intermediate TickInput (one object per tick on the backtest's hot path). False when full.
   */
  pushNormalized(t: NormalizedTick, symbolId = 0): boolean {
    if (this.count >= this.capacity) return false;
    const trade = (t.flags & L.kFlagTrade) !== 0;
    const o = this.count * L.kTickEntrySize;
    const v = this.view;
    v.setBigInt64(o + L.kTickTsOffset, t.recvTsNs, true);
    v.setUint16(o + L.kTickVenueOffset, t.venueId, true);
    v.setUint16(o + L.kTickSymbolOffset, symbolId, true);
    v.setUint32(o + L.kTickFlagsOffset, ((t.flags & 0x3f) | (trade && t.aggressor > 0 ? L.kFlagBuyAggressor : 0)) >>> 0, true);
    v.setFloat64(o + L.kTickBidOffset, trade ? t.lastPx : t.bid, true);
    v.setFloat64(o + L.kTickAskOffset, trade ? t.lastPx : t.ask, true);
    v.setFloat64(o + L.kTickBidSizeOffset, trade ? t.lastQty : t.bidSize, true);
    v.setFloat64(o + L.kTickAskSizeOffset, trade ? 0 : t.askSize, true);
    this.count++;
    return true;
  }

  /**
   * Appends row `i` of a TickColumns as `pushNormalized(cols.row(i))` would, the receive time copied
   * as two 32-bit words (no BigInt, no object). False when full.
   */
  pushColumn(cols: TickColumns, i: number, symbolId = 0): boolean {
    if (this.count >= this.capacity) return false;
    const flags = cols.flags[i]!;
    const trade = (flags & L.kFlagTrade) !== 0;
    const ringFlags = ((flags & 0x3f) | (trade && cols.aggressor[i]! > 0 ? L.kFlagBuyAggressor : 0)) >>> 0;
    const bid = trade ? cols.lastPx[i]! : cols.bid[i]!;
    const ask = trade ? cols.lastPx[i]! : cols.ask[i]!;
    const bidSize = trade ? cols.lastQty[i]! : cols.bidSize[i]!;
    const askSize = trade ? 0 : cols.askSize[i]!;
    const o = this.count * L.kTickEntrySize;
    const w = i << 1;
    if (LITTLE_ENDIAN) {
      // Typed-array stores at the record's aligned offsets: no DataView call per field.
      const v = (this.views ??= {
        u16: new Uint16Array(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length >>> 1),
        u32: new Uint32Array(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length >>> 2),
        f64: new Float64Array(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length >>> 3),
      });
      const o4 = o >>> 2;
      const o8 = o >>> 3;
      v.u32[o4 + (L.kTickTsOffset >>> 2)] = cols.recvWords[w]!;
      v.u32[o4 + (L.kTickTsOffset >>> 2) + 1] = cols.recvWords[w + 1]!;
      v.u16[(o >>> 1) + (L.kTickVenueOffset >>> 1)] = cols.venueId[i]!;
      v.u16[(o >>> 1) + (L.kTickSymbolOffset >>> 1)] = symbolId;
      v.u32[o4 + (L.kTickFlagsOffset >>> 2)] = ringFlags;
      v.f64[o8 + (L.kTickBidOffset >>> 3)] = bid;
      v.f64[o8 + (L.kTickAskOffset >>> 3)] = ask;
      v.f64[o8 + (L.kTickBidSizeOffset >>> 3)] = bidSize;
      v.f64[o8 + (L.kTickAskSizeOffset >>> 3)] = askSize;
    } else {
      // The columns hold host-order 64-bit values; the ring record is little-endian.
      const d = this.view;
      d.setUint32(o + L.kTickTsOffset + 4, cols.recvWords[w]!, true);
      d.setUint32(o + L.kTickTsOffset, cols.recvWords[w + 1]!, true);
      d.setUint16(o + L.kTickVenueOffset, cols.venueId[i]!, true);
      d.setUint16(o + L.kTickSymbolOffset, symbolId, true);
      d.setUint32(o + L.kTickFlagsOffset, ringFlags, true);
      d.setFloat64(o + L.kTickBidOffset, bid, true);
      d.setFloat64(o + L.kTickAskOffset, ask, true);
      d.setFloat64(o + L.kTickBidSizeOffset, bidSize, true);
      d.setFloat64(o + L.kTickAskSizeOffset, askSize, true);
    }
    this.count++;
    return true;
  }

  clear(): void {
    this.count = 0;
  }

  get(i: number): TickRecord {
    if (i < 0 || i >= this.count) throw new NativeError('BAD_ARGUMENT', `tick ${i} out of range`);
    return decodeTick(this.view, i * L.kTickEntrySize);
  }
}

export function decodeTick(v: DataView, o: number): TickRecord {
  return {
    tsNs: v.getBigInt64(o + L.kTickTsOffset, true),
    venueId: v.getUint16(o + L.kTickVenueOffset, true),
    symbolId: v.getUint16(o + L.kTickSymbolOffset, true),
    flags: v.getUint32(o + L.kTickFlagsOffset, true),
    bid: v.getFloat64(o + L.kTickBidOffset, true),
    ask: v.getFloat64(o + L.kTickAskOffset, true),
    bidSize: v.getFloat64(o + L.kTickBidSizeOffset, true),
    askSize: v.getFloat64(o + L.kTickAskSizeOffset, true),
    sequence: v.getBigUint64(o + L.kTickSequenceOffset, true),
    pushNs: v.getBigInt64(o + L.kTickPushNsOffset, true),
  };
}

export function decodeSignal(v: DataView, o: number): SignalRecordView {
  return {
    sequence: v.getBigUint64(o + L.kSigSequenceOffset, true),
    traceHi: v.getBigUint64(o + L.kSigTraceHiOffset, true),
    traceLo: v.getBigUint64(o + L.kSigTraceLoOffset, true),
    strategyId: v.getUint32(o + L.kSigStrategyOffset, true),
    symbolId: v.getUint16(o + L.kSigSymbolOffset, true),
    venueId: v.getUint16(o + L.kSigVenueOffset, true),
    side: v.getUint8(o + L.kSigSideOffset) as Side,
    urgency: v.getUint8(o + L.kSigUrgencyOffset) as Urgency,
    engine: v.getUint8(o + L.kSigEngineOffset) === L.kEngineJulia ? 'julia' : 'native',
    regime: v.getUint8(o + L.kSigRegimeOffset) as Regime,
    ttlMs: v.getUint32(o + L.kSigTtlOffset, true),
    size: v.getFloat64(o + L.kSigSizeOffset, true),
    confidence: v.getFloat64(o + L.kSigConfidenceOffset, true),
    maxSlippageBps: v.getFloat64(o + L.kSigMaxSlippageOffset, true),
    minFillQty: v.getFloat64(o + L.kSigMinFillOffset, true),
    refPrice: v.getFloat64(o + L.kSigRefPriceOffset, true),
    zscore: v.getFloat64(o + L.kSigZscoreOffset, true),
    sourceSeq: v.getBigUint64(o + L.kSigSourceSeqOffset, true),
    tickTsNs: v.getBigInt64(o + L.kSigTickTsOffset, true),
    tickPushNs: v.getBigInt64(o + L.kSigTickPushNsOffset, true),
    enginePopNs: v.getBigInt64(o + L.kSigEnginePopNsOffset, true),
    signalNs: v.getBigInt64(o + L.kSigSignalNsOffset, true),
  };
}

/** Trace id as the 32-hex-digit string the executor dedupes on. */
export function traceIdHex(s: Pick<SignalRecordView, 'traceHi' | 'traceLo'>): string {
  return s.traceHi.toString(16).padStart(16, '0') + s.traceLo.toString(16).padStart(16, '0');
}

/** A reusable receive buffer for drained signals. */
export class SignalBatch {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  count = 0;
  constructor(readonly capacity = 256) {
    this.bytes = new Uint8Array(capacity * L.kSignalRecordSize);
    this.view = new DataView(this.bytes.buffer);
  }
  get(i: number): SignalRecordView {
    if (i < 0 || i >= this.count) throw new NativeError('BAD_ARGUMENT', `signal ${i} out of range`);
    return decodeSignal(this.view, i * L.kSignalRecordSize);
  }
}

export type RingCounters = RawRingCounters;
export interface RegionCounters {
  ticks: Array<RingCounters & { symbol: string }>;
  signals: RingCounters;
  engineRunning: boolean;
}

export interface CreateRegionOptions {
  /** /dev/shm name, [A-Za-z0-9._-]. */
  name: string;
  /** One tick ring per symbol; ring index = position here = symbol id in the region. */
  symbols: string[];
  /** Power of two, default 65536. */
  tickCapacity?: number;
  /** Power of two, default 4096. */
  signalCapacity?: number;
  /** Unlink an existing region of that name first (otherwise REGION_EXISTS). */
  replace?: boolean;
}

/** A mapped /dev/shm region: per-symbol tick rings and one signal ring. */
export class TickRegion {
  private readonly ringBySymbol = new Map<string, number>();
  readonly symbols: readonly string[];

  private constructor(readonly raw: RawRegion) {
    const syms: string[] = [];
    for (let i = 0; i < raw.symbols; i++) {
      const s = raw.symbolName(i);
      syms.push(s);
      this.ringBySymbol.set(s, i);
    }
    this.symbols = syms;
  }

  static create(opts: CreateRegionOptions): TickRegion {
    const { Region } = loadAddon();
    return new TickRegion(new Region('create', opts));
  }

  /** Attach to a region another process (or this one) created; zero-copy. */
  static attach(name: string): TickRegion {
    const { Region } = loadAddon();
    return new TickRegion(new Region('attach', name));
  }

  get name(): string {
    return this.raw.name;
  }
  get owner(): boolean {
    return this.raw.owner;
  }
  get tickCapacity(): number {
    return this.raw.tickCapacity;
  }
  get signalCapacity(): number {
    return this.raw.signalCapacity;
  }

  /** Ring index of a symbol; throws BAD_RING for unknown symbols. */
  ringOf(symbol: string): number {
    const r = this.ringBySymbol.get(symbol);
    if (r === undefined) throw new NativeError('BAD_RING', `no ring for symbol ${symbol} in region ${this.name}`);
    return r;
  }

  /** One tick, one N-API call. Returns the ring sequence. (No closure: this is per tick.) */
  pushTick(ring: number, t: TickInput): number {
    return this.raw.pushTick(ring, t.tsNs, t.flags, t.bid, t.ask, t.bidSize, t.askSize, t.venueId ?? 0);
  }

  /**
   * A canonical tick straight from ingestion (no intermediate object): trades carry lastPx/lastQty
   * in bid/ask/bidSize, `aggressor > 0` sets kFlagBuyAggressor; ts = local receive time.
   */
  pushNormalized(ring: number, t: NormalizedTick): number {
    const trade = (t.flags & L.kFlagTrade) !== 0;
    const flags = (t.flags & 0x3f) | (trade && t.aggressor > 0 ? L.kFlagBuyAggressor : 0);
    return trade
      ? this.raw.pushTick(ring, t.recvTsNs, flags, t.lastPx, t.lastPx, t.lastQty, 0, t.venueId)
      : this.raw.pushTick(ring, t.recvTsNs, flags, t.bid, t.ask, t.bidSize, t.askSize, t.venueId);
  }

  /** Every tick of `batch` into one ring, one N-API call. Returns the first sequence. */
  pushBatch(ring: number, batch: TickBatch): number {
    return this.raw.pushBatch(ring, batch.bytes, batch.count);
  }

  /**
   * Read ticks as the ring's consumer (for a process without an engine, e.g. a monitor or the
   * two-process test). A ring has one consumer: do not pop while an engine consumes the region.
   */
  popTicks(ring: number, into: TickBatch, max = into.capacity): { delivered: number; missed: number } {
    const r = this.raw.popTicks(ring, into.bytes, Math.min(max, into.capacity));
    into.count = r.delivered;
    return r;
  }

  /** Drain up to into.capacity signals (single consumer). `missed` counts overwritten ones. */
  drainSignals(into: SignalBatch): { count: number; missed: number } {
    const r = this.raw.drainSignals(into.bytes, into.capacity);
    into.count = r.count;
    return r;
  }

  counters(): RegionCounters {
    return this.raw.counters();
  }

  /** The whole mapping as an external ArrayBuffer (zero-copy; keeps the mapping alive). */
  buffer(): ArrayBuffer {
    return this.raw.buffer();
  }

  /** Remove the /dev/shm name (mappings stay valid until closed). */
  unlink(): void {
    this.raw.unlink();
  }

  close(): void {
    this.raw.close();
  }
}

/** docs/STRATEGY.md parameters (snake_case as in the golden params.csv files). */
export interface StrategyParams {
  strategy_id: number;
  ewma_lambda: number;
  ofi_alpha: number;
  vpin_bar_ns: number;
  vpin_bucket_volume: number;
  vpin_buckets: number;
  ou_dt_ns: number;
  ou_window: number;
  z_entry: number;
  z_high: number;
  max_spread_bps: number;
  vpin_max: number;
  half_life_min_s: number;
  half_life_max_s: number;
  cooldown_ns: number;
  min_confidence: number;
  kelly_fraction: number;
  capital: number;
  max_size: number;
  min_size: number;
  min_fill_ratio: number;
  ttl_ms: number;
  max_slippage_bps: number;
  vr_lag: number;
  vr_trend: number;
  vol_ratio_threshold: number;
  vol_long_lambda: number;
  /** 0 or 1: 1 lets entries through in TRENDING and HIGH_VOL regimes. */
  trend_entries: number;
}

export const DEFAULT_STRATEGY_PARAMS: Readonly<StrategyParams> = Object.freeze({
  strategy_id: 1,
  ewma_lambda: 0.94,
  ofi_alpha: 0.1,
  vpin_bar_ns: 1_000_000_000,
  vpin_bucket_volume: 1.0,
  vpin_buckets: 50,
  ou_dt_ns: 100_000_000,
  ou_window: 300,
  z_entry: 2.0,
  z_high: 3.0,
  max_spread_bps: 5.0,
  vpin_max: 0.8,
  half_life_min_s: 0.5,
  half_life_max_s: 120.0,
  cooldown_ns: 1_000_000_000,
  min_confidence: 0.3,
  kelly_fraction: 0.25,
  capital: 100000.0,
  max_size: 1.0,
  min_size: 0.0001,
  min_fill_ratio: 0.5,
  ttl_ms: 50,
  max_slippage_bps: 10.0,
  vr_lag: 10,
  vr_trend: 1.5,
  vol_ratio_threshold: 2.0,
  vol_long_lambda: 0.995,
  trend_entries: 0,
});

export type EngineKind = 'native' | 'julia';

/** Parameters that shape per-symbol state (windows, bars, decays): start-time only. */
export const NON_LIVE_PARAMS: ReadonlySet<keyof StrategyParams> = new Set([
  'strategy_id',
  'ewma_lambda',
  'ofi_alpha',
  'vpin_bar_ns',
  'vpin_bucket_volume',
  'vpin_buckets',
  'ou_dt_ns',
  'ou_window',
]);

export interface EngineOptions {
  engine?: EngineKind;
  params?: Partial<StrategyParams>;
  /**
   * Spin this long after the last tick before sleeping on the futex doorbell. Default
   * `defaultIdleSpinNs(cpu)`: 50 µs with a core of its own, 0 on a machine of two CPUs or fewer.
   */
  idleSpinNs?: number;
  /** Ticks popped per ring per round (default 256). */
  maxBatch?: number;
  /** Pin the engine thread to this CPU (an isolated core in production). Default: not pinned. */
  cpu?: number;
  juliaHome?: string;
  juliaSysimage?: string;
  /**
   * Source mode: the KestrelStrategy package folder (a checkout's julia/) loaded from source into
   * Julia's base image instead of the sysimage: slower start (compiled at load), same decisions.
   * Default: KESTREL_JULIA_SOURCE, else sysimage mode. A missing folder: JULIA_SOURCE_NOT_FOUND.
   */
  juliaSource?: string;
  /**
   * Called on the JS thread (ThreadSafeFunction, coalesced) when signals are waiting; drain them
   * with region.drainSignals(). While a call is pending, further signals do not queue more calls.
   */
  onSignals?: () => void;
}

export type EngineStats = RawEngineStats;

/**
 * Idle spin of the engine thread when none is configured. Spinning catches the next tick without
 * a futex wake-up, but only pays off on a core nobody else needs: on two CPUs the spinner holds
 * the core the event loop needs right after a signal (measured on a 2-vCPU VM: signal → executor
 * intake p50 70 µs with a 50 µs spin, 20 µs without; docs/PERFORMANCE.md "Signal → wire").
 */
export function defaultIdleSpinNs(cpu?: number, cpus = os.availableParallelism()): number {
  return (cpu !== undefined && cpu >= 0) || cpus > 2 ? 50_000 : 0;
}

/**
 * The engine thread. start() throws NativeEngineError (e.g. code JULIA_NOT_FOUND) synchronously.
 * A running engine keeps the process alive: stop() it on shutdown. Restart after stop() is fine
 * for the native engine; julia: one start per process (libjulia binds to the first engine thread
 * and cannot be re-initialised, see docs/JULIA_EMBEDDING.md).
 * If the strategy throws, the engine thread ends: `running` turns false, onSignals is called once
 * so the JS side notices, and lastError() returns the typed error (kept after stop()).
 */
export class NativeEngine {
  private readonly raw: RawEngine;
  constructor(
    readonly region: TickRegion,
    readonly options: EngineOptions = {},
  ) {
    const { Engine } = loadAddon();
    const { onSignals, ...rest } = options;
    const opts = { ...rest, idleSpinNs: rest.idleSpinNs ?? defaultIdleSpinNs(rest.cpu) };
    this.raw = new Engine(region.raw, opts, onSignals);
  }
  start(): void {
    this.raw.start();
  }
  stop(): void {
    this.raw.stop();
  }
  get running(): boolean {
    return this.raw.running;
  }
  stats(): EngineStats {
    return this.raw.stats();
  }
  /**
   * Change strategy parameters (a partial set over the current ones). Stopped: used at the next
   * start. Running: validated at once (BAD_STRATEGY_PARAMS), then queued on the engine's command
   * ring and applied by the engine thread between two ticks (stats().paramsApplied counts them).
   * State-shaping parameters (NON_LIVE_PARAMS), and any parameter of the julia engine, cannot change
   * while it runs: NativeEngineError PARAM_NOT_LIVE.
   */
  updateParams(params: Partial<StrategyParams>): void {
    this.raw.updateParams(params);
  }
  /** The parameters in force (or queued for the engine thread). */
  params(): StrategyParams {
    return this.raw.params() as unknown as StrategyParams;
  }
  /**
   * Why the engine thread ended on its own (strategy exception), or null. A Julia strategy that
   * threw gives a JuliaStrategyError (juliaMessage, juliaStacktrace).
   */
  lastError(): NativeEngineError | null {
    const e = this.raw.lastError();
    return e ? engineFailure(e) : null;
  }
}

/**
 * SignalSource over the region's signal ring (src/execution/types.ts): the executor's intake on
 * the engine's node. Starts nothing by itself; give its `notify` to the engine as onSignals.
 */
export class RingSignalSource implements SignalSource {
  private readonly handlers: SignalHandler[] = [];
  private readonly batch: SignalBatch;
  /** Signal emitTsNs (epoch) minus the engine's monotonic commit stamp: recovers the exact stamp. */
  readonly epochOffsetNs: bigint;
  private closed = false;
  /** Signals lost to ring overflow (drop-oldest) before they were drained. */
  missed = 0;
  delivered = 0;
  /** Tick pushed into its ring → signal committed by the engine (both CLOCK_MONOTONIC), per signal. */
  private readonly onTickToSignalNs: ((ns: number) => void) | undefined;

  constructor(
    private readonly region: TickRegion,
    opts: { batch?: number; clock: Clock; onTickToSignalNs?: (ns: number) => void },
  ) {
    this.batch = new SignalBatch(opts.batch ?? 256);
    this.onTickToSignalNs = opts.onTickToSignalNs;
    // Monotonic → epoch for emitTsNs (TTL is measured from the signal's commit time).
    // The executor's clock: ring signals then carry no skew against its TTL check.
    this.epochOffsetNs = opts.clock.nowNs() - loadAddon().monotonicNs();
  }

  /** Pass as EngineOptions.onSignals. */
  readonly notify = (): void => {
    this.drain();
  };

  onSignal(cb: SignalHandler): () => void {
    this.handlers.push(cb);
    return () => {
      const i = this.handlers.indexOf(cb);
      if (i >= 0) this.handlers.splice(i, 1);
    };
  }

  /** Drain everything waiting now; returns how many signals were delivered. */
  drain(): number {
    if (this.closed) return 0;
    let total = 0;
    for (;;) {
      const r = this.region.drainSignals(this.batch);
      this.missed += r.missed;
      for (let i = 0; i < r.count; i++) {
        const view = this.batch.get(i);
        if (this.onTickToSignalNs && view.tickPushNs > 0n) this.onTickToSignalNs(Number(view.signalNs - view.tickPushNs));
        const s = this.toExec(view);
        for (const h of this.handlers) h(s);
      }
      total += r.count;
      if (r.count < this.batch.capacity) break;
    }
    this.delivered += total;
    return total;
  }

  private toExec(s: SignalRecordView): ExecSignal {
    return {
      strategyId: String(s.strategyId),
      symbol: this.region.symbols[s.symbolId] ?? String(s.symbolId),
      side: s.side,
      size: s.size,
      confidence: s.confidence,
      ttlMs: s.ttlMs,
      maxSlippageBps: s.maxSlippageBps,
      minFillQty: s.minFillQty,
      urgency: s.urgency,
      traceId: traceIdHex(s),
      sourceSequence: s.sourceSeq,
      emitTsNs: s.signalNs + this.epochOffsetNs,
      refPrice: s.refPrice,
      regime: s.regime,
    };
  }

  close(): void {
    this.closed = true;
    this.handlers.length = 0;
  }
}

export interface FeatureRow {
  [column: string]: number;
}

export interface ReplayResult {
  signals: SignalRecordView[];
  /** Feature snapshots (see docs/STRATEGY.md golden format), one object per row. */
  features: FeatureRow[];
  skipped: number;
  resets: number;
}

/**
 * Deterministic synchronous run of the native strategy over `ticks` (no rings, no thread, no
 * clock): the golden-vector generator and instant-mode replay. Tick i has sequence i.
 */
export function replay(
  ticks: TickBatch,
  opts: { params?: Partial<StrategyParams>; symbols?: number; featureStride?: number } = {},
): ReplayResult {
  const addon = loadAddon();
  const r = addon.replay(ticks.bytes, ticks.count, opts);
  const view = new DataView(r.signals.buffer, r.signals.byteOffset, r.signals.byteLength);
  const signals: SignalRecordView[] = [];
  for (let i = 0; i < r.signalCount; i++) signals.push(decodeSignal(view, i * L.kSignalRecordSize));
  const cols = r.featureColumns;
  const features: FeatureRow[] = [];
  for (let row = 0; row < r.featureRows; row++) {
    const o: FeatureRow = {};
    for (let c = 0; c < cols.length; c++) o[cols[c]!] = r.features[row * cols.length + c]!;
    features.push(o);
  }
  return { signals, features, skipped: r.skipped, resets: r.resets };
}

/** The OU least-squares fit of docs/STRATEGY.md on a plain sample array. */
export function fitOu(samples: Float64Array, dtSeconds: number) {
  return loadAddon().fitOu(samples, dtSeconds);
}

/** The addon's own view of layout.h (for the agreement test and for attaching tools). */
export function nativeLayout(): Record<string, number | bigint> {
  return loadAddon().layout();
}

export type { JuliaRuntimeInfo } from './addon.js';

/** Where the embedded Julia of this process came from, or null when no julia engine started. */
export function juliaRuntimeInfo(): JuliaRuntimeInfo | null {
  return loadAddon().juliaRuntimeInfo();
}

export function monotonicNs(): bigint {
  return loadAddon().monotonicNs();
}

// Re-exported for callers that convert errors they caught around raw calls.
