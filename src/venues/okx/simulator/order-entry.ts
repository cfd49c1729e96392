/**
 * Simulated OKX v5 private WebSocket (/ws/v5/private): `login` op (sign = base64(HMAC-SHA256(
 * secret, timestamp + 'GET' + '/users/self/verify')), timestamp in seconds within 30 s), `order`,
 * `cancel-order`, `amend-order` ops, the `orders` channel; plus the signed REST queries used for
 * reconciliation (orders-pending, order, account/balance; OK-ACCESS-SIGN over
 * timestamp + method + requestPath + body).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import type { EngineRejectCode, ExecEvent, SimOrder, Tif } from '../../../simulators/matching/engine.js';
import { ACCOUNT, PrivateVenueSim, json, sendIfOpen, type PrivateSimOptions } from '../../../simulators/private/core.js';

export const OKX_ERRORS: Readonly<Record<EngineRejectCode | 'RATE_LIMIT', { sCode: string; sMsg: string }>> = {
  INSUFFICIENT_BALANCE: { sCode: '51008', sMsg: 'Order failed. Insufficient USDT balance in account.' },
  DUPLICATE_CLIENT_ID: { sCode: '51016', sMsg: 'Duplicated clOrdId' },
  UNKNOWN_SYMBOL: { sCode: '51001', sMsg: "Instrument ID doesn't exist." },
  MIN_SIZE: { sCode: '51020', sMsg: 'Your order should meet or exceed the minimum order amount.' },
  MAX_SIZE: { sCode: '51202', sMsg: 'Order amount exceeds the max order amount.' },
  SIZE_PRECISION: { sCode: '51121', sMsg: 'Order quantity must be a multiple of the lot size.' },
  PRICE_PRECISION: { sCode: '51000', sMsg: 'Parameter px error' },
  PRICE_BAND: { sCode: '51006', sMsg: 'Order price is not within the price limit.' },
  NO_LIQUIDITY: { sCode: '51023', sMsg: 'Position does not exist.' },
  UNKNOWN_ORDER: { sCode: '51603', sMsg: 'Order does not exist' },
  INVALID_ARGUMENT: { sCode: '51000', sMsg: 'Parameter sz error' },
  RATE_LIMIT: { sCode: '50011', sMsg: 'Rate limit reached. Please refer to API documentation and throttle requests accordingly.' },
};

const STATE: Record<SimOrder['state'], string> = {
  new: 'live',
  partially_filled: 'partially_filled',
  filled: 'filled',
  canceled: 'canceled',
  expired: 'canceled',
};

interface Op {
  id?: string;
  op: string;
  args?: Array<Record<string, string>>;
}

export class OkxPrivateSim extends PrivateVenueSim {
  readonly venue = 'okx' as const;
  readonly wsPath = '/ws/v5/private';
  private readonly secret: Buffer;
  private readonly loggedIn = new WeakSet<WebSocket>();
  private readonly subscribers = new Set<WebSocket>();
  private connSeq = 0;

  constructor(opts: PrivateSimOptions) {
    // OKX: 60 orders per 2 s per instrument (single-instrument approximation).
    super(opts, { limit: 60, windowMs: 2000 });
    this.secret = Buffer.from(opts.credentials.apiSecret, 'utf8');
  }

  private sign(text: string): Buffer {
    return createHmac('sha256', this.secret).update(text).digest();
  }

  private signOk(got: string, text: string): boolean {
    const a = Buffer.from(got, 'base64');
    const b = this.sign(text);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  // ---- REST ------------------------------------------------------------------------------------
  protected onRest(req: IncomingMessage, body: string, res: ServerResponse): boolean {
    const url = req.url ?? '';
    if (!url.startsWith('/api/v5/')) return false;
    const ts = String(req.headers['ok-access-timestamp'] ?? '');
    if (
      req.headers['ok-access-key'] !== this.creds.apiKey ||
      req.headers['ok-access-passphrase'] !== this.creds.passphrase ||
      !this.signOk(String(req.headers['ok-access-sign'] ?? ''), ts + (req.method ?? 'GET') + url + body)
    ) {
      json(res, 401, { code: '50113', msg: 'Invalid Sign', data: [] });
      return true;
    }
    const [path, query] = url.split('?');
    const q = new URLSearchParams(query ?? '');
    switch (path) {
      case '/api/v5/trade/orders-pending':
        json(res, 200, { code: '0', msg: '', data: this.engine.openOrders(ACCOUNT).map((o) => this.orderJson(o)) });
        return true;
      case '/api/v5/trade/order': {
        if (!q.get('instId')) {
          json(res, 200, { code: '51000', msg: 'Parameter instId error', data: [] });
          return true;
        }
        const o = this.engine.findByClientId(ACCOUNT, q.get('clOrdId') ?? '');
        if (!o) json(res, 200, { code: '51603', msg: 'Order does not exist', data: [] });
        else json(res, 200, { code: '0', msg: '', data: [this.orderJson(o)] });
        return true;
      }
      case '/api/v5/account/balance': {
        const details = Object.entries(this.engine.balances(ACCOUNT)).map(([ccy, w]) => ({
          ccy,
          availBal: String(w.free),
          frozenBal: String(w.locked),
          cashBal: String(w.free + w.locked),
          eq: String(w.free + w.locked),
        }));
        json(res, 200, { code: '0', msg: '', data: [{ uTime: String(this.nowMs()), details }] });
        return true;
      }
      default:
        json(res, 404, { code: '50000', msg: 'not found', data: [] });
        return true;
    }
  }

  // ---- WebSocket -------------------------------------------------------------------------------
  protected onConnection(ws: WebSocket): void {
    const connId = `c${++this.connSeq}`;
    ws.on('close', () => this.subscribers.delete(ws));
    ws.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      if (text === 'ping') return sendIfOpen(ws, 'pong');
      let op: Op;
      try {
        op = JSON.parse(text) as Op;
      } catch {
        sendIfOpen(ws, JSON.stringify({ event: 'error', code: '60012', msg: `Invalid request: ${text.slice(0, 64)}`, connId }));
        return;
      }
      this.handle(ws, op, connId);
    });
  }

  private handle(ws: WebSocket, op: Op, connId: string): void {
    const inTime = String(this.nowMs() * 1000);
    const arg = op.args?.[0] ?? {};
    if (op.op === 'login') {
      const ts = Number(arg.timestamp);
      const fresh = Math.abs(this.nowMs() / 1000 - ts) <= 30;
      if (
        arg.apiKey !== this.creds.apiKey ||
        arg.passphrase !== this.creds.passphrase ||
        !fresh ||
        !this.signOk(String(arg.sign ?? ''), `${arg.timestamp}GET/users/self/verify`)
      ) {
        sendIfOpen(ws, JSON.stringify({ event: 'error', code: '60009', msg: 'Login failed.', connId }));
        return;
      }
      this.loggedIn.add(ws);
      sendIfOpen(ws, JSON.stringify({ event: 'login', code: '0', msg: '', connId }));
      return;
    }
    if (!this.loggedIn.has(ws)) {
      if (op.op === 'subscribe') sendIfOpen(ws, JSON.stringify({ event: 'error', code: '60011', msg: 'Please log in', connId }));
      else this.reply(ws, { id: op.id, op: op.op, code: '60011', msg: 'Please log in', data: [], inTime, outTime: inTime });
      return;
    }
    if (op.op === 'subscribe') {
      this.subscribers.add(ws);
      sendIfOpen(ws, JSON.stringify({ event: 'subscribe', arg: { channel: 'orders', instType: arg.instType ?? 'ANY' }, connId }));
      return;
    }
    const respond = (item: Record<string, string>): void => {
      const ok = item.sCode === '0';
      this.reply(ws, {
        id: op.id,
        op: op.op,
        data: [item],
        code: ok ? '0' : '1',
        msg: ok ? '' : 'All operations failed',
        inTime,
        outTime: String(this.nowMs() * 1000),
      });
    };
    const refuse = (code: EngineRejectCode | 'RATE_LIMIT', clOrdId: string): void =>
      respond({ clOrdId, ordId: '', tag: '', ts: String(this.nowMs()), ...OKX_ERRORS[code] });
    const ref = arg.ordId ? { orderId: arg.ordId } : { clientId: arg.clOrdId ?? '' };
    switch (op.op) {
      case 'order': {
        const clientId = arg.clOrdId ?? '';
        this.record('place', clientId);
        const pre = this.admit();
        if (pre) return refuse(pre, clientId);
        const ordType = arg.ordType ?? 'limit';
        const tif: Tif = ordType === 'ioc' ? 'IOC' : ordType === 'fok' ? 'FOK' : 'GTC';
        const r = this.run(() =>
          this.engine.submit(ACCOUNT, {
            clientId,
            symbol: arg.instId ?? '',
            side: arg.side === 'sell' ? 'sell' : 'buy',
            type: ordType === 'market' ? 'market' : 'limit',
            tif,
            qty: Number(arg.sz),
            price: Number(arg.px ?? 0),
          }),
        );
        if (!r.ok) return refuse(r.code, clientId);
        return respond({ clOrdId: clientId, ordId: r.value.orderId, tag: '', ts: String(this.nowMs()), sCode: '0', sMsg: 'Order placed' });
      }
      case 'cancel-order': {
        this.record('cancel', arg.clOrdId ?? '');
        const r = this.run(() => this.engine.cancel(ACCOUNT, ref));
        if (!r.ok) return refuse(r.code === 'UNKNOWN_ORDER' ? 'UNKNOWN_ORDER' : r.code, arg.clOrdId ?? '');
        return respond({ clOrdId: r.value.clientId, ordId: r.value.orderId, ts: String(this.nowMs()), sCode: '0', sMsg: '' });
      }
      case 'amend-order': {
        this.record('replace', arg.clOrdId ?? '');
        const pre = this.admit();
        if (pre) return refuse(pre, arg.clOrdId ?? '');
        const r = this.run(() => this.engine.amend(ACCOUNT, ref, Number(arg.newSz ?? 0), Number(arg.newPx ?? 0)));
        if (!r.ok) return refuse(r.code, arg.clOrdId ?? '');
        return respond({
          clOrdId: r.value.clientId,
          ordId: r.value.orderId,
          reqId: arg.reqId ?? '',
          ts: String(this.nowMs()),
          sCode: '0',
          sMsg: '',
        });
      }
      default:
        this.reply(ws, {
          id: op.id,
          op: op.op,
          code: '60012',
          msg: `Invalid request: unknown op ${op.op}`,
          data: [],
          inTime,
          outTime: inTime,
        });
    }
  }

  private orderJson(
    o: Readonly<SimOrder>,
    fill?: { qty: number; price: number; fee: number; liquidity: string; tradeId: number },
    amended = false,
  ): Record<string, string> {
    const r = this.engine.symbolRules(o.symbol);
    const ordType = o.type === 'market' ? 'market' : o.tif === 'IOC' ? 'ioc' : o.tif === 'FOK' ? 'fok' : 'limit';
    return {
      instType: 'SPOT',
      instId: o.symbol,
      ordId: o.orderId,
      clOrdId: o.clientId,
      px: o.type === 'market' ? '' : String(o.price),
      sz: String(o.qty),
      ordType,
      side: o.side,
      tdMode: 'cash',
      state: STATE[o.state],
      accFillSz: String(o.filled),
      avgPx: o.filled > 0 ? String(o.cost / o.filled) : '0',
      fillSz: fill ? String(fill.qty) : '0',
      fillPx: fill ? String(fill.price) : '',
      tradeId: fill ? String(fill.tradeId) : '',
      execType: fill ? (fill.liquidity === 'maker' ? 'M' : 'T') : '',
      // OKX reports fees as negative numbers (a charge).
      fee: String(-o.fee),
      feeCcy: r?.quote ?? '',
      fillFee: fill ? String(-fill.fee) : '0',
      amendResult: amended ? '0' : '',
      cTime: String(o.createdMs),
      uTime: String(o.updatedMs),
      code: '0',
      msg: '',
    };
  }

  protected onExec(ev: ExecEvent): void {
    if (this.subscribers.size === 0) return;
    const data = [this.orderJson(ev.order, ev.kind === 'fill' ? ev.fill : undefined, ev.kind === 'amended')];
    const text = JSON.stringify({ arg: { channel: 'orders', instType: 'SPOT', uid: '44705892343619584' }, data });
    for (const ws of this.subscribers) sendIfOpen(ws, text);
  }
}
