/**
 * OKX v5 private WebSocket order entry: `login` op (sign = base64(HMAC-SHA256(secret,
 * timestamp + 'GET' + '/users/self/verify'))), `order` / `cancel-order` / `amend-order` ops, fills
 * from the `orders` channel. OKX has no WS query ops, so reconciliation queries (pending orders,
 * one order, balances) use the signed REST API (OK-ACCESS-SIGN over ts + method + path + body);
 * fill tracking stays on the private stream.
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
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

/** OKX sCode -> taxonomy. */
export function mapOkxError(sCode: string, sMsg: string): MappedReject {
  const detail = `${sCode} ${sMsg}`;
  const table: Record<string, RejectReason> = {
    '51008': RejectReason.INSUFFICIENT_BALANCE,
    '51119': RejectReason.INSUFFICIENT_BALANCE,
    '51131': RejectReason.INSUFFICIENT_BALANCE,
    '51016': RejectReason.DUPLICATE_ORDER,
    '51001': RejectReason.INVALID_SYMBOL,
    '51020': RejectReason.MIN_SIZE,
    '51202': RejectReason.MAX_SIZE,
    '51201': RejectReason.MAX_SIZE,
    '51121': RejectReason.SIZE_PRECISION,
    '51006': RejectReason.PRICE_BANDS,
    '51137': RejectReason.PRICE_BANDS,
    '50011': RejectReason.RATE_LIMIT,
    '50061': RejectReason.RATE_LIMIT,
    '50001': RejectReason.VENUE_UNAVAILABLE,
    '50013': RejectReason.VENUE_UNAVAILABLE,
    '50026': RejectReason.VENUE_UNAVAILABLE,
    '51010': RejectReason.VENUE_POLICY,
  };
  let reason = table[sCode] ?? RejectReason.UNKNOWN;
  // 51000 is OKX's generic "Parameter {x} error": the parameter name tells which precision failed.
  if (sCode === '51000')
    reason = /\bpx\b/.test(sMsg) ? RejectReason.PRICE_PRECISION : /\bsz\b/.test(sMsg) ? RejectReason.SIZE_PRECISION : RejectReason.UNKNOWN;
  return { reason, detail };
}

const STATUS: Record<string, OrderStatus> = {
  live: OrderStatus.NEW,
  partially_filled: OrderStatus.PARTIAL,
  filled: OrderStatus.FILLED,
  canceled: OrderStatus.CANCELLED,
  mmp_canceled: OrderStatus.CANCELLED,
};

export class OkxOrderClient extends WsOrderClientBase {
  readonly venue = 'okx' as const;
  private readonly key: KeyObject;

  constructor(opts: VenueClientOptions) {
    super(opts);
    if (!opts.credentials.passphrase) throw new TypeError('okx client needs credentials.passphrase');
    this.key = createSecretKey(Buffer.from(opts.credentials.apiSecret, 'utf8'));
  }

  sign(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('base64');
  }

  protected replyId(msg: Record<string, unknown>): string | undefined {
    if (msg.id !== undefined && msg.op !== undefined) return String(msg.id);
    // login/subscribe/error events have no id: one handshake step in flight at a time uses 'evt'.
    if (msg.event !== undefined) return 'evt';
    return undefined;
  }

  private evt(frame: string): Promise<Record<string, unknown>> {
    return this.request('evt', frame);
  }

  protected async authenticate(): Promise<void> {
    const timestamp = String(this.opts.clock.nowNs() / 1_000_000_000n);
    const sign = this.sign(`${timestamp}GET/users/self/verify`);
    const c = this.opts.credentials;
    const login = await this.evt(JSON.stringify({ op: 'login', args: [{ apiKey: c.apiKey, passphrase: c.passphrase, timestamp, sign }] }));
    if (login.event !== 'login' || login.code !== '0')
      throw new VenueClientError(this.venue, 'AUTH_FAILED', `${String(login.code)} ${String(login.msg)}`);
    const sub = await this.evt(JSON.stringify({ op: 'subscribe', args: [{ channel: 'orders', instType: 'SPOT' }] }));
    if (sub.event !== 'subscribe') throw new VenueClientError(this.venue, 'PROTOCOL', `${String(sub.code)} ${String(sub.msg)}`);
  }

  private op(op: string, arg: Record<string, string>): Promise<Record<string, unknown>> {
    const id = this.newId();
    return this.request(id, JSON.stringify({ id, op, args: [arg] }));
  }

