/**
 * Simulated Binance Spot WebSocket API (ws-api/v3): signed order.place / order.cancel /
 * order.cancelReplace / order.status / openOrders.status / account.status, and the user data stream
 * via userDataStream.subscribe.signature (executionReport / outboundAccountPosition events).
 * Signature: hex HMAC-SHA256 of the params (minus `signature`) sorted by key, as `k=v&...`.
 */
import { createHmac, createPublicKey, timingSafeEqual, verify as verifySig, type KeyObject } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { EngineRejectCode, ExecEvent, SimOrder, Tif } from '../../../simulators/matching/engine.js';
import { ACCOUNT, PrivateVenueSim, dec, sendIfOpen, type PrivateSimOptions } from '../../../simulators/private/core.js';

type Params = Record<string, string | number | boolean>;
interface WsRequest {
  id: string | number | null;
  method: string;
  params?: Params;
}

/** Engine refusal -> Binance error (code, msg) as the real API words them. */
export const BINANCE_ERRORS: Readonly<Record<EngineRejectCode | 'RATE_LIMIT', { code: number; msg: string }>> = {
  INSUFFICIENT_BALANCE: { code: -2010, msg: 'Account has insufficient balance for requested action.' },
  DUPLICATE_CLIENT_ID: { code: -2010, msg: 'Duplicate order sent.' },
  UNKNOWN_SYMBOL: { code: -1121, msg: 'Invalid symbol.' },
  MIN_SIZE: { code: -1013, msg: 'Filter failure: LOT_SIZE' },
  MAX_SIZE: { code: -1013, msg: 'Filter failure: LOT_SIZE' },
  SIZE_PRECISION: { code: -1013, msg: 'Filter failure: LOT_SIZE' },
  PRICE_PRECISION: { code: -1013, msg: 'Filter failure: PRICE_FILTER' },
  PRICE_BAND: { code: -1013, msg: 'Filter failure: PERCENT_PRICE_BY_SIDE' },
  NO_LIQUIDITY: { code: -2010, msg: 'Order would trigger immediately.' },
  UNKNOWN_ORDER: { code: -2011, msg: 'Unknown order sent.' },
  INVALID_ARGUMENT: { code: -1100, msg: 'Illegal characters found in a parameter.' },
  RATE_LIMIT: { code: -1015, msg: 'Too many new orders; current limit is 50 orders per 10 SECOND.' },
};

const STATUS: Record<SimOrder['state'], string> = {
  new: 'NEW',
  partially_filled: 'PARTIALLY_FILLED',
  filled: 'FILLED',
  canceled: 'CANCELED',
  expired: 'EXPIRED',
};

export class BinancePrivateSim extends PrivateVenueSim {
  readonly venue = 'binance' as const;
  readonly wsPath = '/ws-api/v3';
  private readonly streams = new Set<WebSocket>();
  private readonly secret: Buffer;
  private readonly edKey: KeyObject | undefined;
  /** Fills per venue order id, for myTrades (order.status carries no commission). */
  private readonly fills = new Map<
    string,
    Array<{ qty: number; price: number; fee: number; liquidity: string; tradeId: number; time: number }>
  >();
  /** Connections logged on with session.logon (Ed25519): later requests need no signature. */
  private readonly sessions = new WeakSet<WebSocket>();

  constructor(opts: PrivateSimOptions) {
    // Binance: 50 orders per 10 s per account (the rateLimits block of the samples).
    super(opts, { limit: 50, windowMs: 10_000 });
    this.secret = Buffer.from(opts.credentials.apiSecret, 'utf8');
    this.edKey = opts.credentials.ed25519 ? createPublicKey(opts.credentials.ed25519.publicKeyPem) : undefined;
  }

  /** The venue's maintenance notice (`{"e":"serverShutdown","E":...}`) on every private connection. */
  announceShutdown(): void {
    const text = JSON.stringify({ e: 'serverShutdown', E: this.nowMs() });
    for (const ws of this.clients) sendIfOpen(ws, text);
  }

  private venueSymbol(symbol: string): string {
    return symbol.replace('-', '');
  }

  private canonical(venueSymbol: string): string | undefined {
    for (const s of ['USDT', 'USDC', 'USD', 'BTC', 'EUR']) {
      if (venueSymbol.endsWith(s) && venueSymbol.length > s.length) {
        const c = `${venueSymbol.slice(0, -s.length)}-${s}`;
        if (this.engine.symbolRules(c)) return c;
      }
    }
    return undefined;
  }

