/** Bus over a real NATS server (npm `nats` v2). */
import {
  AckPolicy,
  connect,
  DeliverPolicy,
  headers as natsHeaders,
  ErrorCode,
  NatsError,
  nanos,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type JsMsg,
  type StreamConfig,
  type StreamInfo,
  type ConnectionOptions,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
} from 'nats';
import { maskUrlCredentials } from '../observability/redact.js';
import { natsConnectionSecurity, type NatsSecurity } from './nats-security.js';
import {
  BusError,
  BusTimeoutError,
  NoRespondersError,
  validateSubject,
  type Bus,
  type BusMessage,
  type ConsumerLag,
  type DurableConsumeOptions,
  type DurableConsumer,
  type DurableHandler,
  type DurableMessage,
  type DurablePublishOptions,
  type DurablePublishResult,
  type StreamSpec,
  type StreamState,
  type Handler,
  type Headers,
  type PublishOptions,
  type RequestOptions,
  type SubscribeOptions,
  type Subscription,
} from './bus.js';

export interface NatsBusOptions {
  servers: string | string[];
  name?: string;
  onHandlerError?: (err: unknown, subject: string) => void;
  connectTimeoutMs?: number;
  /** Identity (user/password, nkey, token) and TLS files: see nats-security.ts. */
  security?: NatsSecurity;
  /**
   * Errors the server reports asynchronously, above all permission violations (a publish or
   * subscribe this identity may not do: the server drops it). Default: a process warning.
   */
  onServerError?: (err: Error) => void;
}

function toNatsHeaders(h: Headers | undefined): MsgHdrs | undefined {
  if (!h) return undefined;
  const keys = Object.keys(h);
  if (keys.length === 0) return undefined;
  const out = natsHeaders();
  for (const k of keys) out.set(k, h[k]!);
  return out;
}

/** JetStream configuration of a stream definition (limits retention, file storage); 0 or less = unlimited. */
export function natsStreamConfig(spec: StreamSpec): Partial<StreamConfig> & { name: string } {
  const unlimited = (n: number): number => (n > 0 ? n : -1);
  return {
    name: spec.name,
    subjects: [...spec.subjects],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: spec.replicas ?? 1,
    max_age: spec.maxAgeS > 0 ? nanos(spec.maxAgeS * 1000) : 0,
    max_msgs: unlimited(spec.maxMsgs),
    max_bytes: unlimited(spec.maxBytes),
    duplicate_window: nanos(spec.duplicateWindowS * 1000),
  };
}

function stateOf(i: StreamInfo): StreamState {
  const c = i.config;
  return {
    name: c.name,
    subjects: c.subjects ?? [],
    storage: c.storage === StorageType.Memory ? 'memory' : 'file',
    maxAgeS: c.max_age / 1e9,
    maxBytes: c.max_bytes,
    maxMsgs: c.max_msgs,
    duplicateWindowS: (c.duplicate_window ?? 0) / 1e9,
    messages: i.state.messages,
    bytes: i.state.bytes,
    firstSeq: i.state.first_seq,
    lastSeq: i.state.last_seq,
  };
}

function fromNatsHeaders(h: MsgHdrs | undefined): Headers {
  if (!h) return {};
  const out: Record<string, string> = {};
  for (const k of h.keys()) out[k] = h.get(k);
  return out;
}

export class NatsBus implements Bus {
  readonly kind = 'nats' as const;

  private constructor(
    readonly connection: NatsConnection,
    private readonly opts: NatsBusOptions,
  ) {}

  static async connect(opts: NatsBusOptions): Promise<NatsBus> {
    const connOpts: ConnectionOptions = {
      servers: opts.servers,
      name: opts.name ?? 'kestrel',
      timeout: opts.connectTimeoutMs ?? 2000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
      pingInterval: 30_000,
      ...natsConnectionSecurity(opts.security ?? {}),
    };
    let bus: NatsBus;
    try {
      bus = new NatsBus(await connect(connOpts), opts);
    } catch (err) {
      const where = (Array.isArray(opts.servers) ? opts.servers : [opts.servers]).map(maskUrlCredentials).join(',');
      throw new BusError(`cannot connect to NATS at ${where}: ${(err as Error).message}`);
    }
    bus.watchStatus();
    return bus;
  }

