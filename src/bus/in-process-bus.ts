/**
 * In-process bus with NATS semantics (wildcards, queue groups, request-reply with timeout, headers).
 * Delivery is asynchronous (microtask) like a network bus, in publish order per subscriber, so code
 * written against it behaves the same on NATS.
 */
import { randomUUID } from 'node:crypto';
import {
  BusError,
  BusTimeoutError,
  NoRespondersError,
  subjectMatches,
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

interface Sub {
  id: number;
  pattern: string;
  queue: string | undefined;
  handler: Handler;
  active: boolean;
}

export interface InProcessBusOptions {
  /** Called when a handler throws or rejects; the bus itself never crashes on handler errors. */
  onHandlerError?: (err: unknown, subject: string) => void;
}

export class InProcessBus implements Bus {
  readonly kind = 'in-process' as const;
  private readonly subs = new Map<number, Sub>();
  private nextId = 1;
  private readonly queueCursor = new Map<string, number>();
  private pending = 0;
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(private readonly opts: InProcessBusOptions = {}) {}

  publish(subject: string, data: Uint8Array, opts: PublishOptions = {}): void {
    this.ensureOpen();
    validateSubject(subject, false);
    const headers = opts.headers ?? {};
    const targets = this.route(subject);
    for (const sub of targets) this.deliver(sub, subject, data, headers, opts.reply);
  }

  subscribe(pattern: string, handler: Handler, opts: SubscribeOptions = {}): Subscription {
    this.ensureOpen();
    validateSubject(pattern, true);
    const sub: Sub = { id: this.nextId++, pattern, queue: opts.queue, handler, active: true };
    this.subs.set(sub.id, sub);
    return {
      subject: pattern,
      unsubscribe: () => {
        sub.active = false;
        this.subs.delete(sub.id);
      },
    };
  }

  request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<BusMessage> {
    this.ensureOpen();
    validateSubject(subject, false);
    if (this.route(subject).length === 0) return Promise.reject(new NoRespondersError(subject));
    const inbox = `_INBOX.${randomUUID().replaceAll('-', '')}`;
    return new Promise<BusMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.unsubscribe();
        reject(new BusTimeoutError(subject, opts.timeoutMs));
      }, opts.timeoutMs);
      const sub = this.subscribe(inbox, (msg) => {
        clearTimeout(timer);
        sub.unsubscribe();
        resolve(msg);
      });
      this.publish(subject, data, { reply: inbox, ...(opts.headers ? { headers: opts.headers } : {}) });
    });
  }

  flush(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    this.subs.clear();
  }

  /** Plain subscribers all receive; each queue group picks one member round-robin. */
  private route(subject: string): Sub[] {
    const out: Sub[] = [];
    const groups = new Map<string, Sub[]>();
    for (const sub of this.subs.values()) {
      if (!subjectMatches(sub.pattern, subject)) continue;
      if (sub.queue === undefined) out.push(sub);
      else {
        const key = `${sub.queue}\u0000${sub.pattern}`;
        const members = groups.get(key);
        if (members) members.push(sub);
        else groups.set(key, [sub]);
      }
    }
    for (const [key, members] of groups) {
      const cursor = this.queueCursor.get(key) ?? 0;
      out.push(members[cursor % members.length]!);
      this.queueCursor.set(key, cursor + 1);
    }
    return out;
  }

  private deliver(sub: Sub, subject: string, data: Uint8Array, headers: Headers, reply: string | undefined): void {
    const msg: BusMessage = {
      subject,
      data,
      headers,
      reply,
      respond: (d, h) => {
        if (reply === undefined) throw new BusError(`message on ${subject} has no reply subject`);
        if (!this.closed) this.publish(reply, d, h ? { headers: h } : {});
      },
    };
    this.pending++;
    queueMicrotask(() => {
      try {
        if (sub.active) {
          const r = sub.handler(msg);
          if (r instanceof Promise) r.catch((err: unknown) => this.handlerError(err, subject));
        }
      } catch (err) {
        this.handlerError(err, subject);
      } finally {
        this.pending--;
        if (this.pending === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const w of waiters) w();
        }
      }
    });
  }

  private handlerError(err: unknown, subject: string): void {
    if (this.opts.onHandlerError) this.opts.onHandlerError(err, subject);
    else process.emitWarning(`bus handler for ${subject} failed: ${String(err)}`);
  }

  private ensureOpen(): void {
    if (this.closed) throw new BusError('bus is closed');
  }
}