  protected onConnection(ws: WebSocket): void {
    ws.on('close', () => this.streams.delete(ws));
    ws.on('message', (data: Buffer) => {
      let req: WsRequest;
      try {
        req = JSON.parse(data.toString('utf8')) as WsRequest;
      } catch {
        sendIfOpen(ws, JSON.stringify({ id: null, status: 400, error: { code: -1100, msg: 'Malformed request.' } }));
        return;
      }
      this.handle(ws, req);
    });
  }

  protected onRest(): boolean {
    return false;
  }

  private err(ws: WebSocket, id: WsRequest['id'], status: number, code: number, msg: string): void {
    this.reply(ws, { id, status, error: { code, msg }, rateLimits: this.rateLimits() });
  }

  private rateLimits(): unknown[] {
    return [{ rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: this.limiter.limit, count: this.limiter.used }];
  }

  private verify(p: Params, ws: WebSocket): { code: number; msg: string; status: number } | undefined {
    const ts = Number(p.timestamp);
    const recv = Number(p.recvWindow ?? 5000);
    const stale = !(Math.abs(this.nowMs() - ts) <= recv);
    if (p.signature === undefined && this.sessions.has(ws)) {
      // Authenticated session: requests carry only a timestamp.
      return stale ? { status: 400, code: -1021, msg: 'Timestamp for this request is outside of the recvWindow.' } : undefined;
    }
    const payload = Object.keys(p)
      .filter((k) => k !== 'signature')
      .sort()
      .map((k) => `${k}=${String(p[k])}`)
      .join('&');
    const sig = String(p.signature ?? '');
    let ok: boolean;
    if (this.edKey && p.apiKey === this.creds.ed25519?.apiKey) {
      ok = verifySig(null, Buffer.from(payload), this.edKey, Buffer.from(sig, 'base64'));
    } else if (p.apiKey === this.creds.apiKey) {
      const expect = createHmac('sha256', this.secret).update(payload).digest('hex');
      ok = sig.length === expect.length && timingSafeEqual(Buffer.from(sig), Buffer.from(expect));
    } else {
      return { status: 401, code: -2015, msg: 'Invalid API-key, IP, or permissions for action.' };
    }
    if (!ok) return { status: 400, code: -1022, msg: 'Signature for this request is not valid.' };
    if (stale) return { status: 400, code: -1021, msg: 'Timestamp for this request is outside of the recvWindow.' };
    return undefined;
  }

  private handle(ws: WebSocket, req: WsRequest): void {
    const p = req.params ?? {};
    const bad = this.verify(p, ws);
    if (bad) return this.err(ws, req.id, bad.status, bad.code, bad.msg);
    switch (req.method) {
      case 'session.logon': {
        // Only Ed25519 keys may log a session on (as on the venue).
        if (p.apiKey !== this.creds.ed25519?.apiKey) return this.err(ws, req.id, 400, -4056, 'HMAC_SHA256 API key is not supported.');
        this.sessions.add(ws);
        const now = this.nowMs();
        return this.reply(ws, {
          id: req.id,
          status: 200,
          result: {
            apiKey: p.apiKey,
            authorizedSince: now,
            connectedSince: now,
            returnRateLimits: false,
            serverTime: now,
            userDataStream: false,
          },
        });
      }
      case 'userDataStream.subscribe':
        if (!this.sessions.has(ws)) return this.err(ws, req.id, 401, -2015, 'Invalid API-key, IP, or permissions for action.');
        this.streams.add(ws);
        return this.reply(ws, { id: req.id, status: 200, result: { subscriptionId: 0 } });
      case 'userDataStream.subscribe.signature':
        this.streams.add(ws);
        return this.reply(ws, { id: req.id, status: 200, result: { subscriptionId: 0 } });
      case 'order.place':
        return this.place(ws, req.id, p);
      case 'order.cancel':
        return this.cancel(ws, req.id, p);
      case 'order.cancelReplace':
        return this.cancelReplace(ws, req.id, p);
      case 'order.status': {
        const o = this.engine.findByClientId(ACCOUNT, String(p.origClientOrderId ?? ''));
        if (!o) return this.err(ws, req.id, 400, -2013, 'Order does not exist.');
        return this.reply(ws, { id: req.id, status: 200, result: this.orderJson(o) });
      }
      case 'myTrades': {
        const list = this.fills.get(String(p.orderId ?? '')) ?? [];
        const o = this.engine.getOrder(String(p.orderId ?? ''));
        return this.reply(ws, {
          id: req.id,
          status: 200,
          result: list.map((f) => ({
            symbol: p.symbol,
            id: f.tradeId,
            orderId: Number(p.orderId),
            orderListId: -1,
            price: dec(f.price),
            qty: dec(f.qty),
            quoteQty: dec(f.qty * f.price),
            commission: dec(f.fee),
            commissionAsset: o ? (this.engine.symbolRules(o.symbol)?.quote ?? '') : '',
            time: f.time,
            isBuyer: o?.side === 'buy',
            isMaker: f.liquidity === 'maker',
            isBestMatch: true,
          })),
        });
      }
      case 'openOrders.status':
        return this.reply(ws, {
          id: req.id,
          status: 200,
          result: this.engine.openOrders(ACCOUNT).map((o) => this.orderJson(o)),
        });
      case 'account.status': {
        const b = this.engine.balances(ACCOUNT);
        return this.reply(ws, {
          id: req.id,
          status: 200,
          result: {
            accountType: 'SPOT',
            balances: Object.entries(b).map(([asset, w]) => ({ asset, free: dec(w.free), locked: dec(w.locked) })),
          },
        });
      }
      default:
        return this.err(ws, req.id, 400, -1100, `Unknown method ${req.method}`);
    }
  }

