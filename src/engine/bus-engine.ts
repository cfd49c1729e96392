/**
 * The engine on a node of its own: normalized ticks from md.norm (NATS) → this process's shared-memory
 * rings, one per (venue, symbol) → the engine thread (native C++ or embedded Julia, the same addon
 * engine as `kestrel start` and `kestrel backtest`) → signals on sig.{strategy}.{symbol} (protobuf).
 *
 * Ticks are pushed in batches (everything that arrived since the last batch, one N-API call per
 * ring); after the engine has consumed a batch, its signals are published in the order of the ticks
 * that produced them (ring, ring sequence), exactly as the backtest hands them to the executor. The
 * signals are a function of the tick stream alone: a distributed run decides what one process decides.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { Bus, Subscription } from '../bus/bus.js';
import type { Clock } from '../clock/clock.js';
import type { Config } from '../config/schema.js';
import { SignalSchema, TickSchema, headers, patterns, subjects, type Namespace } from '../contracts/index.js';
import { fromProto, type NormalizedTick } from '../contracts/market.js';
import { KestrelError } from '../contracts/errors.js';
import {
  NativeEngine,
  SignalBatch,
  TickBatch,
  TickRegion,
  tickFromNormalized,
  traceIdHex,
  type SignalRecordView,
} from '../native/index.js';
import { addSignal, StreamDigest } from '../session/digest.js';
import { engineParams, ringName, ringStream } from '../session/wiring.js';

export class BusEngineError extends KestrelError {
  override readonly name = 'BusEngineError';
  constructor(message: string, options?: ErrorOptions) {
    super('ENGINE_PROCESS', message, options);
  }
}

export interface BusEngineOptions {
  config: Config;
  bus: Bus;
  /** Stamps emitTsNs (the executor measures the signal TTL from it). */
  clock: Clock;
  /**
   * Where the ticks come from. 'bus': md.norm from NATS into this process's own rings, one per
   * instrument. 'region': the rings `kestrel run md --rings` writes on this host (attached by name;
   * no NATS hop for ticks).
   */
  source:
    | {
        kind: 'bus';
        /** The (venue, canonical symbol) streams this engine owns: one ring each. */
        instruments: ReadonlyArray<{ venue: string; symbol: string }>;
        /** Subscribe only to these canonical symbols' md.norm (several engines on disjoint sets); all when undefined. */
        symbols?: readonly string[];
      }
    | { kind: 'region'; name: string };
}

export interface BusEngineStats {
  /** md.norm messages received. */
  received: number;
  /** Ticks pushed into the rings. */
  pushed: number;
  /** Ticks of a stream with no ring here (another engine's symbol, or unknown to reference data). */
  foreign: number;
  malformed: number;
  signals: number;
  /** Digest of the published signals, as the backtest's `signalDigest` (src/session/digest.ts). */
  signalDigest: string;
}

export class BusEngine {
  private readonly region: TickRegion;
  private readonly engine: NativeEngine;
  private readonly ringOf: Map<string, number>;
  private readonly ns: Namespace;
  private readonly strategy: string;
  private readonly chunkSize: number;
  private readonly signalBatch = new SignalBatch(256);
  private readonly ringBatches: Array<TickBatch | undefined> = [];
  /** Ticks received and not yet pushed, with their ring. */
  private pending: NormalizedTick[] = [];
  private pendingRing: number[] = [];
  /** Signals drained from the ring, by ring then ring sequence, until their tick's turn comes. */
  private readonly bySeq = new Map<number, SignalRecordView[]>();
  private readonly seqBase: number[] = [];
  private subs: Subscription[] = [];
  private scheduled = false;
  private flushing: Promise<void> | undefined;
  private failure: Error | undefined;
  private closed = false;
  private readonly digest = new StreamDigest();
  private readonly s = { received: 0, pushed: 0, foreign: 0, malformed: 0, signals: 0 };

