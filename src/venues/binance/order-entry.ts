/**
 * Binance Spot WebSocket API order entry. Every request is signed (HMAC keys cannot use
 * session.logon, which is Ed25519-only): params + apiKey + timestamp, sorted by key, `k=v&...`,
 * hex HMAC-SHA256. Orders use newOrderRespType=ACK so the reply is the bare acceptance; fills come
 * from the user data stream (userDataStream.subscribe.signature) only.
 */
import { createHmac, createPrivateKey, createSecretKey, sign as edSign, type KeyObject } from 'node:crypto';
import { OrderStatus, RejectReason, Side, TimeInForce, OrderType, type OrderAck } from '../../contracts/index.js';
import { WsOrderClientBase, fmt, splitCanonical, venueNumber, type OrderTrack } from '../common/base-client.js';
import {
  VenueClientError,
  type CancelRequest,
  type MappedReject,
  type OrderRequest,
  type ReplaceRequest,
  type VenueClientOptions,
} from '../common/order-types.js';

type Params = Record<string, string | number>;

/** Binance error -> taxonomy. LOT_SIZE covers min/max/step; `qty` and the optional min lot disambiguate. */
export function mapBinanceError(code: number, msg: string, ctx?: { qty?: number; minLot?: number }): MappedReject {
  const detail = `${code} ${msg}`;
  switch (code) {
    case -1013: {
      if (msg.includes('PRICE_FILTER')) return { reason: RejectReason.PRICE_PRECISION, detail };
      if (msg.includes('PERCENT_PRICE')) return { reason: RejectReason.PRICE_BANDS, detail };
      if (msg.includes('NOTIONAL')) return { reason: RejectReason.MIN_SIZE, detail };
      if (msg.includes('LOT_SIZE')) {
        if (ctx?.qty !== undefined && ctx.minLot !== undefined && ctx.qty < ctx.minLot) return { reason: RejectReason.MIN_SIZE, detail };
        return { reason: RejectReason.SIZE_PRECISION, detail };
      }
      if (msg.includes('MAX_NUM')) return { reason: RejectReason.MAX_SIZE, detail };
      return { reason: RejectReason.UNKNOWN, detail };
    }
    case -1111:
      return { reason: RejectReason.SIZE_PRECISION, detail };
    case -1121:
      return { reason: RejectReason.INVALID_SYMBOL, detail };
    case -1003:
    case -1015:
      return { reason: RejectReason.RATE_LIMIT, detail };
    case -2010:
      if (/insufficient balance/i.test(msg)) return { reason: RejectReason.INSUFFICIENT_BALANCE, detail };
      if (/duplicate/i.test(msg)) return { reason: RejectReason.DUPLICATE_ORDER, detail };
      if (/market is closed/i.test(msg)) return { reason: RejectReason.MARKET_CLOSED, detail };
      return { reason: RejectReason.UNKNOWN, detail };
    case -1016:
    case -1001:
      return { reason: RejectReason.VENUE_UNAVAILABLE, detail };
    default:
      return { reason: RejectReason.UNKNOWN, detail };
  }
}

/** Hex HMAC-SHA256 of the params (all but `signature`) sorted by key, as `k=v&...` (WS API rule). */
export function binanceSignature(key: KeyObject | string, params: Readonly<Params>): string {
  const keys = Object.keys(params).sort();
  let payload = '';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k === 'signature') continue;
    payload += (payload === '' ? '' : '&') + k + '=' + String(params[k]);
  }
  return createHmac('sha256', key).update(payload).digest('hex');
}

/** Base64 Ed25519 signature of the same sorted `k=v&...` payload (Ed25519 API keys). */
export function binanceEd25519Signature(key: KeyObject, params: Readonly<Params>): string {
  const keys = Object.keys(params).sort();
  let payload = '';
  for (const k of keys) if (k !== 'signature') payload += (payload === '' ? '' : '&') + k + '=' + String(params[k]);
  return edSign(null, Buffer.from(payload), key).toString('base64');
}

const TIF: Record<TimeInForce, string> = {
  [TimeInForce.TIF_UNSPECIFIED]: 'GTC',
  [TimeInForce.GTC]: 'GTC',
  [TimeInForce.IOC]: 'IOC',
  [TimeInForce.FOK]: 'FOK',
};

const STATUS: Record<string, OrderStatus> = {
  NEW: OrderStatus.NEW,
  PARTIALLY_FILLED: OrderStatus.PARTIAL,
  FILLED: OrderStatus.FILLED,
  CANCELED: OrderStatus.CANCELLED,
  EXPIRED: OrderStatus.CANCELLED,
  EXPIRED_IN_MATCH: OrderStatus.CANCELLED,
  REJECTED: OrderStatus.REJECTED,
  PENDING_CANCEL: OrderStatus.NEW,
};

