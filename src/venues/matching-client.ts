/**
 * An in-process venue: the `VenueOrderClient` contract (the one the order gateway and the executor's
 * reconciliation use for Binance, Kraken and OKX) implemented directly on the deterministic matching
 * engine, with no socket or wire protocol between them. The backtest kernel puts one per venue behind
 * the real `OrderGateway`, so backtest orders take the live path: executor → ord.req.{venue} →
 * gateway → this client → matching engine → ord.ack.{venue} → executor.
 *
 * Ordering matches a venue whose reply precedes its execution stream: `place` resolves with the NEW
 * (or REJECTED) ack, and the fills and the IOC expiry the submission caused reach `onUpdate` listeners
 * on the next macrotask turn, in engine order. Fills of resting orders caused by market data (`feedBook`,
 * `feedTrade`) are delivered the same way.
 */
import { create } from '@bufbuild/protobuf';
import type { Clock } from '../clock/clock.js';
import { OrderAckSchema, OrderStatus, OrderType, RejectReason, Side, TimeInForce } from '../contracts/index.js';
import {
  EngineReject,
  MatchingEngine,
  type EngineRejectCode,
  type Level,
  type SimOrder,
  type SymbolRules,
  type EngineMode,
} from '../simulators/matching/engine.js';
import type { CancelRequest, OrderAck, OrderRequest, ReplaceRequest, VenueName, VenueOrderClient } from './common/order-types.js';

const REJECT_OF: Readonly<Record<EngineRejectCode, RejectReason>> = {
  UNKNOWN_SYMBOL: RejectReason.INVALID_SYMBOL,
  MIN_SIZE: RejectReason.MIN_SIZE,
  MAX_SIZE: RejectReason.MAX_SIZE,
  PRICE_PRECISION: RejectReason.PRICE_PRECISION,
  SIZE_PRECISION: RejectReason.SIZE_PRECISION,
  INSUFFICIENT_BALANCE: RejectReason.INSUFFICIENT_BALANCE,
  PRICE_BAND: RejectReason.PRICE_BANDS,
  DUPLICATE_CLIENT_ID: RejectReason.DUPLICATE_ORDER,
  UNKNOWN_ORDER: RejectReason.UNKNOWN,
  NO_LIQUIDITY: RejectReason.UNKNOWN,
  INVALID_ARGUMENT: RejectReason.UNKNOWN,
};

export interface MatchingVenueOptions {
  readonly venue: VenueName;
  readonly mode: EngineMode;
  readonly symbols: readonly SymbolRules[];
  /** Starting balances of the single account. */
  readonly balances: Readonly<Record<string, number>>;
  /** Order and ack stamps: the event clock in a backtest. */
  readonly clock: Clock;
}

const ACCOUNT = 'kernel';

export class MatchingVenueClient implements VenueOrderClient {
  readonly venue: VenueName;
  readonly engine: MatchingEngine;
  private up = false;
  private readonly updateListeners: Array<(ack: OrderAck) => void> = [];
  private readonly connListeners: Array<(connected: boolean) => void> = [];
  /** Execution updates waiting for delivery (after the place reply). */
  private outbox: OrderAck[] = [];
  private flushQueued = false;
  /** Client id → order group id (the engine does not carry it). */
  private readonly groups = new Map<string, string>();
  private messages = 0;

  constructor(private readonly opts: MatchingVenueOptions) {
    this.venue = opts.venue;
    this.engine = new MatchingEngine({
      mode: opts.mode,
      symbols: opts.symbols,
      balances: { [ACCOUNT]: { ...opts.balances } },
      clock: opts.clock,
      orderIdPrefix: `${opts.venue.toUpperCase()}-`,
    });
    this.engine.onEvent((ev) => {
      if (ev.order.account !== ACCOUNT) return;
      const o = ev.order;
      switch (ev.kind) {
        case 'new':
          return; // the place reply carries it
        case 'fill':
          return this.queue(
            this.ackOf(o, o.state === 'filled' ? OrderStatus.FILLED : OrderStatus.PARTIAL, ev.fill.qty, ev.fill.price, ev.fill.fee),
          );
        case 'canceled':
        case 'expired':
          return this.queue(this.ackOf(o, OrderStatus.CANCELLED));
        case 'amended':
          return this.queue(this.ackOf(o, o.filled > 0 ? OrderStatus.PARTIAL : OrderStatus.NEW));
      }
    });
  }