  private watchStatus(): void {
    void (async () => {
      for await (const s of this.connection.status()) {
        if (s.type !== 'error') continue;
        // nats.js reports a permission refusal as the bare code PERMISSIONS_VIOLATION.
        const err =
          s.data instanceof Error
            ? s.data
            : new BusError(`NATS server error: ${String(s.data)} (a publish or subscribe this identity is not allowed)`);
        if (this.opts.onServerError) this.opts.onServerError(err);
        else process.emitWarning(`NATS server error: ${err.message}`);
      }
    })().catch(() => undefined);
  }

  publish(subject: string, data: Uint8Array, opts: PublishOptions = {}): void {
    validateSubject(subject, false);
    const h = toNatsHeaders(opts.headers);
    this.connection.publish(subject, data, {
      ...(h ? { headers: h } : {}),
      ...(opts.reply ? { reply: opts.reply } : {}),
    });
  }

  subscribe(pattern: string, handler: Handler, opts: SubscribeOptions = {}): Subscription {
    validateSubject(pattern, true);
    const sub = this.connection.subscribe(pattern, {
      ...(opts.queue ? { queue: opts.queue } : {}),
      callback: (err, msg) => {
        if (err) {
          this.handlerError(err, pattern);
          return;
        }
        try {
          const r = handler(this.wrap(msg));
          if (r instanceof Promise) r.catch((e: unknown) => this.handlerError(e, msg.subject));
        } catch (e) {
          this.handlerError(e, msg.subject);
        }
      },
    });
    return { subject: pattern, unsubscribe: () => sub.unsubscribe() };
  }

  async request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<BusMessage> {
    validateSubject(subject, false);
    const h = toNatsHeaders(opts.headers);
    try {
      const msg = await this.connection.request(subject, data, {
        timeout: opts.timeoutMs,
        ...(h ? { headers: h } : {}),
      });
      return this.wrap(msg);
    } catch (err) {
      if (err instanceof NatsError) {
        if (err.code === ErrorCode.NoResponders) throw new NoRespondersError(subject);
        if (err.code === ErrorCode.Timeout) throw new BusTimeoutError(subject, opts.timeoutMs);
      }
      throw err;
    }
  }

  private async jsm(): Promise<JetStreamManager> {
    try {
      return await this.connection.jetstreamManager();
    } catch (err) {
      if (err instanceof NatsError && (err.code === ErrorCode.NoResponders || err.code === ErrorCode.JetStreamNotEnabled)) {
        throw new BusError('JetStream is not enabled on the NATS server: start nats-server with -js (durable streams need it)', {
          cause: err,
        });
      }
      throw new BusError(`JetStream unavailable: ${(err as Error).message}`, { cause: err });
    }
  }

  async ensureStream(spec: StreamSpec): Promise<StreamState> {
    const jsm = await this.jsm();
    const config = natsStreamConfig(spec);
    let info: StreamInfo;
    try {
      await jsm.streams.info(spec.name);
      info = await jsm.streams.update(spec.name, config);
    } catch (err) {
      if (!(err instanceof NatsError) || !/not found/i.test(err.message)) {
        throw new BusError(`cannot configure stream ${spec.name}: ${(err as Error).message}`, { cause: err });
      }
      try {
        info = await jsm.streams.add(config);
      } catch (e) {
        throw new BusError(`cannot create stream ${spec.name}: ${(e as Error).message}`, { cause: e });
      }
    }
    return stateOf(info);
  }

  async streamInfo(name: string): Promise<StreamState> {
    const jsm = await this.jsm();
    try {
      return stateOf(await jsm.streams.info(name));
    } catch (err) {
      throw new BusError(`stream ${name}: ${(err as Error).message}`, { cause: err });
    }
  }