export interface BinanceClientOptions extends VenueClientOptions {
  /** Minimum lot per canonical symbol, to tell MIN_SIZE from SIZE_PRECISION in LOT_SIZE refusals. */
  readonly minLots?: Readonly<Record<string, number>>;
}

export class BinanceOrderClient extends WsOrderClientBase {
  readonly venue = 'binance' as const;
  /** Pre-built key object: createHmac skips re-importing the raw key on every order. */
  private readonly key: KeyObject;
  private readonly recvWindow: number;
  /** Venue order ids being cancel-replaced: their CANCELED report is internal, not a terminal state. */
  private readonly replacing = new Set<string>();
  private readonly bOpts: BinanceClientOptions;
  /** Ed25519 key: sign session.logon once; the logged-on session needs no per-request signature. */
  private readonly edKey: KeyObject | undefined;
  private session = false;

  constructor(opts: BinanceClientOptions) {
    super(opts);
    this.bOpts = opts;
    this.key = createSecretKey(Buffer.from(opts.credentials.apiSecret, 'utf8'));
    const pem = opts.credentials.ed25519PrivateKeyPem;
    this.edKey = pem ? createPrivateKey(pem) : undefined;
    this.recvWindow = opts.recvWindowMs ?? 5000;
  }

  static venueSymbol(symbol: string): string {
    const [b, q] = splitCanonical(symbol);
    return b + q;
  }

  /** Sign: add apiKey/timestamp/recvWindow, sort keys, HMAC (or Ed25519) the `k=v&...` text. */
  sign(params: Params): Params {
    if (this.session) return { ...params, recvWindow: this.recvWindow, timestamp: this.nowMs() };
    const p: Params = { ...params, apiKey: this.opts.credentials.apiKey, recvWindow: this.recvWindow, timestamp: this.nowMs() };
    p.signature = this.edKey ? binanceEd25519Signature(this.edKey, p) : binanceSignature(this.key, p);
    return p;
  }

  /**
   * The order.place frame, built directly in signature order (keys already sorted) with no
   * intermediate objects: this is the hot path from signal to socket.
   */
  private placeFrame(id: string, req: OrderRequest, market: boolean, tif: string): string {
    const symbol = BinanceOrderClient.venueSymbol(req.symbol);
    const side = req.side === Side.SELL ? 'SELL' : 'BUY';
    const qty = fmt(req.size);
    const price = market ? '' : fmt(req.price);
    const ts = this.nowMs();
    const ordType = market ? 'MARKET' : 'LIMIT';
    // Alphabetical: apiKey newClientOrderId newOrderRespType price quantity recvWindow side symbol timeInForce timestamp type
    let payload = this.session ? '' : `apiKey=${this.opts.credentials.apiKey}&`;
    payload += `newClientOrderId=${req.clientId}&newOrderRespType=ACK&`;
    if (!market) payload += `price=${price}&`;
    payload += `quantity=${qty}&recvWindow=${this.recvWindow}&side=${side}&symbol=${symbol}&`;
    if (!market) payload += `timeInForce=${tif}&`;
    payload += `timestamp=${ts}&type=${ordType}`;
    let params =
      `"newClientOrderId":${JSON.stringify(req.clientId)},"newOrderRespType":"ACK",` +
      (market ? '' : `"price":"${price}","timeInForce":"${tif}",`) +
      `"quantity":"${qty}","recvWindow":${this.recvWindow},"side":"${side}","symbol":${JSON.stringify(symbol)},"timestamp":${ts},"type":"${ordType}"`;
    if (!this.session) {
      const sig = this.edKey
        ? edSign(null, Buffer.from(payload), this.edKey).toString('base64')
        : createHmac('sha256', this.key).update(payload).digest('hex');
      params += `,"apiKey":${JSON.stringify(this.opts.credentials.apiKey)},"signature":"${sig}"`;
    }
    return `{"id":"${id}","method":"order.place","params":{${params}}}`;
  }

  private async call(method: string, params: Params): Promise<Record<string, unknown>> {
    const id = this.newId();
    return this.request(id, JSON.stringify({ id, method, params: this.sign(params) }));
  }

  protected replyId(msg: Record<string, unknown>): string | undefined {
    return msg.id === undefined || msg.id === null ? undefined : String(msg.id);
  }

