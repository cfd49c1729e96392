/** Bus over a real NATS server (npm `nats` v2). */
import {
  connect,
  headers as natsHeaders,
  ErrorCode,
  NatsError,
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
        const err = s.data instanceof Error ? s.data : new BusError(`NATS server error: ${String(s.data)} (a publish or subscribe this identity is not allowed)`);
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
