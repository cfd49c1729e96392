/**
 * The venue order gateway: the bus face of one venue's VenueOrderClient.
 *
 * - `ord.req.{venue}` (request-reply): OrderRequest in, OrderAck reply (the venue's ack).
 * - `ord.cancel.req` / `ord.replace.req` (request-reply, shared subjects): handled when the request
 *   names this venue, silently left to the other gateways otherwise.
 * - `ord.ack.{venue}`: every private-stream update and every reconciled state, with headers
 *   correlation_id = client id and order_group_id.
 *
 * Policy: a venue without a private stream, or with venue_policy 'shadow_only', refuses live orders
 * with VENUE_POLICY. Shadow orders never reach a live venue: they go to the optional shadow client
 * (a simulated venue) or are refused. While the private stream is down new orders are refused with
 * VENUE_UNAVAILABLE (nothing is queued: a stale order is worse than none); on reconnect the gateway
 * reconciles open orders and every order whose outcome was unknown, and publishes what it found.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { Bus, BusMessage, Headers, Subscription } from '../bus/bus.js';
import {
  CancelRequestSchema,
  OrderAckSchema,
  OrderRequestSchema,
  OrderStatus,
  RejectReason,
  ReplaceRequestSchema,
  VenueHealthSchema,
  headers as H,
  subjects,
  type Namespace,
  type OrderAck,
  type VenueSpec,
} from '../contracts/index.js';
import { msgIds, publishEvent, type DurableStreams } from '../bus/streams.js';
import type { Clock } from '../clock/clock.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { VenueClientError, type VenueOrderClient } from './common/order-types.js';

export interface OrderGatewayOptions {
  readonly bus: Bus;
  /** Durable streams (NATS): acks go to stream `ord` with msg id client id + status + fill. */
  readonly streams?: DurableStreams;
  /** Stamps health reports and the acks the gateway makes up itself. */
  readonly clock: Clock;
  /** The live venue client (connected by the gateway on start). */
  readonly client: VenueOrderClient;
  readonly spec: Pick<VenueSpec, 'venue' | 'hasPrivateWs' | 'venuePolicy'>;
  /** Simulated venue for shadow orders; without it shadow orders are refused. */
  readonly shadowClient?: VenueOrderClient;
  readonly namespace: Namespace;
  /**
   * Period of `venue.health.{venue}` reports carrying the private stream's state (also sent at once
   * on every up/down change). 0 disables. Default 1000.
   */
  readonly healthIntervalMs?: number;
  /** Default: the 'order-gateway' logger with the venue bound. */
  readonly logger?: Logger;
}

/** Outcome unknown (transport failure after send): status stays UNSPECIFIED until reconciled. */
export const UNKNOWN_OUTCOME = 'UNKNOWN_OUTCOME';

export class OrderGateway {
  private readonly log;
  private readonly subs: Subscription[] = [];
  private readonly unsubs: Array<() => void> = [];
  /** Client id -> symbol of orders whose place() outcome is unknown; resolved on reconnect. */
  private readonly unknown = new Map<string, string>();
  /** Client id -> symbol of orders last seen NEW/PARTIAL: after a drop their fills may have been missed. */
  private readonly live = new Map<string, string>();
  private readonly ns: Namespace;
  private stopped = false;
  private healthTimer: NodeJS.Timeout | undefined;
  private lastHealth: { atNs: bigint; messages: number };
  readonly venue: string;

  /** The venue's private client (reconciliation, balances). */
  get client(): VenueOrderClient {
    return this.opts.client;
  }

  constructor(private readonly opts: OrderGatewayOptions) {
    this.venue = opts.spec.venue;
    this.ns = opts.namespace;
    this.log = opts.logger ?? createLogger('order-gateway', { venue: this.venue });
    this.lastHealth = { atNs: opts.clock.nowNs(), messages: 0 };
  }

  /** Live orders allowed on this venue at all? */
  get production(): boolean {
    return this.opts.spec.hasPrivateWs && this.opts.spec.venuePolicy !== 'shadow_only';
  }

  async start(): Promise<void> {
    const { bus, client } = this.opts;
    for (const c of [client, this.opts.shadowClient]) {
      if (!c) continue;
      this.unsubs.push(c.onUpdate((ack) => this.publish(ack)));
    }
    this.unsubs.push(
      client.onConnectionChange((up) => {
        this.log.info({ up }, 'private stream');
        this.publishHealth();
        if (up) void this.reconcile(client);
      }),
    );
    const every = this.opts.healthIntervalMs ?? 1000;
    if (every > 0 && this.production) {
      this.healthTimer = setInterval(() => this.publishHealth(), every);
      this.healthTimer.unref();
    }
    if (this.production) await client.connect();
    if (this.opts.shadowClient && !this.opts.shadowClient.connected) await this.opts.shadowClient.connect();
    const queue = `ord-gw-${this.venue}`;
    this.subs.push(bus.subscribe(subjects.orderReq(this.venue, this.ns), (m) => this.track(this.onPlace(m)), { queue }));
    this.subs.push(bus.subscribe(subjects.orderCancelReq(this.ns), (m) => this.track(this.onCancel(m))));
    this.subs.push(bus.subscribe(subjects.orderReplaceReq(this.ns), (m) => this.track(this.onReplace(m))));
  }

