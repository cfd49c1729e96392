/**
 * Deterministic matching engine for the simulated venues. It matches our orders against a replayed
 * book (it does not make a market itself): the replay feeds `onBook` (depth snapshot) and `onTrade`
 * (prints), and our orders fill against that liquidity.
 *
 * Modes:
 * - paper: marketable orders fill completely at the touch; resting orders fill completely at their
 *   limit once the opposite touch reaches it. Optimistic by design (upper bound of fills).
 * - realistic: marketable orders walk the displayed depth (impact), consuming liquidity until the
 *   next book update; resting orders join the back of the queue at their price (queue ahead = the
 *   displayed size there), advance when prints at that price or cancellations shrink the level,
 *   and fill only with the print volume beyond the queue, or fully when the book trades through.
 *
 * Everything is synchronous and clock-injected so that a replay produces the same fills every run.
 */
import type { Clock } from '../../clock/clock.js';
import { KestrelError } from '../../contracts/errors.js';

export type Side = 'buy' | 'sell';
export type OrdType = 'limit' | 'market';
export type Tif = 'GTC' | 'IOC' | 'FOK';
export type EngineMode = 'paper' | 'realistic';
export type OrderState = 'new' | 'partially_filled' | 'filled' | 'canceled' | 'expired';
/** [price, size] */
export type Level = readonly [number, number];

export interface SymbolRules {
  /** Canonical symbol, e.g. BTC-USDT. */
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  readonly tickSize: number;
  readonly lotStep: number;
  readonly minQty: number;
  readonly maxQty: number;
  /** Max deviation of a limit price from mid, basis points (500 = 5 %). 0 disables. */
  readonly priceBandBps: number;
  readonly makerFee: number;
  readonly takerFee: number;
}

/** Why the engine refused a request; each venue protocol maps these to its native error codes. */
export type EngineRejectCode =
  | 'UNKNOWN_SYMBOL'
  | 'MIN_SIZE'
  | 'MAX_SIZE'
  | 'PRICE_PRECISION'
  | 'SIZE_PRECISION'
  | 'INSUFFICIENT_BALANCE'
  | 'PRICE_BAND'
  | 'DUPLICATE_CLIENT_ID'
  | 'UNKNOWN_ORDER'
  | 'NO_LIQUIDITY'
  | 'INVALID_ARGUMENT';

export class EngineReject extends KestrelError {
  override readonly name = 'EngineReject';
  constructor(
    override readonly code: EngineRejectCode,
    message: string,
  ) {
    super(code, message);
  }
}

export interface NewOrder {
  readonly clientId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrdType;
  readonly tif: Tif;
  readonly qty: number;
  /** Limit price; ignored for market orders. */
  readonly price: number;
}

export interface SimOrder {
  readonly orderId: string;
  readonly account: string;
  readonly clientId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrdType;
  readonly tif: Tif;
  qty: number;
  price: number;
  filled: number;
  /** Sum of price*qty of fills, for the average price. */
  cost: number;
  fee: number;
  state: OrderState;
  /** Realistic mode: displayed size ahead of us at our price. */
  queueAhead: number;
  readonly createdMs: number;
  updatedMs: number;
  /** Quote (buy) or base (sell) still locked for the unfilled part. */
  locked: number;
}

export interface Fill {
  readonly qty: number;
  readonly price: number;
  readonly fee: number;
  readonly liquidity: 'maker' | 'taker';
  readonly tradeId: number;
}

export type ExecEvent =
  | { readonly kind: 'new'; readonly order: Readonly<SimOrder> }
  | { readonly kind: 'fill'; readonly order: Readonly<SimOrder>; readonly fill: Fill }
  | { readonly kind: 'canceled'; readonly order: Readonly<SimOrder> }
  | { readonly kind: 'expired'; readonly order: Readonly<SimOrder> }
  | { readonly kind: 'amended'; readonly order: Readonly<SimOrder> };

export interface EngineOptions {
  readonly mode: EngineMode;
  readonly symbols: readonly SymbolRules[];
  /** Starting balances per account, per asset. */
  readonly balances?: Record<string, Record<string, number>>;
  /** Order timestamps (venues report them in ms): virtual in a backtest, the venue's own clock in a simulator. */
  readonly clock: Clock;
  /** Prefix of generated venue order ids. */
  readonly orderIdPrefix?: string;
}

