/**
 * Kraken WebSocket v2 order entry. Authorization is a token from REST GetWebSocketsToken, signed
 * API-Sign = base64(HMAC-SHA512(base64-decoded secret, path + SHA256(nonce + postdata))). Orders:
 * add_order / cancel_order / amend_order carrying the token; fills from the `executions` channel
 * (its snap_orders snapshot on every (re)subscribe reconciles open orders). Queries that v2 has no
 * WS method for (closed order by cl_ord_id, balances) use the signed REST endpoints.
 */
import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { OrderStatus, OrderType, RejectReason, Side, TimeInForce, type OrderAck } from '../../contracts/index.js';
import { WsOrderClientBase, fmt, venueNumber, type OrderTrack } from '../common/base-client.js';
import {
  VenueClientError,
  type CancelRequest,
  type MappedReject,
  type OrderRequest,
  type ReplaceRequest,
  type VenueClientOptions,
} from '../common/order-types.js';

/** Kraken error text -> taxonomy (Kraken errors are `ECategory:Message[:detail]` strings). */
export function mapKrakenError(error: string): MappedReject {
  const e = error;
  const reason =
    e.startsWith('EOrder:Insufficient funds') || e.startsWith('EOrder:Insufficient margin')
      ? RejectReason.INSUFFICIENT_BALANCE
      : e.startsWith('EQuery:Unknown asset pair') || e.includes('Invalid arguments:symbol')
        ? RejectReason.INVALID_SYMBOL
        : e.startsWith('EOrder:Order minimum not met') || e.startsWith('EOrder:Cost minimum not met')
          ? RejectReason.MIN_SIZE
          : e.startsWith('EOrder:Order maximum exceeded')
            ? RejectReason.MAX_SIZE
            : e.includes('limit_price precision') || e.startsWith('EOrder:Invalid price:tick')
              ? RejectReason.PRICE_PRECISION
              : e.includes('order_qty precision')
                ? RejectReason.SIZE_PRECISION
                : e.startsWith('EOrder:Invalid price')
                  ? RejectReason.PRICE_BANDS
                  : e.startsWith('EOrder:Rate limit exceeded') || e.startsWith('EAPI:Rate limit exceeded')
                    ? RejectReason.RATE_LIMIT
                    : e.startsWith('EOrder:Duplicate')
                      ? RejectReason.DUPLICATE_ORDER
                      : e.startsWith('EService:Unavailable') ||
                          e.startsWith('EService:Busy') ||
                          e.startsWith('EService:Market in cancel_only mode')
                        ? RejectReason.VENUE_UNAVAILABLE
                        : e.startsWith('EOrder:Trading halted') || e.startsWith('EService:Market in post_only mode')
                          ? RejectReason.MARKET_CLOSED
                          : RejectReason.UNKNOWN;
  return { reason, detail: error };
}

const TIF: Record<TimeInForce, string> = {
  [TimeInForce.TIF_UNSPECIFIED]: 'gtc',
  [TimeInForce.GTC]: 'gtc',
  [TimeInForce.IOC]: 'ioc',
  [TimeInForce.FOK]: 'fok',
};

const STATUS: Record<string, OrderStatus> = {
  pending_new: OrderStatus.NEW,
  new: OrderStatus.NEW,
  partially_filled: OrderStatus.PARTIAL,
  filled: OrderStatus.FILLED,
  canceled: OrderStatus.CANCELLED,
  expired: OrderStatus.CANCELLED,
  open: OrderStatus.NEW,
  closed: OrderStatus.FILLED,
};

export interface KrakenClientOptions extends VenueClientOptions {
  /** REST nonce source; defaults to a monotonic microsecond clock. The executor may supply its nonce manager. */
  readonly nonce?: () => bigint;
  /** Every add_order carries `validate: true`: the venue checks it and books nothing (the 'validate' preset). */
  readonly validateOnly?: boolean;
}

export class KrakenOrderClient extends WsOrderClientBase {
  readonly venue = 'kraken' as const;
  /** The base64 secret is decoded once into a key object (not per request). */
  private readonly key: KeyObject;
  private token = '';
  private lastNonce = 0n;
  private readonly nonceFn: (() => bigint) | undefined;

