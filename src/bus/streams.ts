/**
 * The durable streams of Kestrel, in one place: which subjects each stores, its retention, its
 * de-duplication window, and the idempotency key (Nats-Msg-Id) of each message kind.
 *
 *   ord   (replay: replay_ord)    ord.ack.*                              venue acks and fills
 *   risk  (replay: replay_risk)   risk.breach, risk.limits, risk.status  risk events and state
 *   audit (replay: replay_audit)  audit.>                                the hash-chained audit trail
 *
 * Request-reply subjects (ord.req.*, ord.cancel.req, ord.replace.req, risk.check) are NOT captured:
 * a stream answers every request on its subjects with a publish ack, which would reach the
 * requester's inbox before (or instead of) the service's answer.
 */
import { BusError, type Bus, type ConsumerLag, type DurableConsumer, type Headers, type StreamSpec, type StreamState } from './bus.js';
import { subjects, patterns, type Namespace } from '../contracts/subjects.js';
import { counter, gauge } from '../observability/metrics.js';

/** Retention of one stream (config keys bus.streams.<stream>.*); 0 = unlimited. */
export interface StreamRetention {
  max_age_s: number;
  max_bytes: number;
  max_msgs: number;
  duplicate_window_s: number;
}

export interface StreamsConfig {
  ord: StreamRetention;
  risk: StreamRetention;
  audit: StreamRetention;
  /** A durable consumer whose backlog (pending + unacked) exceeds this is reported as slow. */
  slow_consumer_pending: number;
}

const DAY_S = 24 * 3600;

/** Defaults, also written out in config/default.yaml (bus.streams). */
export const DEFAULT_STREAMS: StreamsConfig = {
  ord: { max_age_s: 30 * DAY_S, max_bytes: 10 * 1024 ** 3, max_msgs: 0, duplicate_window_s: 120 },
  risk: { max_age_s: 30 * DAY_S, max_bytes: 1024 ** 3, max_msgs: 0, duplicate_window_s: 120 },
  // SPEC: the audit trail is kept 7 years.
  audit: { max_age_s: 7 * 365 * DAY_S, max_bytes: 0, max_msgs: 0, duplicate_window_s: 120 },
  slow_consumer_pending: 10_000,
};

export type StreamKey = 'ord' | 'risk' | 'audit';
export const STREAM_KEYS: readonly StreamKey[] = ['ord', 'risk', 'audit'];

export function streamName(key: StreamKey, ns: Namespace): string {
  return ns === 'live' ? key : `replay_${key}`;
}

function streamSubjects(key: StreamKey, ns: Namespace): string[] {
  switch (key) {
    case 'ord':
      return [patterns.orderAcksAll(ns)];
    case 'risk':
      return [subjects.riskBreach(ns), subjects.riskLimits(ns), subjects.riskStatus(ns)];
    case 'audit':
      return [patterns.auditAll(ns)];
  }
}

export function streamSpec(key: StreamKey, ns: Namespace, r: StreamRetention = DEFAULT_STREAMS[key]): StreamSpec {
  return {
    name: streamName(key, ns),
    subjects: streamSubjects(key, ns),
    maxAgeS: r.max_age_s,
    maxBytes: r.max_bytes,
    maxMsgs: r.max_msgs,
    duplicateWindowS: r.duplicate_window_s,
  };
}

/** Idempotency keys: the same event published twice (a retry, a restarted publisher) is stored once. */
export const msgIds = {
  /** Client order id + the event: its status and cumulative fill (each partial fill is its own event). */
  orderAck: (clientId: string, status: number, filledQty: number): string => `${clientId}:${status}:${filledQty}`,
  /** A risk decision: the limit, what it was about and when it was taken. */
  riskBreach: (limit: string, symbol: string, tsNs: bigint): string => `breach:${limit}:${symbol}:${tsNs}`,
  /** The audit event id. */
  audit: (eventId: string): string => eventId,
};

export interface DurablePublishErrorSink {
  (err: unknown, subject: string): void;
}

const publishFailures = counter('bus_durable_publish_failures_total', 'Durable (JetStream) publishes the stream did not acknowledge', [
  'stream',
]);
const duplicates = counter('bus_durable_duplicates_total', 'Durable publishes recognised as duplicates by their msg id', ['stream']);

/**
 * The streams of one namespace, created or updated on the bus. Publishers that hold one publish
 * their events durably; without one (tests, a bus without streams) they publish plainly.
 */
export class DurableStreams {
  private constructor(
    readonly bus: Bus,
    readonly ns: Namespace,
    readonly config: StreamsConfig,
    readonly states: readonly StreamState[],
    private readonly onError: DurablePublishErrorSink,
  ) {}

  name(key: StreamKey): string {
    return streamName(key, this.ns);
  }