  /** Requests being answered: a drain waits for them before closing the venue connection. */
  private readonly inflight = new Set<Promise<void>>();

  private track(p: Promise<void>): Promise<void> {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
    return p;
  }

  /**
   * Stop taking requests, let the ones in flight get their venue answer (and its ack out on the bus)
   * for at most `timeoutMs`, then stop. Returns how many were still open at the deadline.
   */
  async drain(timeoutMs: number): Promise<number> {
    for (const s of this.subs) s.unsubscribe();
    this.subs.length = 0;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.allSettled([...this.inflight]).then(() => undefined), deadline]);
    clearTimeout(timer);
    const open = this.inflight.size;
    await this.stop();
    return open;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.healthTimer) clearInterval(this.healthTimer);
    for (const s of this.subs) s.unsubscribe();
    for (const u of this.unsubs) u();
    this.subs.length = 0;
    this.unsubs.length = 0;
    await this.opts.client.close();
    await this.opts.shadowClient?.close();
  }

  /** VenueHealth with the private stream's state: the executor halts a venue whose stream is down. */
  publishHealth(): void {
    if (!this.production || this.stopped) return;
    const c = this.opts.client;
    const st = c.stats?.();
    const now = this.opts.clock.nowNs();
    const msgs = st?.messages ?? 0;
    const rate = Math.round(((msgs - this.lastHealth.messages) * 1000) / Math.max(1, Number(now - this.lastHealth.atNs) / 1e6));
    this.lastHealth = { atNs: now, messages: msgs };
    const h = create(VenueHealthSchema, {
      venue: this.venue,
      tsNs: now,
      privateWs: {
        connected: c.connected,
        reconnectCount: st?.reconnects ?? 0,
        lastHeartbeatNs: st?.lastHeartbeatNs ?? 0n,
        messagesPerSecond: rate,
      },
    });
    this.opts.bus.publish(subjects.venueHealth(this.venue, this.ns), toBinary(VenueHealthSchema, h));
  }

  private hdrs(ack: OrderAck, traceId = ''): Headers {
    const h: Record<string, string> = { [H.correlationId]: ack.clientId };
    if (ack.orderGroupId) h[H.orderGroupId] = ack.orderGroupId;
    if (traceId) h[H.traceId] = traceId;
    return h;
  }

  private note(ack: OrderAck): void {
    if (ack.status === OrderStatus.NEW || ack.status === OrderStatus.PARTIAL) this.live.set(ack.clientId, ack.symbol);
    else if (ack.status !== OrderStatus.ORDER_STATUS_UNSPECIFIED) this.live.delete(ack.clientId);
  }

  private publish(ack: OrderAck): void {
    if (ack.status !== OrderStatus.ORDER_STATUS_UNSPECIFIED) this.unknown.delete(ack.clientId);
    this.note(ack);
    publishEvent(
      this.opts.bus,
      this.opts.streams,
      subjects.orderAck(this.venue, this.ns),
      toBinary(OrderAckSchema, ack),
      msgIds.orderAck(ack.clientId, ack.status, ack.filledQty),
      this.hdrs(ack),
    );
  }

  private reply(m: BusMessage, ack: OrderAck, traceId = ''): void {
    this.note(ack);
    if (m.reply) m.respond(toBinary(OrderAckSchema, ack), this.hdrs(ack, traceId));
  }

  private refuse(
    clientId: string,
    reason: RejectReason,
    detail: string,
    extra: Pick<Partial<OrderAck>, 'status' | 'symbol' | 'side' | 'orderGroupId'> = {},
  ): OrderAck {
    return create(OrderAckSchema, {
      clientId,
      venue: this.venue,
      status: OrderStatus.REJECTED,
      rejectReason: reason,
      rejectDetail: detail,
      tsNs: this.opts.clock.nowNs(),
      accepted: false,
      ...extra,
    });
  }

  private async onPlace(m: BusMessage): Promise<void> {
    let req;
    try {
      req = fromBinary(OrderRequestSchema, m.data);
    } catch (err) {
      return this.reply(m, this.refuse('', RejectReason.UNKNOWN, `malformed OrderRequest: ${(err as Error).message}`));
    }
    const base = { symbol: req.symbol, side: req.side, orderGroupId: req.orderGroupId };
    if (req.venue && req.venue !== this.venue)
      return this.reply(
        m,
        this.refuse(req.clientId, RejectReason.UNKNOWN, `request for ${req.venue} sent to ${this.venue}`, base),
        req.traceId,
      );
    let client: VenueOrderClient;
    if (req.shadow) {
      if (!this.opts.shadowClient)
        return this.reply(
          m,
          this.refuse(req.clientId, RejectReason.VENUE_POLICY, 'shadow order and no simulated venue configured', base),
          req.traceId,
        );
      client = this.opts.shadowClient;
    } else {
      if (!this.production)
        return this.reply(
          m,
          this.refuse(req.clientId, RejectReason.VENUE_POLICY, `${this.venue} is shadow_only: live orders refused`, base),
          req.traceId,
        );
      client = this.opts.client;
    }
    if (!client.connected)
      return this.reply(
        m,
        this.refuse(req.clientId, RejectReason.VENUE_UNAVAILABLE, 'private stream down: new orders halted', base),
        req.traceId,
      );
    let ack: OrderAck;
    try {
      ack = await client.place(req);
    } catch (err) {
      // Sent but no answer: the venue may hold the order. Never report it as rejected.
      this.unknown.set(req.clientId, req.symbol);
      ack = create(OrderAckSchema, {
        clientId: req.clientId,
        venue: this.venue,
        status: OrderStatus.ORDER_STATUS_UNSPECIFIED,
        rejectReason: RejectReason.VENUE_UNAVAILABLE,
        rejectDetail: `${UNKNOWN_OUTCOME}: ${(err as Error).message}`,
        tsNs: this.opts.clock.nowNs(),
        accepted: false,
        ...base,
      });
      if (client.connected) void this.resolveUnknown(client, req.clientId, req.symbol);
    }
    this.reply(m, ack, req.traceId);
  }

  private async onCancel(m: BusMessage): Promise<void> {
    let req;
    try {
      req = fromBinary(CancelRequestSchema, m.data);
    } catch {
      return; // cannot tell whose it is; the requester times out
    }
    if (req.venue !== this.venue) return;
    try {
      this.reply(m, await this.opts.client.cancel(req));
    } catch (err) {
      this.reply(
        m,
        this.refuse(req.clientId, RejectReason.VENUE_UNAVAILABLE, errText(err), { status: OrderStatus.ORDER_STATUS_UNSPECIFIED }),
      );
    }
  }

  private async onReplace(m: BusMessage): Promise<void> {
    let req;
    try {
      req = fromBinary(ReplaceRequestSchema, m.data);
    } catch {
      return;
    }
    if (req.venue !== this.venue) return;
    if (!this.opts.client.connected)
      return this.reply(m, this.refuse(req.clientId, RejectReason.VENUE_UNAVAILABLE, 'private stream down: replace halted'));
    try {
      this.reply(m, await this.opts.client.replace(req));
    } catch (err) {
      this.reply(
        m,
        this.refuse(req.clientId, RejectReason.VENUE_UNAVAILABLE, errText(err), { status: OrderStatus.ORDER_STATUS_UNSPECIFIED }),
      );
    }
  }

  private async resolveUnknown(client: VenueOrderClient, clientId: string, symbol: string, attempt = 0): Promise<void> {
    if (!this.unknown.has(clientId) || this.stopped) return;
    try {
      const ack = await client.orderStatus(clientId, symbol);
      if (ack) this.publish(ack);
      else {
        // The venue never saw it: a definite, safe-to-retry rejection.
        this.unknown.delete(clientId);
        this.publish(this.refuse(clientId, RejectReason.VENUE_UNAVAILABLE, 'venue has no record of the order'));
      }
    } catch (err) {
      // Keep asking (backoff) while connected; a reconnect also retries every unknown outcome.
      this.log.warn({ clientId, attempt, err: errText(err) }, 'order status query failed; retrying');
      if (client.connected && !this.stopped) {
        const t = setTimeout(() => void this.resolveUnknown(client, clientId, symbol, attempt + 1), Math.min(2000, 50 * 2 ** attempt));
        t.unref();
      }
    }
  }

  /** After (re)connect: publish the venue's truth for open orders and unknown outcomes. */
  async reconcile(client: VenueOrderClient = this.opts.client): Promise<void> {
    try {
      const open = await client.openOrders();
      const openIds = new Set(open.map((a) => a.clientId));
      for (const ack of open) this.publish(ack);
      // Orders we believed live but the venue no longer lists: filled or cancelled while we were
      // away. Ask for each one so no fill is lost.
      for (const [id, symbol] of [...this.live]) {
        if (openIds.has(id)) continue;
        const ack = await client.orderStatus(id, symbol);
        if (ack) this.publish(ack);
      }
      for (const [id, symbol] of [...this.unknown]) await this.resolveUnknown(client, id, symbol);
      this.log.info({ open: open.length }, 'reconciled');
    } catch (err) {
      this.log.warn({ err: errText(err) }, 'reconcile failed');
    }
  }
}

function errText(err: unknown): string {
  return err instanceof VenueClientError || err instanceof Error ? err.message : String(err);
}
