/**
 * The process's audit log: one hash chain over one sink, fed from the order hot path without ever
 * waiting on I/O there. `record` only appends to a bounded in-memory queue (no hashing, no encoding);
 * a drain scheduled with setImmediate builds and chains the events in record order and hands them to
 * the sink in batches (one write + one fdatasync, or pipelined JetStream publishes).
 *
 * What is durable when: an event is durable once its batch's `appendBatch` resolved (`flush()` waits
 * for everything recorded so far). A crash loses at most the queued and in-flight events; the order
 * WAL, not the audit, is the authority for order state, and its records are fsync'ed before a send.
 *
 * Never silent: a full queue drops the new event but counts it, logs, reports unhealthy, and writes an
 * `audit_gap` event (how many, first and last time) into the chain as soon as there is room, so the
 * trail itself shows the hole. A failed write is retried (same event ids: JetStream dedupes) with
 * backoff and counted; callers waiting on durability hear the failure.
 */
import { randomBytes } from 'node:crypto';
import { create, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { AnySchema, type Any } from '@bufbuild/protobuf/wkt';
import type { Clock } from '../clock/clock.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { AuditChain } from './chain.js';
import type { AuditSink } from './sinks.js';

/** A packed payload, or a function building it at drain time (off the hot path). */
export type PayloadSource = Any | (() => Any);

export function packRaw(typeName: string, value: Uint8Array): Any {
  return create(AnySchema, { typeUrl: `type.googleapis.com/${typeName}`, value });
}

export function pack<Desc extends DescMessage>(schema: Desc, msg: MessageShape<Desc>): Any {
  return packRaw(schema.typeName, toBinary(schema, msg));
}

interface Pending {
  eventType: string;
  traceId: string;
  tsNs: bigint;
  payload: PayloadSource;
  metadata: Record<string, string>;
  seq: number;
}

export interface AuditLogOptions {
  service: string;
  replay: boolean;
  clock: Clock;
  /** Events queued before new ones are dropped (and counted). Default 65,536. */
  capacity?: number;
  /** Events per sink write. Default 1,024. */
  maxBatch?: number;
  /**
   * Events chained per event-loop turn while a batch is built (hashing and encoding are CPU work on
   * the loop the orders share: a slice bounds how long a signal can wait behind it). Default 32.
   */
  sliceEvents?: number;
  /** First retry delay after a failed write; doubles up to 5 s. Default 50 ms. */
  retryMs?: number;
  logger?: Logger;
}

export interface AuditHealth {
  ok: boolean;
  queued: number;
  recorded: number;
  written: number;
  dropped: number;
  failedWrites: number;
  lastError?: string;
}

export class AuditLog {
  private readonly queue: Pending[] = [];
  private batch: ReturnType<AuditChain['nextAny']>[] = [];
  private batchSeq = 0;
  private seq = 0;
  private writtenSeq = 0;
  private scheduled = false;
  private writing = false;
  private closed = false;
  private retryDelay: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private gap: { count: number; firstNs: bigint; lastNs: bigint } | undefined;
  private lastError: string | undefined;
  private waiters: Array<{ seq: number; resolve: () => void; reject: (e: Error) => void }> = [];
  private readonly capacity: number;
  private readonly maxBatch: number;
  private readonly log: Logger;
  private readonly failureListeners: Array<(h: AuditHealth) => void> = [];
  readonly stats = { recorded: 0, written: 0, dropped: 0, failedWrites: 0, batches: 0, maxQueued: 0 };

  private constructor(
    private readonly chain: AuditChain,
    private readonly sink: AuditSink,
    private readonly opts: AuditLogOptions,
  ) {
    this.capacity = opts.capacity ?? 65_536;
    this.maxBatch = opts.maxBatch ?? 1024;
    this.retryDelay = opts.retryMs ?? 50;
    this.log = opts.logger ?? createLogger('audit');
  }

  /**
   * Continue the chain from the sink's last stored event. The events' `service` is
   * `{service}/{instance}` (8 random hex digits per open): several writers may share one stream, and
   * verification follows each writer's own links (see verifyEvents).
   */
  static async open(sink: AuditSink, opts: AuditLogOptions): Promise<AuditLog> {
    const writer = `${opts.service}/${randomBytes(4).toString('hex')}`;
    return new AuditLog(new AuditChain(writer, opts.replay, await sink.head()), sink, opts);
  }

  /** Called when events are dropped or a write fails (once per incident, again after a recovery). */
  onFailure(cb: (h: AuditHealth) => void): void {
    this.failureListeners.push(cb);
  }

  /** Queue one event; never blocks. Returns false when the queue was full (the drop is counted). */
  record(eventType: string, traceId: string, payload: PayloadSource, metadata: Record<string, string> = {}): boolean {
    const tsNs = this.opts.clock.nowNs();
    if (this.closed || this.queue.length >= this.capacity) {
      this.stats.dropped++;
      if (!this.gap) {
        this.gap = { count: 0, firstNs: tsNs, lastNs: tsNs };
        this.fail(this.closed ? 'event recorded after close' : `audit queue full (${this.capacity} events)`);
      }
      this.gap.count++;
      this.gap.lastNs = tsNs;
      return false;
    }
    this.queue.push({ eventType, traceId, tsNs, payload, metadata, seq: ++this.seq });
    this.stats.recorded++;
    if (this.queue.length > this.stats.maxQueued) this.stats.maxQueued = this.queue.length;
    this.schedule();
    return true;
  }

  /** Queue one event and resolve once it is durable (control commands: audited before answered). */
  recordDurable(eventType: string, traceId: string, payload: PayloadSource, metadata: Record<string, string> = {}): Promise<void> {
    if (!this.record(eventType, traceId, payload, metadata))
      return Promise.reject(new Error(`audit event not recorded: ${this.lastError ?? 'queue full'}`));
    return this.waitFor(this.seq);
  }

  /** Resolves once every event recorded before the call is durable; rejects if a write of them fails. */
  flush(): Promise<void> {
    return this.waitFor(this.seq);
  }

  get health(): AuditHealth {
    return {
      ok: this.stats.dropped === 0 && this.lastError === undefined,
      queued: this.queue.length + this.batch.length,
      recorded: this.stats.recorded,
      written: this.stats.written,
      dropped: this.stats.dropped,
      failedWrites: this.stats.failedWrites,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  /** Write what is queued (waiting at most `timeoutMs` for a failing sink), then close the sink. */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    const done = await Promise.race([this.drainAll(), deadline]);
    clearTimeout(timer);
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (done === 'timeout') {
      const lost = this.queue.length + this.batch.length;
      this.stats.dropped += lost;
      this.log.error({ lost, lastError: this.lastError }, 'audit sink still failing at close: queued events not written');
      this.rejectWaiters(new Error(`audit closed with ${lost} unwritten events`));
    }
    await this.sink.close();
  }

  private async drainAll(): Promise<void> {
    for (;;) {
      const target = this.seq;
      if (this.writtenSeq >= target && !this.gap) return;
      try {
        await this.waitFor(target);
      } catch {
        // retried by the drain; keep waiting until the deadline
      }
      if (this.gap) this.schedule();
      await new Promise((r) => setImmediate(r));
    }
  }

  private waitFor(seq: number): Promise<void> {
    if (this.writtenSeq >= seq) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ seq, resolve, reject }));
  }

  private schedule(): void {
    if (this.closed || this.scheduled || this.writing || this.retryTimer) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      for (;;) {
        if (this.batch.length === 0) await this.take();
        if (this.batch.length === 0) return;
        try {
          await this.sink.appendBatch(this.batch);
        } catch (err) {
          this.stats.failedWrites++;
          const msg = err instanceof Error ? err.message : String(err);
          if (this.lastError === undefined) this.fail(`audit write failed: ${msg}`);
          this.lastError = `audit write failed: ${msg}`;
          this.rejectWaiters(new Error(this.lastError), this.batchSeq);
          if (this.closed) return; // given up at close: counted there
          // Same events (same ids, same chain links) again later.
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            void this.drain();
          }, this.retryDelay);
          this.retryDelay = Math.min(this.retryDelay * 2, 5000);
          return;
        }
        this.stats.written += this.batch.length;
        this.stats.batches++;
        this.batch = [];
        this.writtenSeq = this.batchSeq;
        if (this.lastError !== undefined) {
          this.log.warn({ failedWrites: this.stats.failedWrites }, 'audit sink writing again');
          this.lastError = undefined;
          this.retryDelay = this.opts.retryMs ?? 50;
        }
        this.resolveWaiters();
      }
    } finally {
      this.writing = false;
    }
  }

  /** Chain the next batch: a pending gap record first, then queued events in record order, a slice per turn. */
  private async take(): Promise<void> {
    const out: ReturnType<AuditChain['nextAny']>[] = [];
    const slice = this.opts.sliceEvents ?? 32;
    if (this.gap && this.queue.length < this.capacity) {
      const g = this.gap;
      this.gap = undefined;
      const meta = { dropped: String(g.count), first_ts_ns: String(g.firstNs), last_ts_ns: String(g.lastNs) };
      out.push(this.chain.nextAny('audit_gap', '', packRaw('google.protobuf.Empty', new Uint8Array()), this.opts.clock.nowNs(), meta));
    }
    for (;;) {
      const n = Math.min(this.queue.length, slice, this.maxBatch - out.length);
      for (let i = 0; i < n; i++) {
        const p = this.queue[i]!;
        const payload = typeof p.payload === 'function' ? p.payload() : p.payload;
        out.push(this.chain.nextAny(p.eventType, p.traceId, payload, p.tsNs, p.metadata));
        this.batchSeq = p.seq;
      }
      this.queue.splice(0, n);
      if (this.queue.length === 0 || out.length >= this.maxBatch) break;
      await new Promise((r) => setImmediate(r));
    }
    this.batch = out;
  }

  private fail(reason: string): void {
    this.log.error({ reason, dropped: this.stats.dropped, failedWrites: this.stats.failedWrites }, 'audit trail degraded');
    const h = { ...this.health, ok: false, lastError: reason };
    for (const cb of this.failureListeners) cb(h);
  }

  private resolveWaiters(): void {
    const keep = [];
    for (const w of this.waiters)
      if (w.seq <= this.writtenSeq) w.resolve();
      else keep.push(w);
    this.waiters = keep;
  }

  private rejectWaiters(err: Error, upTo = Infinity): void {
    const keep = [];
    for (const w of this.waiters)
      if (w.seq <= upTo) w.reject(err);
      else keep.push(w);
    this.waiters = keep;
  }
}