  private readonly validateOnly: boolean;
  constructor(opts: KrakenClientOptions) {
    super(opts);
    if (!opts.restUrl) throw new TypeError('kraken client needs restUrl for GetWebSocketsToken');
    this.key = createSecretKey(Buffer.from(opts.credentials.apiSecret, 'base64'));
    this.nonceFn = opts.nonce;
    this.validateOnly = opts.validateOnly === true;
  }

  static venueSymbol(symbol: string): string {
    return symbol.replace('-', '/');
  }

  private nextNonce(): bigint {
    const n = this.nonceFn ? this.nonceFn() : (this.opts.clock.nowNs() / 1_000_000n) * 1000n;
    this.lastNonce = n > this.lastNonce ? n : this.lastNonce + 1n;
    return this.lastNonce;
  }

  /** API-Sign for a private REST call. */
  signRest(path: string, postdata: string, nonce: string): string {
    const sha = createHash('sha256')
      .update(nonce + postdata)
      .digest();
    return createHmac('sha512', this.key).update(path).update(sha).digest('base64');
  }

  /** Signed POST to a private REST endpoint; returns `result` or throws on `error`. */
  private async rest(path: string, fields: Record<string, string> = {}): Promise<Record<string, unknown>> {
    const nonce = this.nextNonce().toString();
    const body = new URLSearchParams({ nonce, ...fields }).toString();
    const url = new URL(path, this.opts.restUrl);
    const headers = {
      'API-Key': this.opts.credentials.apiKey,
      'API-Sign': this.signRest(path, body, nonce),
      'Content-Type': 'application/x-www-form-urlencoded',
      'Content-Length': String(Buffer.byteLength(body)),
    };
    const text = await new Promise<string>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method: 'POST', headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      });
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(body);
    }).catch((err: Error) => {
      throw new VenueClientError(this.venue, 'DISCONNECTED', `REST ${path}: ${err.message}`, { cause: err });
    });
    const r = JSON.parse(text) as { error?: string[]; result?: Record<string, unknown> };
    if (r.error && r.error.length > 0) {
      const code = r.error[0]!.startsWith('EAPI:Invalid key') ? 'AUTH_FAILED' : 'PROTOCOL';
      throw new VenueClientError(this.venue, code, `REST ${path}: ${r.error.join(',')}`);
    }
    return r.result ?? {};
  }

  protected override async prepare(): Promise<void> {
    const r = await this.rest('/0/private/GetWebSocketsToken');
    this.token = String(r.token);
  }

  protected replyId(msg: Record<string, unknown>): string | undefined {
    return msg.method !== undefined && msg.req_id !== undefined ? String(msg.req_id) : undefined;
  }

  private call(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.newId();
    return this.request(id, JSON.stringify({ method, params: { ...params, token: this.token }, req_id: Number(id) }));
  }

  protected async authenticate(): Promise<void> {
    const r = await this.call('subscribe', { channel: 'executions', snap_orders: true, snap_trades: false });
    if (r.success !== true) throw new VenueClientError(this.venue, 'AUTH_FAILED', String(r.error));
  }

  async place(req: OrderRequest): Promise<OrderAck> {
    const bad = this.checkClientId(req);
    if (bad) return bad;
    const market = req.orderType === OrderType.MARKET;
    const tif = market ? '' : TIF[req.tif];
    const t = this.track(req, market ? 'market' : 'limit', tif);
    const id = this.newId();
    // Built by hand: numbers as plain decimals (JSON.stringify would write 1e-7), no temp objects.
    const frame =
      `{"method":"add_order","params":{"order_type":"${market ? 'market' : 'limit'}","side":"${req.side === Side.SELL ? 'sell' : 'buy'}",` +
      `"order_qty":${fmt(req.size)},"symbol":${JSON.stringify(KrakenOrderClient.venueSymbol(req.symbol))},"cl_ord_id":${JSON.stringify(req.clientId)},` +
      (market ? '' : `"limit_price":${fmt(req.price)},"time_in_force":"${tif}",`) +
      (this.validateOnly ? '"validate":true,' : '') +
      `"token":${JSON.stringify(this.token)}},"req_id":${id}}`;
    const r = await this.request(id, frame);
    if (r.success !== true) return this.refused(t, r);
    // validate: the venue accepted the order as valid and booked nothing; it ends here.
    if (this.validateOnly) {
      t.status = OrderStatus.CANCELLED;
      return this.ackOf(t, OrderStatus.CANCELLED);
    }
    this.bindVenueId(t, String((r.result as { order_id: string }).order_id));
    if (t.status === OrderStatus.ORDER_STATUS_UNSPECIFIED) t.status = OrderStatus.NEW;
    return this.ackOf(t, OrderStatus.NEW);
  }

  private refused(t: OrderTrack, r: Record<string, unknown>): OrderAck {
    const m = mapKrakenError(String(r.error ?? 'unknown error'));
    return this.rejectAck(t.clientId, t.symbol, t.side, t.orderGroupId, m.reason, m.detail);
  }

  private reqTrack(clientId: string): OrderTrack {
    return (
      this.tracks.get(clientId) ?? {
        clientId,
        symbol: '',
        side: Side.SIDE_UNSPECIFIED,
        venueOrderId: '',
        qty: 0,
        price: 0,
        carriedFilled: 0,
        carriedCost: 0,
        carriedFee: 0,
        filled: 0,
        cost: 0,
        fee: 0,
        status: OrderStatus.ORDER_STATUS_UNSPECIFIED,
        orderGroupId: '',
        tif: '',
        type: '',
      }
    );
  }

  async cancel(req: CancelRequest): Promise<OrderAck> {
    const t = this.reqTrack(req.clientId);
    const r = await this.call('cancel_order', { cl_ord_id: [req.clientId] });
    if (r.success !== true) return this.refused(t, r);
    return this.ackOf(t, OrderStatus.CANCELLED);
  }

  /** amend_order keeps order id, client id and (for size reductions) queue priority; order_qty is the new total. */
  async replace(req: ReplaceRequest): Promise<OrderAck> {
    const t = this.reqTrack(req.clientId);
    const params: Record<string, unknown> = { cl_ord_id: req.clientId };
    if (req.newQuantity > 0) params.order_qty = req.newQuantity;
    if (req.newPrice > 0) params.limit_price = req.newPrice;
    const r = await this.call('amend_order', params);
    if (r.success !== true) return this.refused(t, r);
    if (req.newQuantity > 0) t.qty = req.newQuantity;
    if (req.newPrice > 0) t.price = req.newPrice;
    return this.ackOf(t, t.filled > 0 ? OrderStatus.PARTIAL : OrderStatus.NEW);
  }

  async openOrders(): Promise<OrderAck[]> {
    const r = await this.rest('/0/private/OpenOrders');
    return Object.entries((r.open ?? {}) as Record<string, Record<string, unknown>>).map(([txid, o]) => this.absorbRest(txid, o));
  }

  async orderStatus(clientId: string): Promise<OrderAck | undefined> {
    const open = await this.rest('/0/private/OpenOrders', { cl_ord_id: clientId });
    for (const [txid, o] of Object.entries((open.open ?? {}) as Record<string, Record<string, unknown>>)) return this.absorbRest(txid, o);
    const closed = await this.rest('/0/private/ClosedOrders', { cl_ord_id: clientId });
    for (const [txid, o] of Object.entries((closed.closed ?? {}) as Record<string, Record<string, unknown>>))
      return this.absorbRest(txid, o);
    return undefined;
  }

  async balances(): Promise<Record<string, number>> {
    const r = await this.rest('/0/private/Balance');
    const out: Record<string, number> = {};
    for (const [a, v] of Object.entries(r)) out[a] = Number(v);
    return out;
  }

  private ensureTrack(clientId: string, symbol: string, side: string, qty: number, price: number): OrderTrack {
    let t = this.tracks.get(clientId);
    if (!t) {
      t = this.track(
        {
          clientId,
          symbol: symbol.replace('/', '-'),
          side: side === 'sell' ? Side.SELL : Side.BUY,
          size: qty,
          price,
          orderGroupId: '',
        } as OrderRequest,
        '',
        '',
      );
    }
    return t;
  }

  private absorbRest(txid: string, o: Record<string, unknown>): OrderAck {
    const d = (o.descr ?? {}) as Record<string, string>;
    // Every number first: a malformed reply changes nothing.
    const vol = venueNumber(this.venue, o.vol, 'vol');
    const price = venueNumber(this.venue, d.price, 'descr.price');
    const filled = venueNumber(this.venue, o.vol_exec, 'vol_exec');
    const cost = venueNumber(this.venue, o.cost, 'cost');
    const fee = venueNumber(this.venue, o.fee, 'fee');
    const t = this.ensureTrack(String(o.cl_ord_id ?? txid), String(d.pair ?? ''), String(d.type), vol, price);
    this.bindVenueId(t, txid);
    t.filled = filled;
    t.cost = cost;
    t.fee = fee;
    const st = String(o.status);
    t.status =
      st === 'open' ? (t.filled > 0 ? OrderStatus.PARTIAL : OrderStatus.NEW) : (STATUS[st] ?? OrderStatus.ORDER_STATUS_UNSPECIFIED);
    return this.ackOf(t, t.status);
  }

  protected onPush(msg: Record<string, unknown>): void {
    if (msg.channel !== 'executions' || !Array.isArray(msg.data)) return;
    for (const e of msg.data as Array<Record<string, unknown>>) {
      const clientId = e.cl_ord_id !== undefined ? String(e.cl_ord_id) : this.byVenueId.get(String(e.order_id));
      if (clientId === undefined) continue;
      const execType = String(e.exec_type);
      // Every number before any state changes; absent optional fields stay undefined.
      const opt = (v: unknown, what: string) => (v === undefined ? undefined : venueNumber(this.venue, v, what));
      let n: {
        orderQty?: number;
        limitPrice?: number;
        cumQty?: number;
        cumCost?: number;
        lastQty: number;
        lastPx: number;
        lastFee: number;
      };
      try {
        let lastFee = 0;
        if (execType === 'trade')
          for (const f of (e.fees ?? []) as Array<{ qty: unknown }>) lastFee += venueNumber(this.venue, f.qty, 'fee qty');
        n = {
          orderQty: opt(e.order_qty, 'order_qty'),
          limitPrice: opt(e.limit_price, 'limit_price'),
          cumQty: opt(e.cum_qty, 'cum_qty'),
          cumCost: opt(e.cum_cost, 'cum_cost'),
          lastQty: execType === 'trade' ? venueNumber(this.venue, e.last_qty, 'last_qty') : 0,
          lastPx: execType === 'trade' ? venueNumber(this.venue, e.last_price, 'last_price') : 0,
          lastFee,
        };
      } catch (err) {
        if (!(err instanceof VenueClientError)) throw err;
        if (this.tracks.has(clientId)) this.reconcile(clientId, this.tracks.get(clientId)!.symbol);
        continue;
      }
      const t =
        this.tracks.get(clientId) ??
        (e.symbol ? this.ensureTrack(clientId, String(e.symbol), String(e.side), n.orderQty ?? 0, n.limitPrice ?? 0) : undefined);
      if (!t) continue;
      if (!t.venueOrderId) this.bindVenueId(t, String(e.order_id));
      if (n.cumQty !== undefined) t.filled = n.cumQty;
      if (n.cumCost !== undefined) t.cost = n.cumCost;
      if (n.orderQty !== undefined) t.qty = n.orderQty;
      const { lastQty, lastPx, lastFee } = n;
      t.fee += lastFee;
      t.status = STATUS[String(e.order_status)] ?? t.status;
      // Snapshot entries reconcile state (published as updates so the executor sees venue truth).
      this.emitUpdate(this.ackOf(t, t.status, lastQty, lastPx, lastFee));
    }
  }
}