  protected async authenticate(): Promise<void> {
    this.session = false;
    if (this.edKey) {
      const logon = await this.call('session.logon', {});
      if (logon.status !== 200) {
        const e = logon.error as { code: number; msg: string } | undefined;
        throw new VenueClientError(this.venue, 'AUTH_FAILED', `${e?.code} ${e?.msg}`);
      }
      this.session = true;
    }
    const r = await this.call(this.session ? 'userDataStream.subscribe' : 'userDataStream.subscribe.signature', {});
    if (r.status !== 200) {
      const e = r.error as { code: number; msg: string } | undefined;
      throw new VenueClientError(this.venue, 'AUTH_FAILED', `${e?.code} ${e?.msg}`);
    }
    await this.reconcileTracks();
  }

  /** Refresh tracks from the venue (after a reconnect the stream may have missed reports). */
  private async reconcileTracks(): Promise<void> {
    const r = await this.call('openOrders.status', {});
    if (r.status === 200) for (const o of r.result as Array<Record<string, unknown>>) this.absorb(o);
  }

  async place(req: OrderRequest): Promise<OrderAck> {
    const bad = this.checkClientId(req);
    if (bad) return bad;
    const market = req.orderType === OrderType.MARKET;
    const tif = market ? '' : TIF[req.tif];
    const t = this.track(req, market ? 'MARKET' : 'LIMIT', tif);
    const id = this.newId();
    const r = await this.request(id, this.placeFrame(id, req, market, tif));
    if (r.status !== 200) return this.refused(t, r, req.size);
    const res = r.result as { orderId: number };
    this.bindVenueId(t, String(res.orderId));
    if (t.status === OrderStatus.ORDER_STATUS_UNSPECIFIED) t.status = OrderStatus.NEW;
    return this.ackOf(t, OrderStatus.NEW);
  }

  private refused(t: OrderTrack, r: Record<string, unknown>, qty?: number): OrderAck {
    const e = (r.error ?? {}) as { code?: number; msg?: string };
    const m = mapBinanceError(e.code ?? 0, e.msg ?? 'unknown error', { qty, minLot: this.bOpts.minLots?.[t.symbol] });
    return this.rejectAck(t.clientId, t.symbol, t.side, t.orderGroupId, m.reason, m.detail);
  }

  private async trackFor(clientId: string): Promise<OrderTrack | undefined> {
    let t = this.tracks.get(clientId);
    if (!t) {
      // Unknown after a restart: learn it from the venue (cancel needs the symbol).
      await this.orderStatus(clientId).catch(() => undefined);
      t = this.tracks.get(clientId);
    }
    return t;
  }

  async cancel(req: CancelRequest): Promise<OrderAck> {
    const t = await this.trackFor(req.clientId);
    if (!t) return this.rejectAck(req.clientId, '', Side.SIDE_UNSPECIFIED, '', RejectReason.UNKNOWN, 'order unknown to venue');
    const r = await this.call('order.cancel', { symbol: BinanceOrderClient.venueSymbol(t.symbol), origClientOrderId: t.clientId });
    if (r.status !== 200) return this.refused(t, r);
    this.absorb(r.result as Record<string, unknown>);
    return this.ackOf(t, OrderStatus.CANCELLED);
  }

