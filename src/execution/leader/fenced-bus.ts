/**
 * The leader's fence on the bus: every message the executor process sends (orders to its gateways,
 * gateway requests to the venue client, acks, events) and every message it takes in (signals,
 * acks, request replies, durable deliveries) first checks that the lease holds. The check reads the
 * monotonic clock (LeaderLease.holds), so it needs no timer to have run: a process that wakes from
 * a pause longer than its lease refuses its very first message, before the order gateway could
 * place it at the venue or the executor could journal it in the shared WAL.
 */
import type {
  Bus,
  BusMessage,
  DurableConsumeOptions,
  DurableConsumer,
  DurableHandler,
  DurablePublishOptions,
  DurablePublishResult,
  Handler,
  PublishOptions,
  RequestOptions,
  StreamSpec,
  StreamState,
  SubscribeOptions,
  Subscription,
} from '../../bus/bus.js';
import { LeaseLostError, type LeaderLease } from './lease.js';

export class FencedBus implements Bus {
  readonly kind: Bus['kind'];

  constructor(
    private readonly inner: Bus,
    private readonly lease: LeaderLease,
  ) {
    this.kind = inner.kind;
  }

  /** Throws LeaseLostError (after the lease's loss handlers ran) when this process is no longer leader. */
  private check(what: string, subject: string): void {
    if (!this.lease.holds()) throw new LeaseLostError(`${what} ${subject} refused: leader lease (epoch ${this.lease.epoch}) not held`);
  }

  publish(subject: string, data: Uint8Array, opts?: PublishOptions): void {
    this.check('publish', subject);
    this.inner.publish(subject, data, opts);
  }

  subscribe(pattern: string, handler: Handler, opts?: SubscribeOptions): Subscription {
    return this.inner.subscribe(
      pattern,
      (m) => {
        // Dropped, not handled: the loss handlers already stop the process.
        if (!this.lease.holds()) return;
        return handler(m);
      },
      opts,
    );
  }

  async request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<BusMessage> {
    this.check('request', subject);
    const reply = await this.inner.request(subject, data, opts);
    this.check('reply to', subject);
    return reply;
  }

  ensureStream(spec: StreamSpec): Promise<StreamState> {
    return this.inner.ensureStream(spec);
  }

  streamInfo(name: string): Promise<StreamState> {
    return this.inner.streamInfo(name);
  }

  publishDurable(subject: string, data: Uint8Array, opts: DurablePublishOptions): Promise<DurablePublishResult> {
    this.check('durable publish', subject);
    return this.inner.publishDurable(subject, data, opts);
  }

  consumeDurable(stream: string, durable: string, handler: DurableHandler, opts?: DurableConsumeOptions): Promise<DurableConsumer> {
    return this.inner.consumeDurable(
      stream,
      durable,
      (m) => {
        // Not acked: redelivered to the next leader.
        if (!this.lease.holds()) throw new LeaseLostError(`durable delivery on ${stream} refused: leader lease not held`);
        return handler(m);
      },
      opts,
    );
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
