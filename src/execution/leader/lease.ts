/**
 * The leader lock of one executor account: a key in a JetStream KV bucket whose TTL (the stream's
 * max age) removes it when its holder stops renewing. `kestrel run executor` processes configured
 * with the same `execution.leader.key` compete for it: one holds it and trades, the others stand by
 * (docs/EXECUTION.md "Standby executor and leader lock").
 *
 * - Acquire: `kv.create` succeeds only while the key is absent (never written, expired, deleted).
 *   Its revision (a stream sequence, strictly increasing over the bucket's life) is the epoch, the
 *   fencing token: a later leader always holds a higher epoch.
 * - Renew: every `renew_ms`, `kv.update` compare-and-set on the last revision. A failed CAS means
 *   another process holds the key: the lease is lost at once. Any other failure (timeout, NATS
 *   partition) is retried on the next tick, while the deadline below runs out.
 * - Deadline: the lease is valid until the START of the last acknowledged renewal + ttl − margin,
 *   on this process's monotonic clock. The server removes the key no earlier than ttl after it
 *   stored that renewal, which happened after the renewal started, so this leader stops at least
 *   `margin_ms` before any standby can acquire. `holds()` reads the clock each time, so a process
 *   that was frozen (GC pause, SIGSTOP, VM stall) longer than the TTL finds its lease gone on the
 *   first check after it wakes, before any timer has run.
 * - Standby: tries `kv.create` every `renew_ms`, and at once when a watch sees the key deleted (a
 *   leader that stops cleanly releases it, so a planned handover takes one round trip).
 */
import { KvWatchInclude, type KV, type NatsConnection, type QueuedIterator, type KvEntry } from 'nats';
import { KestrelError } from '../../contracts/errors.js';
import { monotonicMs } from '../../clock/monotonic.js';
import type { Logger } from '../../observability/logger.js';

/** `execution.leader` (src/config/schema.ts), as the lock uses it. */
export interface LeaderSettings {
  enabled: boolean;
  /** The account's lock name: every executor trading this account (sharing its WAL) uses the same key. */
  key: string;
  /** Key TTL: a dead leader's key disappears this long after its last renewal. */
  ttl_ms: number;
  /** Renewal period of the leader and retry period of a standby. */
  renew_ms: number;
  /** The leader stops sending this long before its key can expire (clock-rate and scheduling slack). */
  margin_ms: number;
}

export class LeaderLockError extends KestrelError {
  override readonly name = 'LeaderLockError';
  constructor(message: string, options?: ErrorOptions) {
    super('LEADER_LOCK', message, options);
  }
}

/** Thrown by the fence when something tries to send (or take in) a message without a valid lease. */
export class LeaseLostError extends KestrelError {
  override readonly name = 'LeaseLostError';
  constructor(message: string) {
    super('LEADER_LEASE_LOST', message);
  }
}

/** Why the lease ended. */
export type LeaseLoss = 'expired' | 'taken' | 'released';

export interface LeaderLeaseOptions {
  nc: NatsConnection;
  settings: LeaderSettings;
  /** Namespace of the executor: live and replay executors never share a lock. */
  namespace: string;
  /** Who holds the key (host:pid), for operators reading the bucket. */
  holder: string;
  log: Logger;
  /** Monotonic ms (tests freeze or skew it); default src/clock/monotonic.ts. */
  now?: () => number;
}

/** JetStream KV bucket of the locks of one namespace; its TTL is fixed when it is created. */
export function leaderBucket(namespace: string): string {
  return `KESTREL_LEADER_${namespace}`;
}

const enc = new TextEncoder();

export class LeaderLease {
  private kv: KV | undefined;
  private revision = 0;
  private _epoch = 0;
  /** Monotonic ms until which this process may act as leader; 0 = not leader. */
  private deadline = 0;
  private lost: LeaseLoss | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private readonly lostHandlers: Array<(why: LeaseLoss) => void> = [];
  private readonly now: () => number;
  private closed = false;
  /** Why the last renewal failed (kept for the log line when the lease runs out). */
  private lastRenewError: string | undefined;
  private renewalsStarted = 0;
  private renewalsDone = 0;

  constructor(private readonly o: LeaderLeaseOptions) {
    this.now = o.now ?? monotonicMs;
    const s = o.settings;
    if (!(2 * s.renew_ms + s.margin_ms <= s.ttl_ms))
      throw new LeaderLockError(
        `leader lock: 2 × renew_ms + margin_ms must not exceed ttl_ms (${s.renew_ms}, ${s.margin_ms}, ${s.ttl_ms})`,
      );
  }

  /** The fencing token of the current term (0 before the first acquisition). */
  get epoch(): number {
    return this._epoch;
  }

  /** True while the lease is valid: checked synchronously against the monotonic clock. */
  holds(): boolean {
    if (this.lost !== undefined || this.deadline === 0) return false;
    const now = this.now();
    if (now < this.deadline) return true;
    this.o.log.error(
      {
        lock: this.o.settings.key,
        lateMs: Math.round(now - this.deadline),
        lastRenewError: this.lastRenewError,
        renewalsPending: this.renewalsStarted - this.renewalsDone,
      },
      'leader lease ran out without renewal',
    );
    this.lose('expired');
    return false;
  }

  /** Called once when a held lease ends (expired, taken by another process, or released). */
  onLost(fn: (why: LeaseLoss) => void): void {
    this.lostHandlers.push(fn);
  }