  private item(r: Record<string, unknown>): Record<string, string> {
    const d = r.data as Array<Record<string, string>> | undefined;
    return d?.[0] ?? { sCode: String(r.code ?? ''), sMsg: String(r.msg ?? '') };
  }

  async place(req: OrderRequest): Promise<OrderAck> {
    const bad = this.checkClientId(req);
    if (bad) return bad;
    const market = req.orderType === OrderType.MARKET;
    const ordType = market ? 'market' : req.tif === TimeInForce.IOC ? 'ioc' : req.tif === TimeInForce.FOK ? 'fok' : 'limit';
    const arg: Record<string, string> = {
      instId: req.symbol,
      tdMode: 'cash',
      side: req.side === Side.SELL ? 'sell' : 'buy',
      ordType,
      sz: fmt(req.size),
      clOrdId: req.clientId,
    };
    // Spot market buys default to quote-currency size; ours are base quantities.
    if (market) arg.tgtCcy = 'base_ccy';
    else arg.px = fmt(req.price);
    const t = this.track(req, ordType, ordType);
    const r = await this.op('order', arg);
    const it = this.item(r);
    if (it.sCode !== '0') return this.refused(t, it);
    this.bindVenueId(t, it.ordId ?? '');
    if (t.status === OrderStatus.ORDER_STATUS_UNSPECIFIED) t.status = OrderStatus.NEW;
    return this.ackOf(t, OrderStatus.NEW);
  }

  private refused(t: OrderTrack, it: Record<string, string>): OrderAck {
    const m = mapOkxError(it.sCode ?? '', it.sMsg ?? '');
    return this.rejectAck(t.clientId, t.symbol, t.side, t.orderGroupId, m.reason, m.detail);
  }

  private async trackFor(clientId: string): Promise<OrderTrack | undefined> {
    if (!this.tracks.has(clientId)) await this.orderStatus(clientId).catch(() => undefined);
    return this.tracks.get(clientId);
  }

  async cancel(req: CancelRequest): Promise<OrderAck> {
    const t = await this.trackFor(req.clientId);
    if (!t) return this.rejectAck(req.clientId, '', Side.SIDE_UNSPECIFIED, '', RejectReason.UNKNOWN, 'order unknown to venue');
    const it = this.item(await this.op('cancel-order', { instId: t.symbol, clOrdId: t.clientId }));
    if (it.sCode !== '0') return this.refused(t, it);
    return this.ackOf(t, OrderStatus.CANCELLED);
  }

  /** amend-order: newSz is the new total quantity (including filled), as on the venue. */
  async replace(req: ReplaceRequest): Promise<OrderAck> {
    const t = await this.trackFor(req.clientId);
    if (!t) return this.rejectAck(req.clientId, '', Side.SIDE_UNSPECIFIED, '', RejectReason.UNKNOWN, 'order unknown to venue');
    const arg: Record<string, string> = { instId: t.symbol, clOrdId: t.clientId };
    if (req.newQuantity > 0) arg.newSz = fmt(req.newQuantity);
    if (req.newPrice > 0) arg.newPx = fmt(req.newPrice);
    const it = this.item(await this.op('amend-order', arg));
    if (it.sCode !== '0') return this.refused(t, it);
    if (req.newQuantity > 0) t.qty = req.newQuantity;
    if (req.newPrice > 0) t.price = req.newPrice;
    return this.ackOf(t, t.filled > 0 ? OrderStatus.PARTIAL : OrderStatus.NEW);
  }