interface Book {
  bids: Array<[number, number]>;
  asks: Array<[number, number]>;
}

const EPS = 1e-9;

const NONE_RESTING: readonly SimOrder[] = [];

/** dst := a copy of src, reusing dst's level arrays. */
function copyLevels(dst: Array<[number, number]>, src: readonly Level[]): void {
  for (let i = 0; i < src.length; i++) {
    const l = src[i]!;
    const d = dst[i];
    if (d === undefined) dst[i] = [l[0], l[1]];
    else {
      d[0] = l[0];
      d[1] = l[1];
    }
  }
  dst.length = src.length;
}

/** True when `value` is an integer multiple of `step` up to float noise. */
export function onGrid(value: number, step: number): boolean {
  if (step <= 0) return true;
  const n = value / step;
  return Math.abs(n - Math.round(n)) < 1e-6;
}

function round9(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

export class MatchingEngine {
  readonly mode: EngineMode;
  private readonly rules = new Map<string, SymbolRules>();
  private readonly books = new Map<string, Book>();
  private readonly orders = new Map<string, SimOrder>();
  /** account -> clientId -> orderId, for live (open) orders only: client ids are unique among open orders. */
  private readonly openByClient = new Map<string, Map<string, string>>();
  /** account -> asset -> { free, locked } */
  private readonly wallets = new Map<string, Map<string, { free: number; locked: number }>>();
  private readonly listeners: Array<(ev: ExecEvent) => void> = [];
  private readonly clock: Clock;
  private readonly prefix: string;
  private seq = 0;
  private tradeSeq = 0;

  private nowMs(): number {
    return Number(this.clock.nowNs() / 1_000_000n);
  }

  constructor(opts: EngineOptions) {
    this.mode = opts.mode;
    this.clock = opts.clock;
    this.prefix = opts.orderIdPrefix ?? 'SIM';
    for (const r of opts.symbols) this.rules.set(r.symbol, r);
    for (const [account, assets] of Object.entries(opts.balances ?? {})) {
      for (const [asset, amount] of Object.entries(assets)) this.deposit(account, asset, amount);
    }
  }

  onEvent(cb: (ev: ExecEvent) => void): () => void {
    this.listeners.push(cb);
    return () => {
      const i = this.listeners.indexOf(cb);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  symbolRules(symbol: string): SymbolRules | undefined {
    return this.rules.get(symbol);
  }

  deposit(account: string, asset: string, amount: number): void {
    const w = this.wallet(account, asset);
    w.free = round9(w.free + amount);
  }

  balances(account: string): Record<string, { free: number; locked: number }> {
    const out: Record<string, { free: number; locked: number }> = {};
    for (const [asset, w] of this.wallets.get(account) ?? []) out[asset] = { free: w.free, locked: w.locked };
    return out;
  }

  /** Net position per base asset (free + locked), i.e. what the account holds. */
  positions(account: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [asset, w] of this.wallets.get(account) ?? []) out[asset] = round9(w.free + w.locked);
    return out;
  }

  bestBid(symbol: string): number | undefined {
    return this.books.get(symbol)?.bids[0]?.[0];
  }

  bestAsk(symbol: string): number | undefined {
    return this.books.get(symbol)?.asks[0]?.[0];
  }

  getOrder(orderId: string): Readonly<SimOrder> | undefined {
    return this.orders.get(orderId);
  }

  findOpenByClientId(account: string, clientId: string): Readonly<SimOrder> | undefined {
    const id = this.openByClient.get(account)?.get(clientId);
    return id === undefined ? undefined : this.orders.get(id);
  }

  /** Latest order (open or closed) carrying this client id. */
  findByClientId(account: string, clientId: string): Readonly<SimOrder> | undefined {
    const open = this.findOpenByClientId(account, clientId);
    if (open) return open;
    let last: SimOrder | undefined;
    for (const o of this.orders.values()) if (o.account === account && o.clientId === clientId) last = o;
    return last;
  }

  openOrders(account: string): Array<Readonly<SimOrder>> {
    const out: SimOrder[] = [];
    for (const id of this.openByClient.get(account)?.values() ?? []) {
      const o = this.orders.get(id);
      if (o) out.push(o);
    }
    return out;
  }

  /**
   * Replace the book of `symbol` with a depth snapshot (best first on both sides), then let resting
   * orders react: queue positions shrink with the level, crossed orders fill.
   */
  onBook(symbol: string, bids: readonly Level[], asks: readonly Level[]): void {
    // The engine's own copy (realistic takes consume it until the next update), rewritten in place:
    // one book per symbol for the run instead of five arrays per market data event.
    let book = this.books.get(symbol);
    if (book === undefined) this.books.set(symbol, (book = { bids: [], asks: [] }));
    copyLevels(book.bids, bids);
    copyLevels(book.asks, asks);
    for (const o of this.restingOf(symbol)) {
      if (o.state !== 'new' && o.state !== 'partially_filled') continue;
      if (this.mode === 'realistic') {
        const level = (o.side === 'buy' ? book.bids : book.asks).find((l) => Math.abs(l[0] - o.price) < EPS);
        // Cancellations ahead of us shrink the displayed level; we can only move forward.
        o.queueAhead = Math.min(o.queueAhead, level ? level[1] : 0);
      }
      const touch = o.side === 'buy' ? book.asks[0] : book.bids[0];
      if (!touch) continue;
      const crossed = o.side === 'buy' ? touch[0] <= o.price - EPS : touch[0] >= o.price + EPS;
      const atTouch = Math.abs(touch[0] - o.price) < EPS;
      // Paper: touching is enough. Realistic: the book must trade through our price.
      if (this.mode === 'paper' ? crossed || atTouch : crossed) this.fillResting(o, o.qty - o.filled);
    }
  }

  /**
   * A print on the replayed tape. `aggressor` is the taker side. In realistic mode it advances the
   * queue of resting orders on the passive side at that price and fills what is left of the print.
   */
  onTrade(symbol: string, price: number, qty: number, aggressor: Side): void {
    for (const o of this.restingOf(symbol)) {
      if (o.state !== 'new' && o.state !== 'partially_filled') continue;
      if (o.side === aggressor) continue;
      const reaches = o.side === 'buy' ? price <= o.price + EPS : price >= o.price - EPS;
      if (!reaches) continue;
      if (this.mode === 'paper') {
        this.fillResting(o, o.qty - o.filled);
        continue;
      }
      const through = o.side === 'buy' ? price < o.price - EPS : price > o.price + EPS;
      if (through) {
        this.fillResting(o, o.qty - o.filled);
        continue;
      }
      const beyondQueue = qty - o.queueAhead;
      o.queueAhead = Math.max(0, o.queueAhead - qty);
      if (beyondQueue > EPS) this.fillResting(o, Math.min(beyondQueue, o.qty - o.filled));
    }
  }

  /** Static checks of a new order (symbol, size, precision, band, duplicate id); throws EngineReject. */
  validate(account: string, req: NewOrder, allowOpenClientId = false): SymbolRules {
    const r = this.rules.get(req.symbol);
    if (!r) throw new EngineReject('UNKNOWN_SYMBOL', `unknown symbol ${req.symbol}`);
    if (!(req.qty > 0) || !Number.isFinite(req.qty)) throw new EngineReject('INVALID_ARGUMENT', 'quantity must be > 0');
    if (req.type === 'limit' && (!(req.price > 0) || !Number.isFinite(req.price)))
      throw new EngineReject('INVALID_ARGUMENT', 'limit price must be > 0');
    if (!allowOpenClientId && this.openByClient.get(account)?.has(req.clientId))
      throw new EngineReject('DUPLICATE_CLIENT_ID', `client id ${req.clientId} already used by an open order`);
    if (req.qty < r.minQty - EPS) throw new EngineReject('MIN_SIZE', `quantity ${req.qty} below minimum ${r.minQty}`);
    if (r.maxQty > 0 && req.qty > r.maxQty + EPS) throw new EngineReject('MAX_SIZE', `quantity ${req.qty} above maximum ${r.maxQty}`);
    if (!onGrid(req.qty, r.lotStep)) throw new EngineReject('SIZE_PRECISION', `quantity ${req.qty} not a multiple of ${r.lotStep}`);
    const book = this.books.get(req.symbol);
    if (req.type === 'limit') {
      if (!onGrid(req.price, r.tickSize)) throw new EngineReject('PRICE_PRECISION', `price ${req.price} not a multiple of ${r.tickSize}`);
      const bid = book?.bids[0]?.[0];
      const ask = book?.asks[0]?.[0];
      if (r.priceBandBps > 0 && bid !== undefined && ask !== undefined) {
        const mid = (bid + ask) / 2;
        if (Math.abs(req.price - mid) > (mid * r.priceBandBps) / 1e4)
          throw new EngineReject('PRICE_BAND', `price ${req.price} outside ${r.priceBandBps} bps band around ${mid}`);
      }
    }
    return r;
  }

  /** Validate, lock funds, match, rest or expire. Throws EngineReject on refusal (nothing changed). */
  submit(account: string, req: NewOrder): Readonly<SimOrder> {
    const r = this.validate(account, req);
    const book = this.books.get(req.symbol);
    const opposite = req.side === 'buy' ? book?.asks : book?.bids;
    if (req.type === 'market' && (!opposite || opposite.length === 0))
      throw new EngineReject('NO_LIQUIDITY', `no ${req.side === 'buy' ? 'asks' : 'bids'} for ${req.symbol}`);

    // Funds: a buy locks quote at its limit (market: worst visible price, plus taker fee); a sell locks base.
    let lockAsset: string;
    let lockAmount: number;
    if (req.side === 'buy') {
      const worst = req.type === 'limit' ? req.price : (opposite![opposite!.length - 1]?.[0] ?? 0);
      lockAsset = r.quote;
      lockAmount = round9(req.qty * worst * (1 + r.takerFee));
    } else {
      lockAsset = r.base;
      lockAmount = req.qty;
    }
    const w = this.wallet(account, lockAsset);
    if (w.free + EPS < lockAmount) throw new EngineReject('INSUFFICIENT_BALANCE', `need ${lockAmount} ${lockAsset}, free ${w.free}`);
    w.free = round9(w.free - lockAmount);
    w.locked = round9(w.locked + lockAmount);

    const now = this.nowMs();
    const o: SimOrder = {
      orderId: `${this.prefix}${++this.seq}`,
      account,
      clientId: req.clientId,
      symbol: req.symbol,
      side: req.side,
      type: req.type,
      tif: req.tif,
      qty: req.qty,
      price: req.type === 'limit' ? req.price : 0,
      filled: 0,
      cost: 0,
      fee: 0,
      state: 'new',
      queueAhead: 0,
      createdMs: now,
      updatedMs: now,
      locked: lockAmount,
    };
    this.orders.set(o.orderId, o);
    this.clientMap(account).set(o.clientId, o.orderId);
    this.emit({ kind: 'new', order: o });

    const available = this.takeable(o);
    if (o.tif === 'FOK' && available + EPS < o.qty) {
      this.close(o, 'expired');
      return o;
    }
    if (available > EPS) this.take(o);
    if (o.state === 'filled') return o;
    if (o.type === 'market' || o.tif !== 'GTC') {
      this.close(o, 'expired');
      return o;
    }
    // Rest: queue behind what is displayed at our price.
    if (this.mode === 'realistic') {
      const level = (o.side === 'buy' ? book?.bids : book?.asks)?.find((l) => Math.abs(l[0] - o.price) < EPS);
      o.queueAhead = level ? level[1] : 0;
    }
    return o;
  }

  cancel(account: string, ref: { clientId?: string; orderId?: string }): Readonly<SimOrder> {
    const o = this.resolveOpen(account, ref);
    this.close(o, 'canceled');
    return o;
  }

  /**
   * Amend in place (Kraken amend_order / OKX amend-order): `newQty` is the new total quantity
   * including what is already filled. A price change or size increase loses queue priority.
   */
  amend(account: string, ref: { clientId?: string; orderId?: string }, newQty: number, newPrice: number): Readonly<SimOrder> {
    const o = this.resolveOpen(account, ref);
    const r = this.rules.get(o.symbol)!;
    const qty = newQty > 0 ? newQty : o.qty;
    const price = newPrice > 0 ? newPrice : o.price;
    if (qty <= o.filled + EPS) throw new EngineReject('INVALID_ARGUMENT', `new quantity ${qty} not above filled ${o.filled}`);
    if (!onGrid(qty, r.lotStep)) throw new EngineReject('SIZE_PRECISION', `quantity ${qty} not a multiple of ${r.lotStep}`);
    if (o.type === 'limit' && !onGrid(price, r.tickSize))
      throw new EngineReject('PRICE_PRECISION', `price ${price} not a multiple of ${r.tickSize}`);
    if (r.maxQty > 0 && qty > r.maxQty + EPS) throw new EngineReject('MAX_SIZE', `quantity ${qty} above maximum ${r.maxQty}`);
    const remaining = qty - o.filled;
    const need = o.side === 'buy' ? round9(remaining * price * (1 + r.takerFee)) : remaining;
    const w = this.wallet(account, o.side === 'buy' ? r.quote : r.base);
    if (w.free + o.locked + EPS < need) throw new EngineReject('INSUFFICIENT_BALANCE', `amend needs ${need}`);
    w.free = round9(w.free + o.locked - need);
    w.locked = round9(w.locked - o.locked + need);
    o.locked = need;
    const losesPriority = Math.abs(price - o.price) > EPS || qty > o.qty + EPS;
    o.qty = qty;
    o.price = price;
    o.updatedMs = this.nowMs();
    if (losesPriority && this.mode === 'realistic') {
      const book = this.books.get(o.symbol);
      const level = (o.side === 'buy' ? book?.bids : book?.asks)?.find((l) => Math.abs(l[0] - o.price) < EPS);
      o.queueAhead = level ? level[1] : 0;
    }
    this.emit({ kind: 'amended', order: o });
    if (this.takeable(o) > EPS) this.take(o);
    return o;
  }

  // ---- internals -------------------------------------------------------------------------------

  private wallet(account: string, asset: string): { free: number; locked: number } {
    let acc = this.wallets.get(account);
    if (!acc) this.wallets.set(account, (acc = new Map()));
    let w = acc.get(asset);
    if (!w) acc.set(asset, (w = { free: 0, locked: 0 }));
    return w;
  }

  private clientMap(account: string): Map<string, string> {
    let m = this.openByClient.get(account);
    if (!m) this.openByClient.set(account, (m = new Map()));
    return m;
  }

  private resolveOpen(account: string, ref: { clientId?: string; orderId?: string }): SimOrder {
    let o: SimOrder | undefined;
    if (ref.orderId) o = this.orders.get(ref.orderId);
    else if (ref.clientId) {
      const id = this.openByClient.get(account)?.get(ref.clientId);
      o = id === undefined ? undefined : this.orders.get(id);
    }
    if (!o || o.account !== account || (o.state !== 'new' && o.state !== 'partially_filled'))
      throw new EngineReject('UNKNOWN_ORDER', `no open order ${ref.orderId ?? ref.clientId ?? '?'}`);
    return o;
  }

  /**
   * The symbol's open orders in time priority, as a snapshot: fills close orders and mutate the maps
   * while the caller iterates, so the caller skips those no longer open when it reaches them. Called
   * on every market data event: with nothing resting (the common case) it allocates nothing.
   */
  private restingOf(symbol: string): readonly SimOrder[] {
    let list: SimOrder[] | undefined;
    for (const m of this.openByClient.values()) {
      if (m.size === 0) continue;
      for (const id of m.values()) {
        const o = this.orders.get(id);
        if (o && o.symbol === symbol) (list ??= []).push(o);
      }
    }
    if (list === undefined) return NONE_RESTING;
    list.sort((a, b) => a.createdMs - b.createdMs || (a.orderId < b.orderId ? -1 : 1));
    return list;
  }

  private crosses(o: SimOrder, levelPrice: number): boolean {
    if (o.type === 'market') return true;
    return o.side === 'buy' ? levelPrice <= o.price + EPS : levelPrice >= o.price - EPS;
  }

  /** Quantity an incoming order could take right now. */
  private takeable(o: SimOrder): number {
    const levels = (o.side === 'buy' ? this.books.get(o.symbol)?.asks : this.books.get(o.symbol)?.bids) ?? [];
    const first = levels[0];
    if (!first || !this.crosses(o, first[0])) return 0;
    const remaining = o.qty - o.filled;
    if (this.mode === 'paper') return remaining;
    let sum = 0;
    for (const l of levels) {
      if (!this.crosses(o, l[0])) break;
      sum += l[1];
      if (sum >= remaining) break;
    }
    return Math.min(sum, remaining);
  }

  /** Aggressive execution: paper at the touch, realistic walking the depth and consuming it. */
  private take(o: SimOrder): void {
    const book = this.books.get(o.symbol);
    const levels = (o.side === 'buy' ? book?.asks : book?.bids) ?? [];
    if (this.mode === 'paper') {
      const touch = levels[0];
      if (touch && this.crosses(o, touch[0])) this.applyFill(o, o.qty - o.filled, touch[0], 'taker');
      return;
    }
    while (o.qty - o.filled > EPS && levels.length > 0) {
      const l = levels[0]!;
      if (!this.crosses(o, l[0])) break;
      const q = Math.min(l[1], o.qty - o.filled);
      l[1] = round9(l[1] - q);
      if (l[1] <= EPS) levels.shift();
      this.applyFill(o, q, l[0], 'taker');
    }
  }

  private fillResting(o: SimOrder, qty: number): void {
    if (qty > EPS) this.applyFill(o, qty, o.price, 'maker');
  }

  private applyFill(o: SimOrder, qtyIn: number, price: number, liquidity: 'maker' | 'taker'): void {
    const r = this.rules.get(o.symbol)!;
    const qty = round9(qtyIn);
    if (qty <= 0) return;
    const notional = qty * price;
    const fee = round9(notional * (liquidity === 'maker' ? r.makerFee : r.takerFee));
    const base = this.wallet(o.account, r.base);
    const quote = this.wallet(o.account, r.quote);
    if (o.side === 'buy') {
      // Release the lock share of this quantity, pay notional + fee, receive base.
      const release = Math.min(o.locked, round9((o.locked * qty) / (o.qty - o.filled)));
      o.locked = round9(o.locked - release);
      quote.locked = round9(quote.locked - release);
      quote.free = round9(quote.free + release - notional - fee);
      base.free = round9(base.free + qty);
    } else {
      o.locked = round9(o.locked - qty);
      base.locked = round9(base.locked - qty);
      quote.free = round9(quote.free + notional - fee);
    }
    o.filled = round9(o.filled + qty);
    o.cost += notional;
    o.fee = round9(o.fee + fee);
    o.updatedMs = this.nowMs();
    const done = o.filled >= o.qty - EPS;
    o.state = done ? 'filled' : 'partially_filled';
    if (done) this.release(o);
    this.emit({ kind: 'fill', order: o, fill: { qty, price, fee, liquidity, tradeId: ++this.tradeSeq } });
  }

  private close(o: SimOrder, state: 'canceled' | 'expired'): void {
    o.state = state;
    o.updatedMs = this.nowMs();
    this.release(o);
    this.emit({ kind: state, order: o });
  }

  /** Unlock what the order still holds and drop it from the open index. */
  private release(o: SimOrder): void {
    const r = this.rules.get(o.symbol)!;
    if (o.locked > 0) {
      const w = this.wallet(o.account, o.side === 'buy' ? r.quote : r.base);
      w.locked = round9(w.locked - o.locked);
      w.free = round9(w.free + o.locked);
      o.locked = 0;
    }
    const m = this.openByClient.get(o.account);
    if (m?.get(o.clientId) === o.orderId) m.delete(o.clientId);
  }

  private emit(ev: ExecEvent): void {
    for (const cb of this.listeners) cb(ev);
  }
}