  private refusal(ws: WebSocket, id: WsRequest['id'], code: EngineRejectCode | 'RATE_LIMIT'): void {
    const e = BINANCE_ERRORS[code];
    this.err(ws, id, code === 'RATE_LIMIT' ? 429 : 400, e.code, e.msg);
  }

  private place(ws: WebSocket, id: WsRequest['id'], p: Params): void {
    const clientId = String(p.newClientOrderId ?? '');
    this.record('place', clientId);
    const pre = this.admit();
    if (pre) return this.refusal(ws, id, pre);
    const symbol = this.canonical(String(p.symbol ?? ''));
    if (!symbol) return this.refusal(ws, id, 'UNKNOWN_SYMBOL');
    const r = this.run(() =>
      this.engine.submit(ACCOUNT, {
        clientId,
        symbol,
        side: p.side === 'SELL' ? 'sell' : 'buy',
        type: p.type === 'MARKET' ? 'market' : 'limit',
        tif: (p.timeInForce as Tif | undefined) ?? 'GTC',
        qty: Number(p.quantity),
        price: Number(p.price ?? 0),
      }),
    );
    if (!r.ok) return this.refusal(ws, id, r.code);
    this.reply(ws, {
      id,
      status: 200,
      result: {
        symbol: p.symbol,
        orderId: Number(r.value.orderId),
        orderListId: -1,
        clientOrderId: clientId,
        transactTime: r.value.createdMs,
      },
      rateLimits: this.rateLimits(),
    });
  }

  private cancel(ws: WebSocket, id: WsRequest['id'], p: Params): void {
    const clientId = String(p.origClientOrderId ?? '');
    this.record('cancel', clientId);
    const r = this.run(() => this.engine.cancel(ACCOUNT, p.orderId !== undefined ? { orderId: String(p.orderId) } : { clientId }));
    if (!r.ok) return this.refusal(ws, id, r.code);
    this.reply(ws, { id, status: 200, result: { ...this.orderJson(r.value), origClientOrderId: r.value.clientId } });
  }