  private async rest(method: 'GET', pathWithQuery: string): Promise<Array<Record<string, string>>> {
    const ts = new Date(this.nowMs()).toISOString();
    const c = this.opts.credentials;
    const base = this.opts.restUrl ?? this.opts.wsUrl.replace(/^ws/, 'http');
    const url = new URL(pathWithQuery, base);
    const headers = {
      'OK-ACCESS-KEY': c.apiKey,
      'OK-ACCESS-SIGN': this.sign(ts + method + pathWithQuery),
      'OK-ACCESS-TIMESTAMP': ts,
      'OK-ACCESS-PASSPHRASE': c.passphrase ?? '',
      ...this.opts.extraHeaders,
    };
    const text = await new Promise<string>((resolve, reject) => {
      const rq = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (b: Buffer) => chunks.push(b));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      });
      rq.setTimeout(this.timeoutMs, () => rq.destroy(new Error('timeout')));
      rq.on('error', reject);
      rq.end();
    }).catch((err: Error) => {
      throw new VenueClientError(this.venue, 'DISCONNECTED', `REST ${pathWithQuery}: ${err.message}`, { cause: err });
    });
    const r = JSON.parse(text) as { code: string; msg: string; data: Array<Record<string, string>> };
    if (r.code === '51603') return [];
    if (r.code !== '0') throw new VenueClientError(this.venue, r.code === '50113' ? 'AUTH_FAILED' : 'PROTOCOL', `${r.code} ${r.msg}`);
    return r.data;
  }

  async openOrders(): Promise<OrderAck[]> {
    const rows = await this.rest('GET', '/api/v5/trade/orders-pending?instType=SPOT');
    return rows.map((o) => this.absorb(o, false));
  }

  async orderStatus(clientId: string, symbol?: string): Promise<OrderAck | undefined> {
    const instId = symbol || this.tracks.get(clientId)?.symbol;
    if (!instId) {
      // OKX requires instId for this query: search open orders, then every configured symbol.
      const open = (await this.openOrders()).find((a) => a.clientId === clientId);
      if (open) return open;
      for (const s of this.opts.symbols ?? []) {
        const a = await this.orderStatus(clientId, s);
        if (a) return a;
      }
      return undefined;
    }
    const q = new URLSearchParams({ instId, clOrdId: clientId }).toString();
    const rows = await this.rest('GET', `/api/v5/trade/order?${q}`);
    return rows[0] ? this.absorb(rows[0], false) : undefined;
  }

  async balances(): Promise<Record<string, number>> {
    const rows = await this.rest('GET', '/api/v5/account/balance');
    const out: Record<string, number> = {};
    for (const d of (rows[0]?.details ?? []) as unknown as Array<{ ccy: string; availBal: string }>) out[d.ccy] = Number(d.availBal);
    return out;
  }

  /** One order row (REST or `orders` channel) -> track -> ack. */
  private absorb(o: Record<string, string>, push: boolean): OrderAck {
    const clientId = o.clOrdId || this.byVenueId.get(o.ordId ?? '') || '';
    // Every number first: a malformed row changes nothing. OKX leaves some fields '' on purpose
    // (px of a market order, avgPx/fillPx/fees before any fill): those, and only those, read as 0.
    const v = this.venue;
    const sz = venueNumber(v, o.sz, 'sz', { empty: 0 });
    const px = venueNumber(v, o.px, 'px', { empty: 0 });
    const accFillSz = venueNumber(v, o.accFillSz, 'accFillSz', { empty: 0 });
    const avgPx = venueNumber(v, o.avgPx, 'avgPx', { empty: 0 });
    const fee = venueNumber(v, o.fee, 'fee', { signed: true, empty: 0 });
    const fillSz = push ? venueNumber(v, o.fillSz, 'fillSz', { empty: 0 }) : 0;
    const fillPx = fillSz > 0 ? venueNumber(v, o.fillPx, 'fillPx') : 0;
    const fillFee = push ? venueNumber(v, o.fillFee, 'fillFee', { signed: true, empty: 0 }) : 0;
    let t = this.tracks.get(clientId);
    if (!t) {
      t = this.track(
        {
          clientId,
          symbol: o.instId ?? '',
          side: o.side === 'sell' ? Side.SELL : Side.BUY,
          size: sz,
          price: px,
          orderGroupId: '',
        } as OrderRequest,
        o.ordType ?? '',
        o.ordType ?? '',
      );
    }
    if (!t.venueOrderId) this.bindVenueId(t, o.ordId ?? '');
    t.filled = accFillSz;
    t.cost = t.filled * avgPx;
    t.fee = Math.abs(fee);
    if (sz > 0) t.qty = sz;
    t.status = STATUS[o.state ?? ''] ?? t.status;
    // OKX reports fees as negative numbers (a charge); fillFee is this fill's.
    return this.ackOf(t, t.status, fillSz, fillPx, Math.abs(fillFee));
  }

  protected onPush(msg: Record<string, unknown>): void {
    const arg = msg.arg as { channel?: string } | undefined;
    if (arg?.channel !== 'orders' || !Array.isArray(msg.data)) return;
    for (const o of msg.data as Array<Record<string, string>>) {
      if (!o.clOrdId && !this.byVenueId.has(o.ordId ?? '')) continue; // not ours
      let ack: OrderAck;
      try {
        ack = this.absorb(o, true);
      } catch (err) {
        if (!(err instanceof VenueClientError)) throw err;
        this.reconcile(o.clOrdId || this.byVenueId.get(o.ordId ?? '') || '', o.instId);
        continue;
      }
      this.emitUpdate(ack);
    }
  }
}