  private async bucket(): Promise<KV> {
    if (this.kv) return this.kv;
    // A renewal may take up to the validity it would extend: a slow answer still counts from its start.
    const js = this.o.nc.jetstream({ timeout: this.o.settings.ttl_ms - this.o.settings.margin_ms });
    const kv = await js.views.kv(leaderBucket(this.o.namespace), { ttl: this.o.settings.ttl_ms, history: 1 });
    const st = await kv.status();
    // The TTL belongs to the bucket: a different configured TTL would silently not apply.
    if (st.ttl !== this.o.settings.ttl_ms)
      throw new LeaderLockError(
        `leader lock bucket ${leaderBucket(this.o.namespace)} has ttl ${st.ttl} ms, config says ${this.o.settings.ttl_ms} ms: every executor of the account must use one TTL (delete the bucket to change it)`,
      );
    this.kv = kv;
    return kv;
  }

  private value(): Uint8Array {
    return enc.encode(JSON.stringify({ holder: this.o.holder, epoch: this._epoch }));
  }

  /** One attempt to take the key; true when this process is now the leader. */
  async tryAcquire(): Promise<boolean> {
    const kv = await this.bucket();
    const started = this.now();
    try {
      this.revision = await kv.create(this.o.settings.key, enc.encode(JSON.stringify({ holder: this.o.holder })));
    } catch {
      return false; // held by someone else (or NATS unavailable: the next attempt tells)
    }
    this._epoch = this.revision;
    this.deadline = started + this.o.settings.ttl_ms - this.o.settings.margin_ms;
    // Record the epoch in the value (a CAS on the revision just created: nobody can have moved it).
    await this.renew();
    this.startRenewing();
    this.o.log.info({ lock: this.o.settings.key, epoch: this._epoch, holder: this.o.holder }, 'leader lease acquired');
    return true;
  }

  /**
   * Stand by until this process holds the lease (or `signal` aborts: then rejects). `onStandby` is
   * called once when the first attempt finds the key held.
   */
  async acquire(opts: { signal?: AbortSignal; onStandby?: () => void } = {}): Promise<number> {
    const kv = await this.bucket();
    let watch: QueuedIterator<KvEntry> | undefined;
    let wake: (() => void) | undefined;
    try {
      for (let first = true; ; first = false) {
        if (opts.signal?.aborted) throw new LeaderLockError('standby aborted');
        if (await this.tryAcquire()) return this._epoch;
        if (first) {
          opts.onStandby?.();
          // Deletes and purges (a clean release) wake the standby at once instead of at the next poll.
          watch = await kv.watch({ key: this.o.settings.key, include: KvWatchInclude.UpdatesOnly });
          void (async () => {
            for await (const e of watch) if (e.operation !== 'PUT') wake?.();
          })().catch(() => undefined);
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, this.o.settings.renew_ms);
          wake = () => (clearTimeout(t), resolve());
          opts.signal?.addEventListener('abort', wake, { once: true });
        });
      }
    } finally {
      watch?.stop();
    }
  }

  private async renew(): Promise<void> {
    const kv = this.kv!;
    const started = this.now();
    this.renewalsStarted++;
    try {
      this.revision = await kv.update(this.o.settings.key, this.value(), this.revision);
    } catch (err) {
      this.lastRenewError = String(err);
      if (this.lost !== undefined) return;
      // "wrong last sequence": the key moved under us (expired and re-created by another process).
      const code = (err as { api_error?: { err_code?: number } }).api_error?.err_code;
      if (code === 10071 || /wrong last sequence/i.test(String((err as Error).message))) {
        this.o.log.error({ lock: this.o.settings.key, epoch: this._epoch }, 'leader lease taken by another executor');
        this.lose('taken');
      } else {
        this.o.log.warn({ lock: this.o.settings.key, err: String(err) }, 'leader lease renewal failed');
      }
      return;
    } finally {
      this.renewalsDone++;
    }
    if (this.lost === undefined) this.deadline = started + this.o.settings.ttl_ms - this.o.settings.margin_ms;
  }

  private startRenewing(): void {
    let busy = false;
    this.renewTimer = setInterval(() => {
      if (busy || this.lost !== undefined) return;
      busy = true;
      void this.renew().finally(() => (busy = false));
    }, this.o.settings.renew_ms);
    // The deadline is also checked on its own, so a lease runs out even when nothing is sent. A late
    // tick is an event-loop stall: logged, since ttl_ms − margin_ms must exceed the longest one.
    const every = Math.max(10, Math.floor(this.o.settings.margin_ms / 4));
    let last = this.now();
    this.watchdog = setInterval(() => {
      const now = this.now();
      if (now - last > every + this.o.settings.margin_ms / 2)
        this.o.log.warn({ lock: this.o.settings.key, stallMs: Math.round(now - last - every) }, 'event loop stalled while leading');
      last = now;
      this.holds();
    }, every);
  }

  private lose(why: LeaseLoss): void {
    if (this.lost !== undefined) return;
    this.lost = why;
    this.deadline = 0;
    clearInterval(this.renewTimer);
    clearInterval(this.watchdog);
    if (why !== 'released') this.o.log.error({ lock: this.o.settings.key, epoch: this._epoch, why }, 'leader lease lost: stop sending');
    for (const fn of this.lostHandlers) fn(why);
  }

  /** Stop renewing; when still the leader, delete the key so that a standby takes over at once. */
  async release(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const held = this.lost === undefined && this.deadline !== 0;
    this.lose('released');
    if (held && this.kv) {
      try {
        await this.kv.delete(this.o.settings.key, { previousSeq: this.revision });
      } catch (err) {
        // Someone else holds it already, or NATS is gone: the TTL removes it.
        this.o.log.warn({ err: String(err) }, 'leader lease release failed; the key expires by TTL');
      }
    }
  }
}