  /** STOP_ON_FAILURE: cancel the original, then place the new order (same client id allowed once closed). */
  private cancelReplace(ws: WebSocket, id: WsRequest['id'], p: Params): void {
    const orig = String(p.cancelOrigClientOrderId ?? '');
    this.record('replace', orig);
    const pre = this.admit();
    if (pre) return this.refusal(ws, id, pre);
    // Filters of the new order are checked before anything is cancelled (as the venue does).
    const open = this.engine.findOpenByClientId(ACCOUNT, orig);
    if (open) {
      const v = this.run(() =>
        this.engine.validate(
          ACCOUNT,
          {
            clientId: String(p.newClientOrderId ?? orig),
            symbol: open.symbol,
            side: p.side === 'SELL' ? 'sell' : 'buy',
            type: p.type === 'MARKET' ? 'market' : 'limit',
            tif: (p.timeInForce as Tif | undefined) ?? 'GTC',
            qty: Number(p.quantity),
            price: Number(p.price ?? 0),
          },
          true,
        ),
      );
      if (!v.ok) return this.refusal(ws, id, v.code);
    }
    const c = this.run(() => this.engine.cancel(ACCOUNT, { clientId: orig }));
    if (!c.ok) {
      const e = BINANCE_ERRORS[c.code];
      return this.reply(ws, {
        id,
        status: 400,
        error: {
          code: -2022,
          msg: 'Order cancel-replace failed.',
          data: { cancelResult: 'FAILURE', newOrderResult: 'NOT_ATTEMPTED', cancelResponse: e, newOrderResponse: null },
        },
      });
    }
    const symbol = c.value.symbol;
    const n = this.run(() =>
      this.engine.submit(ACCOUNT, {
        clientId: String(p.newClientOrderId ?? orig),
        symbol,
        side: p.side === 'SELL' ? 'sell' : 'buy',
        type: p.type === 'MARKET' ? 'market' : 'limit',
        tif: (p.timeInForce as Tif | undefined) ?? 'GTC',
        qty: Number(p.quantity),
        price: Number(p.price ?? 0),
      }),
    );
    if (!n.ok) {
      const e = BINANCE_ERRORS[n.code];
      return this.reply(ws, {
        id,
        status: 409,
        error: {
          code: -2021,
          msg: 'Order cancel-replace partially failed.',
          data: { cancelResult: 'SUCCESS', newOrderResult: 'FAILURE', cancelResponse: this.orderJson(c.value), newOrderResponse: e },
        },
      });
    }
    this.reply(ws, {
      id,
      status: 200,
      result: {
        cancelResult: 'SUCCESS',
        newOrderResult: 'SUCCESS',
        cancelResponse: { ...this.orderJson(c.value), origClientOrderId: orig },
        newOrderResponse: {
          symbol: this.venueSymbol(symbol),
          orderId: Number(n.value.orderId),
          orderListId: -1,
          clientOrderId: n.value.clientId,
          transactTime: n.value.createdMs,
        },
      },
    });
  }

  private orderJson(o: Readonly<SimOrder>): Record<string, unknown> {
    return {
      symbol: this.venueSymbol(o.symbol),
      orderId: Number(o.orderId),
      orderListId: -1,
      clientOrderId: o.clientId,
      price: dec(o.price),
      origQty: dec(o.qty),
      executedQty: dec(o.filled),
      cummulativeQuoteQty: dec(o.cost),
      status: STATUS[o.state],
      timeInForce: o.tif,
      type: o.type === 'market' ? 'MARKET' : 'LIMIT',
      side: o.side === 'buy' ? 'BUY' : 'SELL',
      time: o.createdMs,
      updateTime: o.updatedMs,
      isWorking: o.state === 'new' || o.state === 'partially_filled',
    };
  }

  protected onExec(ev: ExecEvent): void {
    if (ev.kind === 'fill') {
      let list = this.fills.get(ev.order.orderId);
      if (!list) this.fills.set(ev.order.orderId, (list = []));
      list.push({ ...ev.fill, time: ev.order.updatedMs });
    }
    if (this.streams.size === 0) return;
    const o = ev.order;
    const fill = ev.kind === 'fill' ? ev.fill : undefined;
    const x = ev.kind === 'fill' ? 'TRADE' : ev.kind === 'amended' ? 'REPLACED' : STATUS[o.state];
    const event = {
      e: 'executionReport',
      E: o.updatedMs,
      s: this.venueSymbol(o.symbol),
      c: o.clientId,
      S: o.side === 'buy' ? 'BUY' : 'SELL',
      o: o.type === 'market' ? 'MARKET' : 'LIMIT',
      f: o.tif,
      q: dec(o.qty),
      p: dec(o.price),
      P: '0.00000000',
      F: '0.00000000',
      g: -1,
      C: ev.kind === 'canceled' ? o.clientId : '',
      x,
      X: STATUS[o.state],
      r: 'NONE',
      i: Number(o.orderId),
      l: dec(fill?.qty ?? 0),
      z: dec(o.filled),
      L: dec(fill?.price ?? 0),
      n: dec(fill?.fee ?? 0),
      N: fill ? (this.engine.symbolRules(o.symbol)?.quote ?? null) : null,
      T: o.updatedMs,
      t: fill?.tradeId ?? -1,
      w: o.state === 'new' || o.state === 'partially_filled',
      m: fill?.liquidity === 'maker',
      O: o.createdMs,
      Z: dec(o.cost),
      Y: dec(fill ? fill.qty * fill.price : 0),
      Q: '0.00000000',
      W: o.createdMs,
      V: 'NONE',
    };
    const text = JSON.stringify({ subscriptionId: 0, event });
    for (const ws of this.streams) sendIfOpen(ws, text);
  }
}