  /**
   * order.cancelReplace (STOP_ON_FAILURE) keeping our client id. `newQuantity` is the new total
   * order quantity; the replacement venue order gets total minus what already filled.
   */
  async replace(req: ReplaceRequest): Promise<OrderAck> {
    const t = await this.trackFor(req.clientId);
    if (!t) return this.rejectAck(req.clientId, '', Side.SIDE_UNSPECIFIED, '', RejectReason.UNKNOWN, 'order unknown to venue');
    const total = req.newQuantity > 0 ? req.newQuantity : t.qty;
    const price = req.newPrice > 0 ? req.newPrice : t.price;
    const remaining = total - (t.carriedFilled + t.filled);
    if (remaining <= 0)
      return this.rejectAck(t.clientId, t.symbol, t.side, t.orderGroupId, RejectReason.UNKNOWN, 'new quantity not above filled');
    const oldVenueId = t.venueOrderId;
    this.replacing.add(oldVenueId);
    let r: Record<string, unknown>;
    try {
      r = await this.call('order.cancelReplace', {
        symbol: BinanceOrderClient.venueSymbol(t.symbol),
        cancelReplaceMode: 'STOP_ON_FAILURE',
        cancelOrigClientOrderId: t.clientId,
        newClientOrderId: t.clientId,
        side: t.side === Side.SELL ? 'SELL' : 'BUY',
        type: 'LIMIT',
        timeInForce: t.tif || 'GTC',
        price: fmt(price),
        quantity: fmt(remaining),
        newOrderRespType: 'ACK',
      });
    } catch (err) {
      this.replacing.delete(oldVenueId);
      throw err;
    }
    if (r.status !== 200) {
      this.replacing.delete(oldVenueId);
      const e = (r.error ?? {}) as {
        code?: number;
        msg?: string;
        data?: { cancelResponse?: { code: number; msg: string }; newOrderResponse?: { code: number; msg: string } };
      };
      if (e.code === -2021) {
        // Cancel half succeeded, new order refused: the logical order is now cancelled.
        const n = e.data?.newOrderResponse;
        t.status = OrderStatus.CANCELLED;
        this.emitUpdate(this.ackOf(t, OrderStatus.CANCELLED));
        const m = mapBinanceError(n?.code ?? 0, n?.msg ?? 'new order refused');
        return this.rejectAck(t.clientId, t.symbol, t.side, t.orderGroupId, m.reason, `${m.detail} (original cancelled)`);
      }
      const inner = e.data?.cancelResponse;
      const m =
        inner && typeof inner.code === 'number' ? mapBinanceError(inner.code, inner.msg) : mapBinanceError(e.code ?? 0, e.msg ?? '');
      return this.rejectAck(t.clientId, t.symbol, t.side, t.orderGroupId, m.reason, m.detail);
    }
    const res = r.result as { newOrderResponse: { orderId: number } };
    t.qty = total;
    t.price = price;
    this.startNewLeg(t, String(res.newOrderResponse.orderId));
    return this.ackOf(t, t.filled > 0 ? OrderStatus.PARTIAL : OrderStatus.NEW);
  }

  /** Carry the old venue order's fills into the logical order, then bind the replacement. */
  private startNewLeg(t: OrderTrack, venueOrderId: string): void {
    if (t.venueOrderId === venueOrderId) return;
    t.carriedFilled += t.filled;
    t.carriedCost += t.cost;
    t.carriedFee += t.fee;
    t.filled = 0;
    t.cost = 0;
    t.fee = 0;
    this.bindVenueId(t, venueOrderId);
  }

  async openOrders(): Promise<OrderAck[]> {
    const r = await this.call('openOrders.status', {});
    if (r.status !== 200) throw new VenueClientError(this.venue, 'PROTOCOL', JSON.stringify(r.error));
    return (r.result as Array<Record<string, unknown>>).map((o) => this.absorb(o));
  }

  async orderStatus(clientId: string, symbol?: string): Promise<OrderAck | undefined> {
    const sym = symbol || this.tracks.get(clientId)?.symbol;
    if (!sym) {
      // order.status needs a symbol: search open orders, then every configured symbol.
      const open = (await this.openOrders()).find((a) => a.clientId === clientId);
      if (open) return open;
      const candidates = new Set([...(this.opts.symbols ?? []), ...Object.keys(this.bOpts.minLots ?? {})]);
      for (const s of candidates) {
        const a = await this.orderStatus(clientId, s);
        if (a) return a;
      }
      return undefined;
    }
    const r = await this.call('order.status', { symbol: BinanceOrderClient.venueSymbol(sym), origClientOrderId: clientId });
    if (r.status === 200) {
      const o = r.result as Record<string, unknown>;
      const ack = this.absorb(o);
      const t = this.tracks.get(clientId)!;
      if (ack.filledQty > 0 && t.fee === 0) {
        // order.status carries no commission: sum it from the order's trades.
        const tr = await this.call('myTrades', { symbol: BinanceOrderClient.venueSymbol(sym), orderId: Number(o.orderId) });
        if (tr.status === 200) {
          for (const f of tr.result as Array<{ commission: string }>) t.fee += Number(f.commission);
          return this.ackOf(t, t.status);
        }
      }
      return ack;
    }
    const e = (r.error ?? {}) as { code?: number; msg?: string };
    if (e.code === -2013) return undefined; // "Order does not exist."
    throw new VenueClientError(this.venue, 'PROTOCOL', `order.status: ${e.code} ${e.msg}`);
  }

  async balances(): Promise<Record<string, number>> {
    const r = await this.call('account.status', {});
    if (r.status !== 200) throw new VenueClientError(this.venue, 'PROTOCOL', JSON.stringify(r.error));
    const out: Record<string, number> = {};
    for (const b of (r.result as { balances: Array<{ asset: string; free: string }> }).balances) out[b.asset] = Number(b.free);
    return out;
  }