  get connected(): boolean {
    return this.up;
  }

  /** Market data into the venue's book (resting orders may fill: updates follow). */
  feedBook(symbol: string, bids: readonly Level[], asks: readonly Level[]): void {
    this.engine.onBook(symbol, bids, asks);
  }

  feedTrade(symbol: string, price: number, qty: number, aggressor: 'buy' | 'sell'): void {
    this.engine.onTrade(symbol, price, qty, aggressor);
  }

  async connect(): Promise<void> {
    if (this.up) return;
    this.up = true;
    for (const cb of this.connListeners) cb(true);
  }

  async close(): Promise<void> {
    if (!this.up) return;
    this.up = false;
    for (const cb of this.connListeners) cb(false);
  }

  async place(req: OrderRequest): Promise<OrderAck> {
    this.messages++;
    const side = req.side === Side.BUY ? 'buy' : req.side === Side.SELL ? 'sell' : undefined;
    const type = req.orderType === OrderType.MARKET ? 'market' : req.orderType === OrderType.LIMIT ? 'limit' : undefined;
    const tif = req.tif === TimeInForce.IOC ? 'IOC' : req.tif === TimeInForce.FOK ? 'FOK' : req.tif === TimeInForce.GTC ? 'GTC' : undefined;
    if (!side || !type || !tif)
      return this.refusal(req, RejectReason.UNKNOWN, `unsupported order: side ${req.side}, type ${req.orderType}, tif ${req.tif}`);
    if (req.orderGroupId) this.groups.set(req.clientId, req.orderGroupId);
    let o: Readonly<SimOrder>;
    try {
      // The 'new' event precedes any fill: the reply is built from the order as the engine accepted it.
      let accepted: OrderAck | undefined;
      const off = this.engine.onEvent((ev) => {
        if (ev.kind === 'new' && ev.order.clientId === req.clientId && ev.order.account === ACCOUNT)
          accepted = this.ackOf(ev.order, OrderStatus.NEW);
      });
      try {
        o = this.engine.submit(ACCOUNT, { clientId: req.clientId, symbol: req.symbol, side, type, tif, qty: req.size, price: req.price });
      } finally {
        off();
      }
      return accepted ?? this.ackOf(o, OrderStatus.NEW);
    } catch (err) {
      this.groups.delete(req.clientId);
      if (err instanceof EngineReject) return this.refusal(req, REJECT_OF[err.code], `${err.code}: ${err.message}`);
      throw err;
    }
  }

  async cancel(req: CancelRequest): Promise<OrderAck> {
    this.messages++;
    try {
      const o = this.engine.cancel(ACCOUNT, req.clientId ? { clientId: req.clientId } : { orderId: req.orderId });
      return this.ackOf(o, OrderStatus.CANCELLED);
    } catch (err) {
      if (err instanceof EngineReject)
        return this.refusal(
          { clientId: req.clientId, symbol: '', side: Side.SIDE_UNSPECIFIED, orderGroupId: '' },
          REJECT_OF[err.code],
          `${err.code}: ${err.message}`,
        );
      throw err;
    }
  }

  async replace(req: ReplaceRequest): Promise<OrderAck> {
    this.messages++;
    try {
      const o = this.engine.amend(
        ACCOUNT,
        req.clientId ? { clientId: req.clientId } : { orderId: req.orderId },
        req.newQuantity,
        req.newPrice,
      );
      return this.ackOf(o, o.filled > 0 ? OrderStatus.PARTIAL : OrderStatus.NEW);
    } catch (err) {
      if (err instanceof EngineReject)
        return this.refusal(
          { clientId: req.clientId, symbol: '', side: Side.SIDE_UNSPECIFIED, orderGroupId: '' },
          REJECT_OF[err.code],
          `${err.code}: ${err.message}`,
        );
      throw err;
    }
  }

