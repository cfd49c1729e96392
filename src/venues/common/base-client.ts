/**
 * Transport and order-tracking machinery shared by the three venue clients: one private WebSocket
 * (order entry and execution stream on the same socket for all three venues), request/response
 * correlation with timeouts, reconnect with backoff, and per-client-id order tracking so every
 * OrderAck carries our client id, symbol, side and cumulative fill state.
 */
import { create } from '@bufbuild/protobuf';
import WebSocket from 'ws';
import { OrderAckSchema, OrderStatus, OrderType, RejectReason, Side, type OrderAck, type VenueName } from '../../contracts/index.js';
import {
  CLIENT_ID_RULES,
  VenueClientError,
  type CancelRequest,
  type OrderRequest,
  type ReplaceRequest,
  type PrivateStreamStats,
  type VenueClientOptions,
  type VenueOrderClient,
} from './order-types.js';

/** What we know about one of our orders, keyed by our client id. */
export interface OrderTrack {
  clientId: string;
  symbol: string;
  side: Side;
  venueOrderId: string;
  qty: number;
  price: number;
  /** Filled before the current venue order (Binance cancel-replace starts a new venue order). */
  carriedFilled: number;
  carriedCost: number;
  carriedFee: number;
  filled: number;
  cost: number;
  fee: number;
  status: OrderStatus;
  orderGroupId: string;
  tif: string;
  type: string;
}

