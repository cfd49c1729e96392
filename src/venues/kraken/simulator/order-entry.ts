/**
 * Simulated Kraken: REST private endpoints (GetWebSocketsToken, OpenOrders, ClosedOrders, Balance)
 * signed with API-Sign = base64(HMAC-SHA512(base64-decoded secret, path + SHA256(nonce + postdata)))
 * and strictly increasing nonces; WebSocket v2 (/v2) add_order / cancel_order / amend_order and the
 * `executions` channel (snap_orders snapshot, then updates), all authorized by the REST token.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import type { EngineRejectCode, ExecEvent, SimOrder, Tif } from '../../../simulators/matching/engine.js';
import { ACCOUNT, PrivateVenueSim, json, sendIfOpen, type PrivateSimOptions } from '../../../simulators/private/core.js';

export const KRAKEN_ERRORS: Readonly<Record<EngineRejectCode | 'RATE_LIMIT', string>> = {
  INSUFFICIENT_BALANCE: 'EOrder:Insufficient funds',
  DUPLICATE_CLIENT_ID: 'EOrder:Duplicate cl_ord_id',
  UNKNOWN_SYMBOL: 'EQuery:Unknown asset pair',
  MIN_SIZE: 'EOrder:Order minimum not met',
  MAX_SIZE: 'EOrder:Order maximum exceeded',
  SIZE_PRECISION: 'EGeneral:Invalid arguments:order_qty precision',
  PRICE_PRECISION: 'EGeneral:Invalid arguments:limit_price precision',
  PRICE_BAND: 'EOrder:Invalid price:outside price band',
  NO_LIQUIDITY: 'EOrder:Insufficient liquidity',
  UNKNOWN_ORDER: 'EOrder:Unknown order',
  INVALID_ARGUMENT: 'EGeneral:Invalid arguments',
  RATE_LIMIT: 'EOrder:Rate limit exceeded',
};

const TIF_IN: Record<string, Tif> = { gtc: 'GTC', ioc: 'IOC', fok: 'FOK' };

interface WsReq {
  method: string;
  params?: Record<string, unknown>;
  req_id?: number;
}

export class KrakenPrivateSim extends PrivateVenueSim {
  readonly venue = 'kraken' as const;
  readonly wsPath = '/v2';
  /** Client ids of add_order requests with validate: true (checked, never booked). */
  readonly validated: string[] = [];
  private readonly secret: Buffer;
  private readonly tokens = new Set<string>();
  private lastNonce = 0n;
  private readonly subscribers = new Set<WebSocket>();
  private sequence = 0;

  constructor(opts: PrivateSimOptions) {
    // Kraken's matching-engine counter, approximated as 60 order actions per 10 s.
    super(opts, { limit: 60, windowMs: 10_000 });
    this.secret = Buffer.from(opts.credentials.apiSecret, 'base64');
  }

  /** Revoke every issued token (clients must fetch a new one). */
  revokeTokens(): void {
    this.tokens.clear();
  }

  // ---- REST ------------------------------------------------------------------------------------
  protected onRest(req: IncomingMessage, body: string, res: ServerResponse): boolean {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (!path.startsWith('/0/private/')) return false;
    const err = this.verifyRest(req, path, body);
    if (err) {
      json(res, 200, { error: [err] });
      return true;
    }
    const form = new URLSearchParams(body);
    const clOrdId = form.get('cl_ord_id');
    switch (path) {
      case '/0/private/GetWebSocketsToken': {
        const token = randomBytes(24).toString('base64');
        this.tokens.add(token);
        json(res, 200, { error: [], result: { token, expires: 900 } });
        return true;
      }
      case '/0/private/OpenOrders': {
        const open: Record<string, unknown> = {};
        for (const o of this.engine.openOrders(ACCOUNT)) if (!clOrdId || o.clientId === clOrdId) open[o.orderId] = this.restOrder(o);
        json(res, 200, { error: [], result: { open } });
        return true;
      }
      case '/0/private/ClosedOrders': {
        const closed: Record<string, unknown> = {};
        if (clOrdId) {
          const o = this.engine.findByClientId(ACCOUNT, clOrdId);
          if (o && o.state !== 'new' && o.state !== 'partially_filled') closed[o.orderId] = this.restOrder(o);
        }
        json(res, 200, { error: [], result: { closed, count: Object.keys(closed).length } });
        return true;
      }
      case '/0/private/Balance': {
        const out: Record<string, string> = {};
        for (const [a, w] of Object.entries(this.engine.balances(ACCOUNT))) out[a] = (w.free + w.locked).toFixed(8);
        json(res, 200, { error: [], result: out });
        return true;
      }
      default:
        json(res, 404, { error: ['EGeneral:Unknown method'] });
        return true;
    }
  }

  private verifyRest(req: IncomingMessage, path: string, body: string): string | undefined {
    if (req.headers['api-key'] !== this.creds.apiKey) return 'EAPI:Invalid key';
    const nonceText = new URLSearchParams(body).get('nonce');
    if (!nonceText || !/^\d+$/.test(nonceText)) return 'EAPI:Invalid nonce';
    const sha = createHash('sha256')
      .update(nonceText + body)
      .digest();
    const expect = createHmac('sha512', this.secret).update(path).update(sha).digest();
    const got = Buffer.from(String(req.headers['api-sign'] ?? ''), 'base64');
    if (got.length !== expect.length || !timingSafeEqual(got, expect)) return 'EAPI:Invalid key';
    const nonce = BigInt(nonceText);
    if (nonce <= this.lastNonce) return 'EAPI:Invalid nonce';
    this.lastNonce = nonce;
    return undefined;
  }

  private restOrder(o: Readonly<SimOrder>): Record<string, unknown> {
    return {
      refid: null,
      userref: 0,
      cl_ord_id: o.clientId,
      status: o.state === 'new' || o.state === 'partially_filled' ? 'open' : o.state === 'filled' ? 'closed' : o.state,
      opentm: o.createdMs / 1000,
      descr: {
        pair: o.symbol.replace('-', '/'),
        type: o.side,
        ordertype: o.type,
        price: o.price.toFixed(8),
      },
      vol: o.qty.toFixed(8),
      vol_exec: o.filled.toFixed(8),
      cost: o.cost.toFixed(8),
      fee: o.fee.toFixed(8),
      price: (o.filled > 0 ? o.cost / o.filled : 0).toFixed(8),
      timeinforce: o.tif,
    };
  }

  // ---- WebSocket v2 ----------------------------------------------------------------------------
  protected onConnection(ws: WebSocket): void {
    ws.on('close', () => this.subscribers.delete(ws));
    ws.on('message', (data: Buffer) => {
      const timeIn = new Date(this.nowMs()).toISOString();
      let req: WsReq;
      try {
        req = JSON.parse(data.toString('utf8')) as WsReq;
      } catch {
        sendIfOpen(ws, JSON.stringify({ error: 'EGeneral:Invalid arguments', success: false, time_in: timeIn, time_out: timeIn }));
        return;
      }
      this.handle(ws, req, timeIn);
    });
  }

  private fail(ws: WebSocket, req: WsReq, timeIn: string, error: string): void {
    this.reply(ws, {
      error,
      method: req.method,
      req_id: req.req_id,
      success: false,
      time_in: timeIn,
      time_out: new Date(this.nowMs()).toISOString(),
    });
  }

  private ok(ws: WebSocket, req: WsReq, timeIn: string, result: unknown): void {
    this.reply(ws, {
      method: req.method,
      req_id: req.req_id,
      result,
      success: true,
      time_in: timeIn,
      time_out: new Date(this.nowMs()).toISOString(),
    });
  }

  private handle(ws: WebSocket, req: WsReq, timeIn: string): void {
    const p = req.params ?? {};
    if (req.method === 'ping') return this.ok(ws, req, timeIn, {});
    if (typeof p.token !== 'string' || !this.tokens.has(p.token)) return this.fail(ws, req, timeIn, 'EGeneral:Permission denied');
    switch (req.method) {
      case 'subscribe': {
        if (p.channel !== 'executions') return this.fail(ws, req, timeIn, 'EGeneral:Invalid arguments:channel');
        this.subscribers.add(ws);
        this.ok(ws, req, timeIn, { channel: 'executions', maxratecount: this.limiter.limit, snapshot: true, warnings: [] });
        if (p.snap_orders !== false) {
          const data = this.engine.openOrders(ACCOUNT).map((o) => this.report(o, 'new'));
          sendIfOpen(ws, JSON.stringify({ channel: 'executions', type: 'snapshot', data, sequence: ++this.sequence }));
        }
        return;
      }
      case 'add_order': {
        const clientId = String(p.cl_ord_id ?? '');
        this.record('place', clientId);
        const pre = this.admit();
        if (pre) return this.fail(ws, req, timeIn, KRAKEN_ERRORS[pre]);
        // validate: checked, never booked (Kraken's answer to "no testnet").
        if (p.validate === true) {
          this.validated.push(clientId);
          return this.ok(ws, req, timeIn, { cl_ord_id: clientId, warnings: [] });
        }
        const r = this.run(() =>
          this.engine.submit(ACCOUNT, {
            clientId,
            symbol: String(p.symbol ?? '').replace('/', '-'),
            side: p.side === 'sell' ? 'sell' : 'buy',
            type: p.order_type === 'market' ? 'market' : 'limit',
            tif: TIF_IN[String(p.time_in_force ?? 'gtc')] ?? 'GTC',
            qty: Number(p.order_qty),
            price: Number(p.limit_price ?? 0),
          }),
        );
        if (!r.ok) return this.fail(ws, req, timeIn, KRAKEN_ERRORS[r.code]);
        return this.ok(ws, req, timeIn, { order_id: r.value.orderId, cl_ord_id: clientId });
      }
      case 'cancel_order': {
        const ids = (p.cl_ord_id as string[] | undefined) ?? [];
        const oids = (p.order_id as string[] | undefined) ?? [];
        for (const id of ids) this.record('cancel', id);
        for (const id of ids) {
          const r = this.run(() => this.engine.cancel(ACCOUNT, { clientId: id }));
          if (!r.ok) return this.fail(ws, req, timeIn, KRAKEN_ERRORS[r.code]);
        }
        for (const id of oids) {
          const r = this.run(() => this.engine.cancel(ACCOUNT, { orderId: id }));
          if (!r.ok) return this.fail(ws, req, timeIn, KRAKEN_ERRORS[r.code]);
        }
        return this.ok(ws, req, timeIn, ids.length > 0 ? { cl_ord_id: ids[0] } : { order_id: oids[0] });
      }
      case 'amend_order': {
        const clientId = p.cl_ord_id === undefined ? undefined : String(p.cl_ord_id);
        if (clientId) this.record('replace', clientId);
        const pre = this.admit();
        if (pre) return this.fail(ws, req, timeIn, KRAKEN_ERRORS[pre]);
        const ref = clientId ? { clientId } : { orderId: String(p.order_id ?? '') };
        const r = this.run(() => this.engine.amend(ACCOUNT, ref, Number(p.order_qty ?? 0), Number(p.limit_price ?? 0)));
        if (!r.ok) return this.fail(ws, req, timeIn, KRAKEN_ERRORS[r.code]);
        return this.ok(ws, req, timeIn, {
          amend_id: `A${r.value.orderId}-${r.value.updatedMs}`,
          order_id: r.value.orderId,
          cl_ord_id: r.value.clientId,
        });
      }
      default:
        return this.fail(ws, req, timeIn, `EGeneral:Invalid arguments:method ${req.method}`);
    }
  }

  private report(
    o: Readonly<SimOrder>,
    execType: string,
    fill?: { qty: number; price: number; fee: number; liquidity: string; tradeId: number },
  ): Record<string, unknown> {
    const r = this.engine.symbolRules(o.symbol);
    return {
      order_id: o.orderId,
      cl_ord_id: o.clientId,
      symbol: o.symbol.replace('-', '/'),
      side: o.side,
      order_type: o.type,
      order_qty: o.qty,
      limit_price: o.price,
      time_in_force: o.tif,
      exec_type: execType,
      order_status: o.state,
      cum_qty: o.filled,
      cum_cost: o.cost,
      avg_price: o.filled > 0 ? o.cost / o.filled : 0,
      order_userref: 0,
      timestamp: new Date(o.updatedMs).toISOString(),
      ...(fill
        ? {
            exec_id: `E${fill.tradeId}`,
            trade_id: fill.tradeId,
            last_qty: fill.qty,
            last_price: fill.price,
            liquidity_ind: fill.liquidity === 'maker' ? 'm' : 't',
            cost: fill.qty * fill.price,
            fees: [{ asset: r?.quote ?? 'USD', qty: fill.fee }],
          }
        : {}),
      ...(execType === 'amended' ? { amended: true, reason: 'User requested' } : {}),
      ...(execType === 'canceled' ? { cancel_reason: 'User requested', reason: 'User requested' } : {}),
    };
  }

  protected onExec(ev: ExecEvent): void {
    if (this.subscribers.size === 0) return;
    const execType = ev.kind === 'fill' ? 'trade' : ev.kind;
    const data = [this.report(ev.order, execType, ev.kind === 'fill' ? ev.fill : undefined)];
    const text = JSON.stringify({ channel: 'executions', type: 'update', data, sequence: ++this.sequence });
    for (const ws of this.subscribers) sendIfOpen(ws, text);
  }
}