  constructor(private readonly opts: BusEngineOptions) {
    const { config } = opts;
    this.ns = config.bus.namespace as Namespace;
    this.strategy = config.strategy.id;
    const src = opts.source;
    if (src.kind === 'bus') {
      const names = src.instruments.map((x) => ringName(x.venue, x.symbol));
      if (names.length === 0) throw new BusEngineError('no instrument to run the engine on (check --symbols against reference data)');
      this.region = TickRegion.create({
        name: `${config.rings.shm_name}-engine-${process.pid}`,
        symbols: names,
        tickCapacity: config.rings.capacity,
        replace: true,
      });
    } else {
      this.region = TickRegion.attach(src.name);
    }
    this.ringOf = new Map(this.region.symbols.map((n, i) => [n, i]));
    this.chunkSize = Math.max(1, config.rings.capacity >> 1);
    this.engine = new NativeEngine(this.region, {
      engine: config.strategy.engine,
      params: engineParams(config),
      // Attached: md pushes, the engine rings this process when signals are committed.
      ...(src.kind === 'region' ? { onSignals: () => this.publishCommitted() } : {}),
      ...(config.strategy.julia_source ? { juliaSource: config.strategy.julia_source } : {}),
      ...(config.rings.engine_cpu >= 0 ? { cpu: config.rings.engine_cpu } : {}),
      ...(config.rings.engine_idle_spin_ns !== 'auto' ? { idleSpinNs: config.rings.engine_idle_spin_ns } : {}),
    });
  }

  get running(): boolean {
    return this.engine.running && this.failure === undefined;
  }

  get engineKind(): string {
    return this.opts.config.strategy.engine;
  }

  start(): void {
    this.engine.start();
    const src = this.opts.source;
    if (src.kind === 'region') return;
    const patternsOf = src.symbols ? src.symbols.map((s) => patterns.mdNormOfSymbol(s, this.ns)) : [patterns.mdNormAll(this.ns)];
    this.subs = patternsOf.map((p) => this.opts.bus.subscribe(p, (m) => this.onTick(m.data)));
  }

  /** Ring names of the region (venue:symbol), for the ready line. */
  get rings(): readonly string[] {
    return this.region.symbols;
  }

  /**
   * Attached to md's rings: the ticks' arrival order across rings is md's, not seen here, so each
   * ring's signals go out in that ring's sequence order (the per-stream order the strategy decided in).
   */
  private publishCommitted(): void {
    if (this.closed) return;
    try {
      for (;;) {
        const r = this.region.drainSignals(this.signalBatch);
        if (r.missed > 0) throw new BusEngineError(`signal ring overwrote ${r.missed} signals`);
        for (let k = 0; k < r.count; k++) {
          const sig = this.signalBatch.get(k);
          const { venue, symbol } = ringStream(this.region.symbols[sig.symbolId] ?? '');
          this.publishSignal(sig, venue, symbol, 0n, sig.tickTsNs);
        }
        if (r.count < this.signalBatch.capacity) return;
      }
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
    }
  }

  private onTick(data: Uint8Array): void {
    this.s.received++;
    let t: NormalizedTick;
    try {
      t = fromProto(fromBinary(TickSchema, data));
    } catch {
      this.s.malformed++;
      return;
    }
    const ring = this.ringOf.get(ringName(t.venue, t.symbol));
    if (ring === undefined) {
      this.s.foreign++;
      return;
    }
    this.pending.push(t);
    this.pendingRing.push(ring);
    if (!this.scheduled && this.flushing === undefined) {
      this.scheduled = true;
      // Everything that arrives within this turn of the event loop goes into one batch.
      setImmediate(() => {
        this.scheduled = false;
        this.kick();
      });
    }
  }

  private kick(): void {
    if (this.flushing !== undefined || this.pending.length === 0) return;
    this.flushing = this.flushAll()
      .catch((err: unknown) => {
        this.failure = err instanceof Error ? err : new Error(String(err));
      })
      .finally(() => {
        this.flushing = undefined;
        if (this.pending.length > 0 && this.failure === undefined) this.kick();
      });
  }

  private async flushAll(): Promise<void> {
    while (this.pending.length > 0) {
      const n = Math.min(this.pending.length, this.chunkSize);
      const ticks = this.pending.splice(0, n);
      const rings = this.pendingRing.splice(0, n);
      await this.process(ticks, rings);
    }
  }