  /**
   * Fire-and-forget durable publish: subscribers get the message at once (like publish), the
   * stream's ack is awaited in the background; a refusal is counted and reported, never ignored.
   */
  publish(subject: string, data: Uint8Array, msgId: string, headers?: Headers): void {
    this.bus.publishDurable(subject, data, { msgId, ...(headers ? { headers } : {}) }).then(
      (r) => {
        if (r.duplicate) duplicates.inc({ stream: r.stream });
      },
      (err: unknown) => {
        const bare = subject.startsWith('replay.') ? subject.slice('replay.'.length) : subject;
        publishFailures.inc({ stream: STREAM_KEYS.find((k) => bare.startsWith(`${k}.`)) ?? 'unknown' });
        this.onError(err, subject);
      },
    );
  }

  static async ensure(bus: Bus, ns: Namespace, opts: EnsureStreamsOptions = {}): Promise<DurableStreams> {
    const config = opts.config ?? DEFAULT_STREAMS;
    const states: StreamState[] = [];
    for (const key of opts.keys ?? STREAM_KEYS) states.push(await bus.ensureStream(streamSpec(key, ns, config[key])));
    return new DurableStreams(
      bus,
      ns,
      config,
      states,
      opts.onError ?? ((err, subject) => process.emitWarning(`durable publish on ${subject} failed: ${String(err)}`)),
    );
  }
}

export interface EnsureStreamsOptions {
  /** bus.streams (default DEFAULT_STREAMS). */
  config?: StreamsConfig;
  /** The streams this process publishes or consumes (default all); a NATS identity may manage only its own. */
  keys?: readonly StreamKey[];
  /** A durable publish the stream did not acknowledge (also counted in kestrel_bus_durable_publish_failures_total). */
  onError?: DurablePublishErrorSink;
}

/** Publish an event durably with its idempotency key when the process holds streams, plainly otherwise. */
export function publishEvent(
  bus: Bus,
  streams: DurableStreams | undefined,
  subject: string,
  data: Uint8Array,
  msgId: string,
  headers?: Headers,
): void {
  if (streams) streams.publish(subject, data, msgId, headers);
  else bus.publish(subject, data, headers ? { headers } : undefined);
}

/** Create (or update) the ord, risk and audit streams of `ns` (or `opts.keys`). */
export function ensureStreams(bus: Bus, ns: Namespace, opts: EnsureStreamsOptions = {}): Promise<DurableStreams> {
  return DurableStreams.ensure(bus, ns, opts);
}

const backlogGauge = gauge('bus_consumer_backlog', 'Durable consumer backlog: messages pending delivery plus delivered but unacked', [
  'stream',
  'durable',
]);
const slowGauge = gauge('bus_consumer_slow', '1 while a durable consumer is above its backlog bound', ['stream', 'durable']);
const slowEvents = counter('bus_consumer_slow_total', 'Times a durable consumer crossed its backlog bound', ['stream', 'durable']);

export interface LagReport {
  stream: string;
  durable: string;
  lag: ConsumerLag;
  bound: number;
  slow: boolean;
}

export interface ConsumerMonitorOptions {
  /** Backlog (numPending + numAckPending) above which the consumer is slow. */
  bound: number;
  intervalMs?: number;
  /** Log line on each transition into (and out of) slow. */
  log: (level: 'warn' | 'info', msg: string, fields: Record<string, unknown>) => void;
}

/**
 * Watches durable consumers' backlogs. A slow consumer is reported — gauge kestrel_bus_consumer_slow,
 * counter kestrel_bus_consumer_slow_total, a warn line, and `healthy` false (a readiness check) —
 * while its messages stay in the stream: nothing is dropped, it catches up or an operator acts.
 */
export class ConsumerMonitor {
  private readonly consumers: DurableConsumer[] = [];
  private readonly slow = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private errors = 0;

  constructor(private readonly opts: ConsumerMonitorOptions) {
    if (!(opts.bound > 0)) throw new BusError(`slow-consumer bound must be > 0, got ${opts.bound}`);
  }

  watch(c: DurableConsumer): this {
    this.consumers.push(c);
    if (!this.timer) {
      this.timer = setInterval(() => void this.check().catch(() => this.errors++), this.opts.intervalMs ?? 5000);
      this.timer.unref();
    }
    return this;
  }

  /** True while no watched consumer is above the bound. */
  get healthy(): boolean {
    return this.slow.size === 0;
  }

  get slowConsumers(): string[] {
    return [...this.slow];
  }

  async check(): Promise<LagReport[]> {
    const out: LagReport[] = [];
    for (const c of this.consumers) {
      const lag = await c.lag();
      const backlog = lag.numPending + lag.numAckPending;
      const labels = { stream: c.stream, durable: c.durable };
      const key = `${c.stream}/${c.durable}`;
      const slow = backlog > this.opts.bound;
      backlogGauge.set(labels, backlog);
      slowGauge.set(labels, slow ? 1 : 0);
      if (slow && !this.slow.has(key)) {
        this.slow.add(key);
        slowEvents.inc(labels);
        this.opts.log('warn', 'slow durable consumer: backlog above bound (messages kept in the stream)', {
          ...labels,
          ...lag,
          bound: this.opts.bound,
        });
      } else if (!slow && this.slow.has(key)) {
        this.slow.delete(key);
        this.opts.log('info', 'durable consumer caught up', { ...labels, ...lag, bound: this.opts.bound });
      }
      out.push({ ...labels, lag, bound: this.opts.bound, slow });
    }
    return out;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