interface Pending {
  resolve: (msg: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const UNSIGNED_DECIMAL = /^\d{1,20}(?:\.\d{1,20})?$/;
const SIGNED_DECIMAL = /^-?\d{1,20}(?:\.\d{1,20})?$/;

/**
 * Strict number from a private-stream or order-query field: a plain decimal string (or a finite JSON
 * number, Kraken v2) and nothing else. `Number()` turned '' and null into 0 and 'abc' into NaN,
 * which then flowed into fills, positions and fees. `signed` admits a leading '-' (fees, rebates);
 * `empty` is the value of a field the venue leaves '' or absent on purpose (OKX's px of a market
 * order, fillPx without a fill). Anything else is a VenueClientError('PROTOCOL').
 */
export function venueNumber(venue: VenueName, v: unknown, what: string, opts: { signed?: boolean; empty?: number } = {}): number {
  if ((v === '' || v === undefined) && opts.empty !== undefined) return opts.empty;
  const n =
    typeof v === 'number' ? v : typeof v === 'string' && (opts.signed ? SIGNED_DECIMAL : UNSIGNED_DECIMAL).test(v) ? Number(v) : Number.NaN;
  if (!Number.isFinite(n) || (!opts.signed && n < 0)) {
    throw new VenueClientError(venue, 'PROTOCOL', `bad ${what}: ${JSON.stringify(v)?.slice(0, 60) ?? 'undefined'}`);
  }
  return n;
}

/**
 * Decimal text of a number as venues want it: the shortest round-trip digits (49000.01, not
 * 49000.010000000002), never exponent notation (venues refuse 1e-7).
 */
export function fmt(x: number): string {
  const s = String(x);
  const e = s.indexOf('e');
  if (e < 0) return s;
  const neg = s.startsWith('-');
  const mant = s.slice(neg ? 1 : 0, e);
  const exp = Number(s.slice(e + 1));
  const dot = mant.indexOf('.');
  const digits = dot < 0 ? mant : mant.slice(0, dot) + mant.slice(dot + 1);
  const point = (dot < 0 ? mant.length : dot) + exp;
  let out: string;
  if (point <= 0) out = '0.' + '0'.repeat(-point) + digits;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = digits.slice(0, point) + '.' + digits.slice(point);
  return (neg ? '-' : '') + out;
}

export abstract class WsOrderClientBase implements VenueOrderClient {
  abstract readonly venue: VenueName;
  protected ws: WebSocket | undefined;
  protected readonly tracks = new Map<string, OrderTrack>();
  protected readonly byVenueId = new Map<string, string>();
  private readonly pending = new Map<string, Pending>();
  private readonly updateCbs: Array<(ack: OrderAck) => void> = [];
  private readonly connCbs: Array<(up: boolean) => void> = [];
  private isConnected = false;
  private closing = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectAttempt = 0;
  private nextId = 1;
  protected readonly timeoutMs: number;

  constructor(protected readonly opts: VenueClientOptions) {
    this.timeoutMs = opts.requestTimeoutMs ?? 2000;
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /** Whole epoch milliseconds, as venues want request timestamps. */
  protected nowMs(): number {
    return Number(this.opts.clock.nowNs() / 1_000_000n);
  }

  private everUp = false;
  private reconnects = 0;
  private messages = 0;
  private lastBeatNs = 0n;
  private protocolErrors = 0;

  stats(): PrivateStreamStats {
    return { reconnects: this.reconnects, messages: this.messages, lastHeartbeatNs: this.lastBeatNs, protocolErrors: this.protocolErrors };
  }

  /**
   * An execution-stream message about one of our orders did not parse. Nothing of it is applied
   * (a guessed fill is worse than none); the venue is asked for the order's state instead and the
   * answer is published like any update. When that query fails too, the executor's in-doubt
   * resolution and restart recovery are what remain.
   */
  protected reconcile(clientId: string, symbol: string | undefined): void {
    this.protocolErrors++;
    this.orderStatus(clientId, symbol).then(
      (ack) => {
        if (ack) this.emitUpdate(ack);
      },
      () => undefined,
    );
  }

  // ---- per-venue protocol --------------------------------------------------------------------
  /** Log in and subscribe the execution stream on a freshly opened socket. */
  protected abstract authenticate(): Promise<void>;
  /** A frame that is not the reply to a pending request (execution stream, events). */
  protected abstract onPush(msg: Record<string, unknown>): void;
  /** The correlation id of a reply frame, or undefined when the frame is a push. */
  protected abstract replyId(msg: Record<string, unknown>): string | undefined;
  /** Optional hook before connect (e.g. Kraken's REST token). */
  protected async prepare(): Promise<void> {}

  abstract place(req: OrderRequest): Promise<OrderAck>;
  abstract cancel(req: CancelRequest): Promise<OrderAck>;
  abstract replace(req: ReplaceRequest): Promise<OrderAck>;
  abstract openOrders(): Promise<OrderAck[]>;
  abstract orderStatus(clientId: string, symbol?: string): Promise<OrderAck | undefined>;
  abstract balances(): Promise<Record<string, number>>;

  // ---- lifecycle -----------------------------------------------------------------------------
  async connect(): Promise<void> {
    // Idempotent: a second connect (e.g. a gateway starting on a connected client) is a no-op.
    if (this.isConnected && this.ws) return;
    this.closing = false;
    await this.prepare();
    const ws = new WebSocket(this.opts.wsUrl, {
      perMessageDeflate: false,
      ...(this.opts.extraHeaders ? { headers: { ...this.opts.extraHeaders } } : {}),
    });
    this.ws = ws;
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', (err) => reject(new VenueClientError(this.venue, 'DISCONNECTED', err.message)));
    });
    ws.on('message', (data: Buffer) => this.onFrame(data));
    ws.on('error', () => {
      /* the close handler does the work */
    });
    ws.on('close', () => this.onClose(ws));
    this.startHeartbeat(ws);
    try {
      await this.authenticate();
    } catch (err) {
      ws.terminate();
      throw err;
    }
    if (this.closing || this.ws !== ws) {
      // close() was called while we were logging in.
      ws.terminate();
      throw new VenueClientError(this.venue, 'CLOSED', 'client closed during connect');
    }
    this.reconnectAttempt = 0;
    if (this.everUp) this.reconnects++;
    this.everUp = true;
    this.setConnected(true);
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    this.ws = undefined;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((r) => {
        ws.once('close', () => r());
        ws.close();
        setTimeout(() => {
          ws.terminate();
          r();
        }, 500).unref();
      });
    }
    this.failPending('CLOSED', 'client closed');
    this.setConnected(false);
  }

  onUpdate(cb: (ack: OrderAck) => void): () => void {
    this.updateCbs.push(cb);
    return () => {
      const i = this.updateCbs.indexOf(cb);
      if (i >= 0) this.updateCbs.splice(i, 1);
    };
  }

  onConnectionChange(cb: (connected: boolean) => void): () => void {
    this.connCbs.push(cb);
    return () => {
      const i = this.connCbs.indexOf(cb);
      if (i >= 0) this.connCbs.splice(i, 1);
    };
  }

  // ---- transport helpers ---------------------------------------------------------------------
  protected newId(): string {
    return String(this.nextId++);
  }