  /** One batch: push per ring, wait until the engine consumed it, then publish its signals in tick order. */
  private async process(ticks: NormalizedTick[], rings: number[]): Promise<void> {
    const seqInBatch = new Array<number>(ticks.length);
    for (let i = 0; i < ticks.length; i++) {
      const r = rings[i]!;
      const b = (this.ringBatches[r] ??= new TickBatch(this.chunkSize));
      seqInBatch[i] = b.count;
      b.push(tickFromNormalized(ticks[i]!), r);
    }
    for (let r = 0; r < this.ringBatches.length; r++) {
      const b = this.ringBatches[r];
      if (b === undefined || b.count === 0) continue;
      this.seqBase[r] = this.region.pushBatch(r, b);
      this.s.pushed += b.count;
      b.clear();
    }
    // The engine counts a batch as processed after its strategy published the batch's signals.
    while (this.engine.stats().ticks < this.s.pushed) {
      if (!this.engine.running) throw this.engine.lastError() ?? new BusEngineError('engine thread stopped');
      this.drainRing();
      await new Promise((r) => setImmediate(r));
    }
    this.drainRing();
    for (let i = 0; i < ticks.length; i++) {
      const r = rings[i]!;
      const key = r * 2 ** 32 + this.seqBase[r]! + seqInBatch[i]!;
      const sigs = this.bySeq.get(key);
      if (sigs === undefined) continue;
      this.bySeq.delete(key);
      const t = ticks[i]!;
      for (const s of sigs) this.publishSignal(s, t.venue, t.symbol, t.exchTsNs, t.recvTsNs);
    }
  }

  private drainRing(): void {
    for (;;) {
      const r = this.region.drainSignals(this.signalBatch);
      if (r.missed > 0) throw new BusEngineError(`signal ring overwrote ${r.missed} signals`);
      for (let k = 0; k < r.count; k++) {
        const sig = this.signalBatch.get(k);
        const key = sig.symbolId * 2 ** 32 + Number(sig.sourceSeq);
        const list = this.bySeq.get(key);
        if (list) list.push(sig);
        else this.bySeq.set(key, [sig]);
      }
      if (r.count < this.signalBatch.capacity) return;
    }
  }

  private publishSignal(s: SignalRecordView, venue: string, symbol: string, exchTsNs: bigint, recvTsNs: bigint): void {
    const traceId = traceIdHex(s);
    const msg = create(SignalSchema, {
      strategyId: this.strategy,
      symbol,
      venue,
      side: s.side,
      size: s.size,
      confidence: s.confidence,
      ttlMs: s.ttlMs,
      maxSlippageBps: s.maxSlippageBps,
      minFillQty: s.minFillQty,
      urgency: s.urgency,
      traceId,
      sourceSequence: s.sourceSeq,
      sourceExchTsNs: exchTsNs,
      sourceRecvTsNs: recvTsNs,
      emitTsNs: this.opts.clock.nowNs(),
      refPrice: s.refPrice,
      regime: s.regime,
    });
    addSignal(this.digest, venue, msg);
    this.s.signals++;
    this.opts.bus.publish(subjects.signal(this.strategy, symbol, this.ns), toBinary(SignalSchema, msg), {
      headers: { [headers.traceId]: traceId, [headers.strategyId]: this.strategy },
    });
  }

  /** Stop intake, push and publish what was received, flush the bus; the engine thread stops. */
  async drain(): Promise<void> {
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
    if (this.opts.source.kind === 'region') {
      // What md already pushed is consumed and its signals published (a real-time wait, bounded).
      for (let waited = 0; waited < 10_000 && this.engine.running; waited += 10) {
        if (this.region.counters().ticks.every((r) => r.occupancy === 0)) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      this.publishCommitted();
    }
    // A message already handed to this process is processed, not lost.
    await new Promise((r) => setImmediate(r));
    while (this.flushing !== undefined || (this.pending.length > 0 && this.failure === undefined)) {
      if (this.flushing === undefined) this.kick();
      await this.flushing;
    }
    await this.opts.bus.flush();
    this.close();
    if (this.failure) throw this.failure;
  }

  close(): void {
    if (this.closed) return;
    this.stats();
    this.closed = true;
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
    this.engine.stop();
    // An attached region is md's: only the owner unlinks it.
    if (this.region.owner) this.region.unlink();
    this.region.close();
  }

  stats(): BusEngineStats {
    // Attached: the ticks are md's pushes, counted by the engine thread as it consumes them.
    if (this.opts.source.kind === 'region' && !this.closed) this.s.received = this.s.pushed = Number(this.engine.stats().ticks);
    return { ...this.s, signalDigest: this.digest.hex() };
  }
}
