/**
 * In-process bus with NATS semantics (wildcards, queue groups, request-reply with timeout, headers).
 * Delivery is asynchronous like a network bus, in publish order per subscriber, so code written
 * against it behaves the same on NATS. Deliveries are queued and drained in one microtask per burst
 * (not one per message), and subject → subscriber routing is cached until subscriptions change.
 */
import {
  BusError,
  BusTimeoutError,
  NoRespondersError,
  subjectMatches,
  validateSubject,
  type Bus,
  type BusMessage,
  type DurableConsumeOptions,
  type DurableConsumer,
  type DurableHandler,
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
import { InProcessStreams } from './in-process-streams.js';

interface Sub {
  id: number;
  pattern: string;
  queue: string | undefined;
  handler: Handler;
  active: boolean;
}

interface Route {
  plain: Sub[];
  /** Members of each queue group matching the subject, with a round-robin cursor. */
  groups: Array<{ members: Sub[]; cursor: number }>;
}

interface Delivery {
  sub: Sub;
  msg: BusMessage;
}

const EMPTY_HEADERS: Headers = Object.freeze({});
const INBOX_PREFIX = '_INBOX.';

export interface InProcessBusOptions {
  /** Called when a handler throws or rejects; the bus itself never crashes on handler errors. */
  onHandlerError?: (err: unknown, subject: string) => void;
}

export class InProcessBus implements Bus {
  readonly kind = 'in-process' as const;
  private readonly subs = new Map<number, Sub>();
  private nextId = 1;
  private routes = new Map<string, Route>();
  private queue: Delivery[] = [];
  private draining = false;
  private idleWaiters: Array<() => void> = [];
  private closed = false;
  // One inbox for all requests of this bus, as NATS clients multiplex their requests.
  private readonly inbox = `${INBOX_PREFIX}${process.pid}_${Math.random().toString(36).slice(2)}`;
  private readonly pendingRequests = new Map<string, (msg: BusMessage) => void>();
  private nextRequest = 1;

  private readonly streams = new InProcessStreams((err, subject) => this.handlerError(err, subject));

  constructor(private readonly opts: InProcessBusOptions = {}) {}

  publish(subject: string, data: Uint8Array, opts?: PublishOptions): void {
    this.ensureOpen();
    if (subject.startsWith(this.inbox)) {
      this.answer(subject, data, opts?.headers ?? EMPTY_HEADERS);
      return;
    }
    const route = this.route(subject);
    const headers = opts?.headers ?? EMPTY_HEADERS;
    const reply = opts?.reply;
    // As on NATS, a stream stores every message on its subjects, plain publishes included.
    if (reply === undefined) this.streams.append(subject, data, headers, undefined);
    this.fanOut(route, subject, data, headers, reply);
  }

  private fanOut(route: Route, subject: string, data: Uint8Array, headers: Headers, reply: string | undefined): void {
    for (const sub of route.plain) this.enqueue(sub, subject, data, headers, reply);
    for (const g of route.groups) {
      const sub = g.members[g.cursor % g.members.length]!;
      g.cursor++;
      this.enqueue(sub, subject, data, headers, reply);
    }
  }

  subscribe(pattern: string, handler: Handler, opts: SubscribeOptions = {}): Subscription {
    this.ensureOpen();
    validateSubject(pattern, true);
    const sub: Sub = { id: this.nextId++, pattern, queue: opts.queue, handler, active: true };
    this.subs.set(sub.id, sub);
    this.routes = new Map();
    return {
      subject: pattern,
      unsubscribe: () => {
        if (!sub.active) return;
        sub.active = false;
        this.subs.delete(sub.id);
        this.routes = new Map();
      },
    };
  }

  request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<BusMessage> {
    this.ensureOpen();
    const route = this.route(subject);
    if (route.plain.length === 0 && route.groups.length === 0) return Promise.reject(new NoRespondersError(subject));
    const reply = `${this.inbox}.${this.nextRequest++}`;
    return new Promise<BusMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingRequests.delete(reply);
        reject(new BusTimeoutError(subject, opts.timeoutMs));
      }, opts.timeoutMs);
      this.pendingRequests.set(reply, (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
      this.publish(subject, data, opts.headers ? { headers: opts.headers, reply } : { reply });
    });
  }

  async ensureStream(spec: StreamSpec): Promise<StreamState> {
    this.ensureOpen();
    for (const p of spec.subjects) validateSubject(p, true);
    return this.streams.ensure(spec);
  }

  async streamInfo(name: string): Promise<StreamState> {
    return this.streams.info(name);
  }

  async publishDurable(subject: string, data: Uint8Array, opts: DurablePublishOptions): Promise<DurablePublishResult> {
    this.ensureOpen();
    const route = this.route(subject);
    if (!this.streams.captures(subject)) throw new BusError(`no stream captures ${subject}`);
    const headers = opts.headers ?? EMPTY_HEADERS;
    const r = this.streams.append(subject, data, headers, opts.msgId)!;
    // Plain subscribers get the message even when the stream drops it as a duplicate, as on NATS.
    this.fanOut(route, subject, data, headers, undefined);
    return r;
  }

  async consumeDurable(
    stream: string,
    durable: string,
    handler: DurableHandler,
    opts: DurableConsumeOptions = {},
  ): Promise<DurableConsumer> {
    this.ensureOpen();
    return this.streams.consume(stream, durable, handler, opts);
  }

  flush(): Promise<void> {
    if (this.queue.length === 0 && !this.draining) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    this.subs.clear();
    this.routes = new Map();
  }

  private answer(subject: string, data: Uint8Array, headers: Headers): void {
    const resolve = this.pendingRequests.get(subject);
    if (!resolve) return; // late answer after a timeout: dropped, as on NATS
    this.pendingRequests.delete(subject);
    resolve(this.message(subject, data, headers, undefined));
  }

  private route(subject: string): Route {
    const cached = this.routes.get(subject);
    if (cached) return cached;
    validateSubject(subject, false);
    const route: Route = { plain: [], groups: [] };
    const groups = new Map<string, Sub[]>();
    for (const sub of this.subs.values()) {
      if (!subjectMatches(sub.pattern, subject)) continue;
      if (sub.queue === undefined) route.plain.push(sub);
      else {
        const key = `${sub.queue}\u0000${sub.pattern}`;
        const members = groups.get(key);
        if (members) members.push(sub);
        else groups.set(key, [sub]);
      }
    }
    for (const members of groups.values()) route.groups.push({ members, cursor: 0 });
    // Bounded: a stream of one-off subjects must not grow the cache without limit.
    if (this.routes.size >= 10_000) this.routes = new Map();
    this.routes.set(subject, route);
    return route;
  }

  private message(subject: string, data: Uint8Array, headers: Headers, reply: string | undefined): BusMessage {
    return {
      subject,
      data,
      headers,
      reply,
      respond: (d, h) => {
        if (reply === undefined) throw new BusError(`message on ${subject} has no reply subject`);
        if (!this.closed) this.publish(reply, d, h ? { headers: h } : undefined);
      },
    };
  }

  private enqueue(sub: Sub, subject: string, data: Uint8Array, headers: Headers, reply: string | undefined): void {
    this.queue.push({ sub, msg: this.message(subject, data, headers, reply) });
    if (!this.draining) {
      this.draining = true;
      queueMicrotask(() => this.drain());
    }
  }

  private drain(): void {
    // Handlers may publish more; those deliveries join this same drain, in order.
    for (let i = 0; i < this.queue.length; i++) {
      const { sub, msg } = this.queue[i]!;
      if (!sub.active) continue;
      try {
        const r = sub.handler(msg);
        if (r instanceof Promise) r.catch((err: unknown) => this.handlerError(err, msg.subject));
      } catch (err) {
        this.handlerError(err, msg.subject);
      }
    }
    this.queue = [];
    this.draining = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private handlerError(err: unknown, subject: string): void {
    if (this.opts.onHandlerError) this.opts.onHandlerError(err, subject);
    else process.emitWarning(`bus handler for ${subject} failed: ${String(err)}`);
  }

  private ensureOpen(): void {
    if (this.closed) throw new BusError('bus is closed');
  }
}