  async openOrders(): Promise<OrderAck[]> {
    return this.engine.openOrders(ACCOUNT).map((o) => this.ackOf(o, o.filled > 0 ? OrderStatus.PARTIAL : OrderStatus.NEW));
  }

  async orderStatus(clientId: string): Promise<OrderAck | undefined> {
    const o = this.engine.findByClientId(ACCOUNT, clientId);
    return o ? this.ackOf(o, statusOf(o)) : undefined;
  }

  async balances(): Promise<Record<string, number>> {
    return Object.fromEntries(Object.entries(this.engine.balances(ACCOUNT)).map(([a, b]) => [a, b.free]));
  }

  onUpdate(cb: (ack: OrderAck) => void): () => void {
    this.updateListeners.push(cb);
    return () => {
      const i = this.updateListeners.indexOf(cb);
      if (i >= 0) this.updateListeners.splice(i, 1);
    };
  }

  onConnectionChange(cb: (connected: boolean) => void): () => void {
    this.connListeners.push(cb);
    return () => {
      const i = this.connListeners.indexOf(cb);
      if (i >= 0) this.connListeners.splice(i, 1);
    };
  }

  stats(): { reconnects: number; messages: number; lastHeartbeatNs: bigint; protocolErrors: number } {
    return { reconnects: 0, messages: this.messages, lastHeartbeatNs: this.opts.clock.nowNs(), protocolErrors: 0 };
  }

  /** Execution updates not yet delivered (the kernel waits for none before advancing event time). */
  get undelivered(): number {
    return this.outbox.length;
  }

  private queue(ack: OrderAck): void {
    this.outbox.push(ack);
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      const batch = this.outbox;
      this.outbox = [];
      for (const a of batch) {
        this.messages++;
        for (const cb of this.updateListeners) cb(a);
      }
    });
  }

  private refusal(
    req: Pick<OrderRequest, 'clientId' | 'symbol' | 'side' | 'orderGroupId'>,
    reason: RejectReason,
    detail: string,
  ): OrderAck {
    return create(OrderAckSchema, {
      clientId: req.clientId,
      venue: this.venue,
      status: OrderStatus.REJECTED,
      rejectReason: reason,
      rejectDetail: detail,
      orderGroupId: req.orderGroupId,
      symbol: req.symbol,
      side: req.side,
      tsNs: this.opts.clock.nowNs(),
      accepted: false,
    });
  }

  private ackOf(o: Readonly<SimOrder>, status: OrderStatus, lastQty = 0, lastPx = 0, lastFee = 0): OrderAck {
    if (status === OrderStatus.FILLED || status === OrderStatus.CANCELLED) {
      // Kept until then for the ack's group id; the engine keeps the order itself for orderStatus.
      const g = this.groups.get(o.clientId) ?? '';
      this.groups.delete(o.clientId);
      return this.make(o, status, g, lastQty, lastPx, lastFee);
    }
    return this.make(o, status, this.groups.get(o.clientId) ?? '', lastQty, lastPx, lastFee);
  }

  private make(o: Readonly<SimOrder>, status: OrderStatus, groupId: string, lastQty: number, lastPx: number, lastFee: number): OrderAck {
    return create(OrderAckSchema, {
      clientId: o.clientId,
      venue: this.venue,
      status,
      venueOrderId: o.orderId,
      filledQty: o.filled,
      avgPrice: o.filled > 0 ? o.cost / o.filled : 0,
      orderGroupId: groupId,
      lastFillQty: lastQty,
      lastFillPrice: lastPx,
      fee: lastQty > 0 ? lastFee : o.fee,
      symbol: o.symbol,
      side: o.side === 'buy' ? Side.BUY : Side.SELL,
      tsNs: this.opts.clock.nowNs(),
      accepted: true,
    });
  }
}

function statusOf(o: Readonly<SimOrder>): OrderStatus {
  switch (o.state) {
    case 'new':
      return OrderStatus.NEW;
    case 'partially_filled':
      return OrderStatus.PARTIAL;
    case 'filled':
      return OrderStatus.FILLED;
    default:
      return OrderStatus.CANCELLED;
  }
}