  /** Order object of a query reply -> track + ack. */
  private absorb(o: Record<string, unknown>): OrderAck {
    const clientId = String(o.clientOrderId);
    // Every number first: a malformed reply changes nothing.
    const size = venueNumber(this.venue, o.origQty, 'origQty');
    const price = venueNumber(this.venue, o.price, 'price');
    const filled = venueNumber(this.venue, o.executedQty, 'executedQty');
    const cost = venueNumber(this.venue, o.cummulativeQuoteQty, 'cummulativeQuoteQty');
    let t = this.tracks.get(clientId);
    if (!t) {
      const sym = String(o.symbol);
      t = this.track(
        {
          clientId,
          symbol: this.canonicalOf(sym),
          side: o.side === 'SELL' ? Side.SELL : Side.BUY,
          size,
          price,
          orderGroupId: '',
        } as OrderRequest,
        String(o.type),
        String(o.timeInForce),
      );
    }
    const venueId = String(o.orderId);
    if (t.venueOrderId !== venueId) {
      if (t.venueOrderId === '') this.bindVenueId(t, venueId);
      else this.startNewLeg(t, venueId);
    }
    t.filled = filled;
    t.cost = cost;
    const status = STATUS[String(o.status)] ?? OrderStatus.ORDER_STATUS_UNSPECIFIED;
    t.status = status;
    return this.ackOf(t, status);
  }

  private canonicalOf(venueSymbol: string): string {
    for (const t of this.tracks.values()) if (BinanceOrderClient.venueSymbol(t.symbol) === venueSymbol) return t.symbol;
    for (const q of ['USDT', 'USDC', 'FDUSD', 'BTC', 'ETH', 'EUR'])
      if (venueSymbol.endsWith(q)) return `${venueSymbol.slice(0, -q.length)}-${q}`;
    return venueSymbol;
  }

  protected onPush(msg: Record<string, unknown>): void {
    const ev = (msg.event ?? (msg.e !== undefined ? msg : undefined)) as Record<string, unknown> | undefined;
    if (!ev) return;
    if (ev.e === 'eventStreamTerminated' || ev.e === 'serverShutdown') {
      // The venue ended our subscription or is about to close the connection (maintenance / 24 h
      // limit): drop it now so new orders halt and we reconnect and resubscribe at once.
      this.ws?.terminate();
      return;
    }
    if (ev.e !== 'executionReport') return;
    const x = String(ev.x);
    const venueId = String(ev.i);
    const clientId = x === 'CANCELED' && ev.C ? String(ev.C) : String(ev.c);
    const t = this.tracks.get(clientId) ?? this.tracks.get(this.byVenueId.get(venueId) ?? '');
    if (!t) return; // not one of ours (manual order on the account)
    let z: number, Z: number, lastQty: number, lastFee: number, lastPx: number;
    try {
      z = venueNumber(this.venue, ev.z, 'cumulative filled qty (z)');
      Z = venueNumber(this.venue, ev.Z, 'cumulative quote qty (Z)');
      lastQty = x === 'TRADE' ? venueNumber(this.venue, ev.l, 'last filled qty (l)') : 0;
      lastPx = x === 'TRADE' ? venueNumber(this.venue, ev.L, 'last price (L)') : 0;
      lastFee = x === 'TRADE' ? venueNumber(this.venue, ev.n, 'commission (n)') : 0;
    } catch (err) {
      if (!(err instanceof VenueClientError)) throw err;
      this.reconcile(t.clientId, t.symbol);
      return;
    }
    if (x === 'CANCELED' && this.replacing.has(venueId)) {
      // The cancel half of our own cancel-replace: keep its fills, do not report a terminal state.
      this.replacing.delete(venueId);
      if (t.venueOrderId === venueId) t.filled = z;
      return;
    }
    if (t.venueOrderId !== venueId) {
      if (t.venueOrderId === '') this.bindVenueId(t, venueId);
      else if (this.byVenueId.get(venueId) !== t.clientId || x === 'NEW') this.startNewLeg(t, venueId);
    }
    t.filled = z;
    t.cost = Z;
    t.fee += lastFee;
    const status = STATUS[String(ev.X)] ?? OrderStatus.ORDER_STATUS_UNSPECIFIED;
    t.status = status;
    const ack = this.ackOf(t, status, lastQty, lastPx, lastFee);
    if (String(ev.r) !== 'NONE' && status === OrderStatus.REJECTED) ack.rejectDetail = String(ev.r);
    this.emitUpdate(ack);
  }
}