  /** Send a frame and wait for the reply carrying `id`. */
  protected request(id: string, frame: string): Promise<Record<string, unknown>> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN)
      return Promise.reject(new VenueClientError(this.venue, 'DISCONNECTED', 'private stream is down'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new VenueClientError(this.venue, 'TIMEOUT', `no reply to request ${id} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve: resolve as (m: unknown) => void, reject, timer });
      ws.send(Buffer.from(frame));
    });
  }

  private onFrame(data: Buffer): void {
    this.messages++;
    this.lastBeatNs = this.opts.clock.nowNs();
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
    } catch {
      return; // a venue never sends non-JSON on these endpoints; ignore rather than crash the stream
    }
    const id = this.replyId(msg);
    if (id !== undefined) {
      const p = this.pending.get(id);
      if (p) {
        this.pending.delete(id);
        clearTimeout(p.timer);
        p.resolve(msg);
        return;
      }
    }
    this.onPush(msg);
  }

  private startHeartbeat(ws: WebSocket): void {
    const period = this.opts.heartbeatMs ?? 5000;
    let lastPongNs = this.opts.clock.nowNs();
    ws.on('pong', () => {
      lastPongNs = this.opts.clock.nowNs();
      this.lastBeatNs = this.opts.clock.nowNs();
    });
    // Any frame also proves the venue is alive (busy venues may answer pings late).
    ws.on('message', () => (lastPongNs = this.opts.clock.nowNs()));
    const timer = setInterval(() => {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (this.opts.clock.nowNs() - lastPongNs > BigInt(Math.round(2 * period * 1e6))) {
        ws.terminate(); // -> close handler: halt, fail pending, reconnect
        return;
      }
      ws.ping();
    }, period);
    timer.unref();
    ws.once('close', () => clearInterval(timer));
  }

  private onClose(ws: WebSocket): void {
    if (this.ws !== ws) return;
    const wasUp = this.isConnected;
    this.ws = undefined;
    this.failPending('DISCONNECTED', 'private stream closed');
    this.setConnected(false);
    // Only a session that was up reconnects from here; a failing connect() is retried by
    // scheduleReconnect's own catch (or reported to the caller of the first connect()).
    if (wasUp && !this.closing && this.opts.autoReconnect !== false) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const base = this.opts.reconnectDelayMs ?? 100;
    const delay = Math.min(5000, base * 2 ** this.reconnectAttempt++);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect().catch(() => {
        if (!this.closing) this.scheduleReconnect();
      });
    }, delay);
  }

  private failPending(code: 'DISCONNECTED' | 'CLOSED', why: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new VenueClientError(this.venue, code, `${why} before reply to request ${id}`));
    }
    this.pending.clear();
  }

  private setConnected(up: boolean): void {
    if (this.isConnected === up) return;
    this.isConnected = up;
    for (const cb of this.connCbs) cb(up);
  }

  protected emitUpdate(ack: OrderAck): void {
    for (const cb of this.updateCbs) cb(ack);
  }

  // ---- order tracking ------------------------------------------------------------------------
  protected track(req: OrderRequest, typeText: string, tifText: string): OrderTrack {
    const t: OrderTrack = {
      clientId: req.clientId,
      symbol: req.symbol,
      side: req.side,
      venueOrderId: '',
      qty: req.size,
      price: req.price,
      carriedFilled: 0,
      carriedCost: 0,
      carriedFee: 0,
      filled: 0,
      cost: 0,
      fee: 0,
      status: OrderStatus.ORDER_STATUS_UNSPECIFIED,
      orderGroupId: req.orderGroupId,
      tif: tifText,
      type: typeText,
    };
    this.tracks.set(req.clientId, t);
    return t;
  }

  protected bindVenueId(t: OrderTrack, venueOrderId: string): void {
    if (!venueOrderId) return;
    t.venueOrderId = venueOrderId;
    this.byVenueId.set(venueOrderId, t.clientId);
  }

  /**
   * Local refusals before anything is sent: a client id the venue would not accept (never rewritten:
   * idempotency), or one this client already knows (placed or reconciled): a second placement
   * under the same id never leaves the process.
   */
  protected checkClientId(req: OrderRequest): OrderAck | undefined {
    const bad = requestProblem(req);
    if (bad)
      return this.rejectAck(
        req.clientId,
        req.symbol,
        req.side,
        req.orderGroupId,
        RejectReason.UNKNOWN,
        `${bad} (refused locally, not sent)`,
      );
    if (!CLIENT_ID_RULES[this.venue].test(req.clientId))
      return this.rejectAck(
        req.clientId,
        req.symbol,
        req.side,
        req.orderGroupId,
        RejectReason.UNKNOWN,
        `client id ${JSON.stringify(req.clientId)} not accepted by ${this.venue}`,
      );
    if (this.tracks.has(req.clientId))
      return this.rejectAck(
        req.clientId,
        req.symbol,
        req.side,
        req.orderGroupId,
        RejectReason.DUPLICATE_ORDER,
        `client id ${req.clientId} already used (refused locally, not sent)`,
      );
    return undefined;
  }

  /** Terminal orders are forgotten oldest-first beyond this many, bounding memory. */
  protected maxTerminalTracks = 100_000;
  private readonly terminalFifo: string[] = [];
  private terminalHead = 0;
  private readonly terminalSeen = new Set<string>();

  private retire(t: OrderTrack): void {
    if (this.terminalSeen.has(t.clientId)) return;
    this.terminalSeen.add(t.clientId);
    this.terminalFifo.push(t.clientId);
    while (this.terminalFifo.length - this.terminalHead > this.maxTerminalTracks) {
      const id = this.terminalFifo[this.terminalHead++]!;
      this.terminalSeen.delete(id);
      const old = this.tracks.get(id);
      if (old && (old.status === OrderStatus.FILLED || old.status === OrderStatus.CANCELLED || old.status === OrderStatus.REJECTED)) {
        this.tracks.delete(id);
        this.byVenueId.delete(old.venueOrderId);
      }
    }
    if (this.terminalHead > 4096 && this.terminalHead * 2 > this.terminalFifo.length) {
      this.terminalFifo.splice(0, this.terminalHead);
      this.terminalHead = 0;
    }
  }

  protected rejectAck(clientId: string, symbol: string, side: Side, orderGroupId: string, reason: RejectReason, detail: string): OrderAck {
    return create(OrderAckSchema, {
      clientId,
      venue: this.venue,
      status: OrderStatus.REJECTED,
      rejectReason: reason,
      rejectDetail: detail,
      orderGroupId,
      symbol,
      side,
      tsNs: this.opts.clock.nowNs(),
      accepted: false,
    });
  }

  /**
   * Snapshot of a tracked order as an OrderAck (cumulative across replacements). `fee` is the fee of
   * the fill this ack reports when it reports one (lastFillQty > 0), else the order's total fee.
   */
  protected ackOf(t: OrderTrack, status: OrderStatus, lastQty = 0, lastPx = 0, lastFee = 0): OrderAck {
    if (status === OrderStatus.FILLED || status === OrderStatus.CANCELLED) this.retire(t);
    const filled = t.carriedFilled + t.filled;
    const cost = t.carriedCost + t.cost;
    return create(OrderAckSchema, {
      clientId: t.clientId,
      venue: this.venue,
      status,
      venueOrderId: t.venueOrderId,
      filledQty: filled,
      avgPrice: filled > 0 ? cost / filled : 0,
      orderGroupId: t.orderGroupId,
      lastFillQty: lastQty,
      lastFillPrice: lastPx,
      fee: lastQty > 0 ? lastFee : t.carriedFee + t.fee,
      symbol: t.symbol,
      side: t.side,
      tsNs: this.opts.clock.nowNs(),
      accepted: status !== OrderStatus.REJECTED,
    });
  }
}

/**
 * What makes a request unsendable whatever the venue: an order type we do not map (a STOP sent as
 * a LIMIT would be mis-priced), no side, a size or limit price that is not a positive number.
 */
export function requestProblem(req: OrderRequest): string | undefined {
  if (req.orderType !== OrderType.LIMIT && req.orderType !== OrderType.MARKET)
    return `order type ${OrderType[req.orderType] ?? req.orderType} not supported`;
  if (req.side !== Side.BUY && req.side !== Side.SELL) return 'side must be BUY or SELL';
  if (!(req.size > 0) || !Number.isFinite(req.size)) return `size ${req.size} must be a positive number`;
  if (req.orderType === OrderType.LIMIT && (!(req.price > 0) || !Number.isFinite(req.price)))
    return `limit price ${req.price} must be a positive number`;
  if (!/^[A-Z0-9]+-[A-Z0-9]+$/.test(req.symbol)) return `symbol ${JSON.stringify(req.symbol)} is not canonical BASE-QUOTE`;
  return undefined;
}

/** Canonical BASE-QUOTE -> parts. */
export function splitCanonical(symbol: string): [string, string] {
  const i = symbol.indexOf('-');
  if (i <= 0) throw new RangeError(`not a BASE-QUOTE symbol: ${symbol}`);
  return [symbol.slice(0, i), symbol.slice(i + 1)];
}