  async publishDurable(subject: string, data: Uint8Array, opts: DurablePublishOptions): Promise<DurablePublishResult> {
    validateSubject(subject, false);
    const h = toNatsHeaders(opts.headers);
    try {
      const ack = await this.connection.jetstream().publish(subject, data, { msgID: opts.msgId, ...(h ? { headers: h } : {}) });
      return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      if (err instanceof NatsError && err.code === ErrorCode.NoResponders)
        throw new BusError(`no stream captures ${subject}`, { cause: err });
      throw new BusError(`durable publish on ${subject} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async consumeDurable(
    stream: string,
    durable: string,
    handler: DurableHandler,
    opts: DurableConsumeOptions = {},
  ): Promise<DurableConsumer> {
    const jsm = await this.jsm();
    const config = {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(opts.ackWaitMs ?? 30_000),
      max_ack_pending: opts.maxAckPending ?? 1000,
      ...(opts.filterSubject ? { filter_subject: opts.filterSubject } : {}),
    };
    try {
      await jsm.consumers.info(stream, durable);
      // Position (ack floor) is kept by update; only these settings change.
      await jsm.consumers.update(stream, durable, { ack_wait: config.ack_wait, max_ack_pending: config.max_ack_pending });
    } catch (err) {
      if (!(err instanceof NatsError) || !/not found/i.test(err.message))
        throw new BusError(`consumer ${durable} on ${stream}: ${(err as Error).message}`, { cause: err });
      await jsm.consumers.add(stream, config);
    }
    const consumer = await this.connection.jetstream().consumers.get(stream, durable);
    // Small batches: a message buffered here but not acked is redelivered to another instance only after ack_wait.
    const messages = await consumer.consume({ max_messages: Math.min(config.max_ack_pending, 64) });
    const retryDelayMs = opts.retryDelayMs ?? 1000;
    let stopped = false;
    const loop = (async () => {
      for await (const m of messages) {
        // Buffered after stop(): hand back at once so the next consumer of this name gets it without waiting ack_wait.
        if (stopped) {
          m.nak();
          continue;
        }
        // A failing handler retries this message in place (keeping the stream's order), extending its ack deadline.
        let attempt = 0;
        let ok = false;
        while (!ok) {
          try {
            await handler(this.wrapDurable(m, m.info.deliveryCount + attempt));
            ok = true;
          } catch (err) {
            this.handlerError(err, m.subject);
            if (stopped) break;
            attempt++;
            await new Promise((r) => setTimeout(r, retryDelayMs));
            m.working();
          }
        }
        if (!ok) {
          m.nak();
          continue;
        }
        // Wait for the server to record the ack: a crash after this line never reprocesses the message.
        try {
          await m.ackAck();
        } catch (err) {
          this.handlerError(err, m.subject);
        }
      }
    })();
    return {
      stream,
      durable,
      lag: async (): Promise<ConsumerLag> => {
        const i = await jsm.consumers.info(stream, durable);
        return { numPending: i.num_pending, numAckPending: i.num_ack_pending, numRedelivered: i.num_redelivered };
      },
      stop: async () => {
        stopped = true;
        messages.stop();
        await loop.catch(() => undefined);
      },
    };
  }

  private wrapDurable(m: JsMsg, deliveryCount: number): DurableMessage {
    return {
      subject: m.subject,
      data: m.data,
      headers: fromNatsHeaders(m.headers),
      reply: undefined,
      respond: () => {
        throw new BusError(`message on ${m.subject} came from a stream and cannot be answered`);
      },
      seq: m.seq,
      deliveryCount,
    };
  }

  async flush(): Promise<void> {
    await this.connection.flush();
  }

  async close(): Promise<void> {
    if (this.connection.isClosed()) return;
    await this.connection.drain();
  }

  private wrap(msg: Msg): BusMessage {
    return {
      subject: msg.subject,
      data: msg.data,
      headers: fromNatsHeaders(msg.headers),
      reply: msg.reply || undefined,
      respond: (d, h) => {
        if (!msg.reply) throw new BusError(`message on ${msg.subject} has no reply subject`);
        const nh = toNatsHeaders(h);
        msg.respond(d, nh ? { headers: nh } : undefined);
      },
    };
  }

  private handlerError(err: unknown, subject: string): void {
    if (this.opts.onHandlerError) this.opts.onHandlerError(err, subject);
    else process.emitWarning(`bus handler for ${subject} failed: ${String(err)}`);
  }
}
