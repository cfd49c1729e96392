/**
 * Binance spot public market data over combined streams: diff depth (`@depth@100ms`) kept in sync
 * with the REST snapshot handshake and U/u continuity, `@bookTicker` (the real-time touch) and
 * `@trade`. Procedure (REFERENCE_VALUES.md): buffer stream events, fetch the REST snapshot, drop
 * events with u ≤ lastUpdateId, the first applied event must have U ≤ lastUpdateId+1 ≤ u, and every
 * later one U = previous u + 1. Any break (gap, crossed book) unsyncs the symbol and repeats the
 * handshake; no book-derived tick leaves while unsynced.
 *
 * Quotes from bookTicker and from the book share Binance's update-id space, so a quote is delivered
 * only when its update id is newer than the last one delivered: the touch never goes back in time.
 */
import { monotonicMs } from '../../clock/monotonic.js';
import { TickFlag } from '../../contracts/market.js';
import { BaseAdapter, num, positiveNum, tradeId } from '../common/base-adapter.js';
import { OrderBook } from '../common/book.js';
import { ResyncScheduler } from '../common/resync.js';
import {
  isBookTickerStream,
  newDepthScan,
  scanBookTicker,
  scanDepthAfterName,
  streamNameEnd,
  type BookTickerScan,
  type DepthScan,
} from './depth-scan.js';
import { VenueParseError, type AdapterOptions, type SymbolMapping } from '../common/adapter-types.js';

export interface BinanceAdapterOptions extends AdapterOptions {
  /** REST base URL for `GET /api/v3/depth` (the simulator's `restUrl`). */
  restUrl: string;
  /** REST snapshot depth (Binance allows up to 5000; 1000 costs weight 50). Default 1000. */
  snapshotLimit?: number;
  /** Deliver bookTicker quotes (default true). */
  bookTicker?: boolean;
}

/**
 * One validated diff event: nb bid then na ask levels, their numbers in `nums` and their strings as
 * sent in `strs` (px, qty pairs in both). The synced hot path reads frames into one reused event
 * (see `onMessage`); only events buffered while unsynced get their own copy.
 */
interface Depth {
  U: number;
  u: number;
  E: number;
  nb: number;
  na: number;
  nums: Float64Array;
  /** Set: the strings themselves (general path, buffered copies); undefined: ranges of `text` in `pos`. */
  strs: string[] | undefined;
  text: string;
  pos: Int32Array;
}

/** Snapshot levels (REST answer; cold path). */
type SnapLevel = [number, number, string, string];

interface SymState {
  m: SymbolMapping;
  lower: string;
  book: OrderBook;
  synced: boolean;
  /** Depth events buffered while the snapshot is in flight. */
  buffer: Depth[];
  fetching: boolean;
  /** Wall ms when the current handshake began (0: none). */
  requestedAtMs: number;
  lastU: number;
  firstAfterSnapshot: boolean;
  /** Highest update id already delivered as a quote. */
  lastQuoteId: number;
  lastExchNs: bigint;
  flagsNext: number;
  lastBid: number;
  lastAsk: number;
  lastBidSz: number;
  lastAskSz: number;
  applied: number;
}

const MAX_BUFFER = 10_000;

export class BinanceAdapter extends BaseAdapter {
  private readonly syms = new Map<string, SymState>();
  /** The same entries as an array (the fast path's symbol match allocates no iterator). */
  private readonly symList: Array<[string, SymState]>;
  private readonly resync: ResyncScheduler;
  private readonly restUrl: string;
  private readonly limit: number;
  private readonly useBookTicker: boolean;
  /** Bumped on every (re)connect so late REST answers for an old connection are ignored. */
  private epoch = 0;
  private retryAfterUntilMs = 0;

  constructor(opts: BinanceAdapterOptions) {
    // Binance: 300 connection attempts per 5 minutes per IP; keep well inside it.
    super('binance', opts, { reconnect: { maxAttemptsPerWindow: 60, windowMs: 300_000 }, keepaliveMs: 30_000 });
    this.restUrl = opts.restUrl.replace(/\/$/, '');
    this.limit = opts.snapshotLimit ?? 1000;
    this.useBookTicker = opts.bookTicker ?? true;
    for (const m of opts.symbols) {
      this.syms.set(m.venueSymbol.toUpperCase(), {
        m,
        lower: m.venueSymbol.toLowerCase(),
        book: new OrderBook(),
        synced: false,
        buffer: [],
        fetching: false,
        requestedAtMs: 0,
        lastU: 0,
        firstAfterSnapshot: false,
        lastQuoteId: 0,
        lastExchNs: 0n,
        flagsNext: 0,
        lastBid: 0,
        lastAsk: 0,
        lastBidSz: 0,
        lastAskSz: 0,
        applied: 0,
      });
    }
    this.symList = [...this.syms];
    this.resync = new ResyncScheduler(this.clock, (sym) => void this.fetchSnapshot(sym));
  }

  book(venueSymbol: string): OrderBook | undefined {
    return this.syms.get(venueSymbol.toUpperCase())?.book;
  }

  isSynced(venueSymbol: string): boolean {
    return this.syms.get(venueSymbol.toUpperCase())?.synced ?? false;
  }

  /** Diff events applied to the book so far (all passed the U/u checks). */
  appliedUpdates(venueSymbol: string): number {
    return this.syms.get(venueSymbol.toUpperCase())?.applied ?? 0;
  }

  lastUpdateId(venueSymbol: string): number {
    return this.syms.get(venueSymbol.toUpperCase())?.lastU ?? 0;
  }

  /**
   * Applies a REST depth snapshot obtained out of band, e.g. the snapshot line of a raw capture
   * replayed through `handleRaw`: buffered diffs are then checked and applied exactly as after a
   * fetched snapshot. A malformed body is counted and reported, and changes nothing.
   */
  ingestSnapshot(venueSymbol: string, body: string): void {
    const st = this.syms.get(venueSymbol.toUpperCase());
    if (!st) throw new RangeError(`unknown symbol ${venueSymbol}`);
    let snap: ReturnType<typeof parseSnapshot>;
    try {
      snap = parseSnapshot(body);
    } catch (e) {
      if (!(e instanceof VenueParseError)) throw e;
      this.s.parseErrors++;
      this.emitEvent('parse', st.m.symbol, e.reason);
      return;
    }
    this.applySnapshot(st, snap);
  }

  protected override connectUrl(): string {
    const streams: string[] = [];
    for (const st of this.syms.values()) {
      streams.push(`${st.lower}@depth@100ms`, `${st.lower}@trade`);
      if (this.useBookTicker) streams.push(`${st.lower}@bookTicker`);
    }
    return `${this.opts.url}?streams=${streams.join('/')}`;
  }

  protected onOpen(): void {
    this.epoch++;
    // Streams are in the URL; the stream is buffering from now, so the snapshot may be requested.
    for (const [sym, st] of this.syms) {
      st.requestedAtMs = this.nowMs();
      this.resync.request(sym);
    }
  }

  protected onDisconnect(): void {
    // Snapshot answers still in flight belong to the old connection: ignore them.
    this.epoch++;
    this.resync.cancelAll();
    for (const st of this.syms.values()) this.unsync(st, TickFlag.RESYNC);
  }

  protected override checkSync(nowMs: number): void {
    for (const [sym, st] of this.syms) {
      if (st.synced || st.fetching || st.requestedAtMs === 0 || this.resync.isPending(sym)) continue;
      if (nowMs - st.requestedAtMs > this.snapshotTimeoutMs) {
        st.requestedAtMs = nowMs;
        this.resync.request(sym);
      }
    }
  }

  private unsync(st: SymState, flags: number): void {
    st.synced = false;
    st.book.clear();
    st.buffer = [];
    st.firstAfterSnapshot = false;
    st.flagsNext |= flags;
  }

  private startResync(st: SymState, flags: number): void {
    this.unsync(st, flags);
    st.requestedAtMs = this.nowMs();
    this.resync.request(st.m.venueSymbol.toUpperCase());
  }

  private async fetchSnapshot(sym: string): Promise<void> {
    const st = this.syms.get(sym);
    if (!st || st.synced || st.fetching || !this.stats().connected) return;
    const wait = this.retryAfterUntilMs - this.nowMs();
    if (wait > 0) {
      // The venue asked us to back off (429 Retry-After): honour it rather than hammer REST.
      setTimeout(() => this.resync.request(sym), wait).unref();
      return;
    }
    const epoch = this.epoch;
    st.fetching = true;
    st.requestedAtMs = this.nowMs();
    this.s.resyncs++;
    this.emitEvent('resync', st.m.symbol, 'fetching REST depth snapshot');
    try {
      const t0 = monotonicMs();
      const res = await fetch(`${this.restUrl}/api/v3/depth?symbol=${encodeURIComponent(sym)}&limit=${this.limit}`, {
        signal: AbortSignal.timeout(5000),
      });
      const used = Number(res.headers.get('x-mbx-used-weight-1m'));
      if (Number.isFinite(used)) this.rateLimitRemaining = Math.max(0, 6000 - used);
      const text = await res.text();
      this.recordRest(monotonicMs() - t0, res.ok);
      if (epoch !== this.epoch) return;
      if (res.status === 429 || res.status === 418) {
        this.http429++;
        const ra = Number(res.headers.get('retry-after'));
        this.retryAfterUntilMs = this.nowMs() + (Number.isFinite(ra) && ra > 0 ? ra * 1000 : 1000);
        this.emitEvent('gap', st.m.symbol, `REST snapshot rate limited (${res.status})`);
        return;
      }
      if (!res.ok) throw new VenueParseError('binance', `REST depth HTTP ${res.status}`, text.slice(0, 200));
      this.applySnapshot(st, parseSnapshot(text));
    } catch (e) {
      if (e instanceof VenueParseError) {
        this.s.parseErrors++;
        this.emitEvent('parse', st.m.symbol, e.reason);
      } else {
        this.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'REST snapshot failed');
      }
      // Try again, paced by the resync backoff, rather than waiting for the snapshot watchdog.
      if (epoch === this.epoch && !st.synced) {
        st.fetching = false;
        st.requestedAtMs = this.nowMs();
        this.resync.request(sym);
      }
    } finally {
      st.fetching = false;
    }
  }

  private applySnapshot(st: SymState, snap: { lastUpdateId: number; bids: SnapLevel[]; asks: SnapLevel[] }): void {
    const lid = snap.lastUpdateId;
    const pending = st.buffer.filter((d) => d.u > lid);
    st.buffer = [];
    const first = pending[0];
    if (first !== undefined && first.U > lid + 1) {
      // The snapshot is older than the buffered stream: a newer snapshot is needed.
      this.emitEvent('gap', st.m.symbol, 'snapshot older than buffered events', BigInt(lid + 1), BigInt(first.U));
      this.startResync(st, 0);
      return;
    }
    st.book.clear();
    for (const [px, qty, ps, qs] of snap.bids) st.book.bids.set(px, qty, ps, qs);
    for (const [px, qty, ps, qs] of snap.asks) st.book.asks.set(px, qty, ps, qs);
    st.lastU = lid;
    st.synced = true;
    st.firstAfterSnapshot = true;
    st.requestedAtMs = 0;
    const recvNs = this.clock.nowNs();
    for (const d of pending) {
      if (!this.applyDepth(st, d, recvNs)) return;
    }
    if (pending.length === 0) this.maybeQuote(st, st.lastU, st.lastExchNs > 0n ? st.lastExchNs : recvNs, recvNs);
  }

  /** Applies one diff to a synced book; false when the book had to be resynced. */
  private applyDepth(st: SymState, d: Depth, recvNs: bigint): boolean {
    if (d.u <= st.lastU) {
      // Right after a snapshot, diffs it already contains may still be in flight: expected.
      if (st.firstAfterSnapshot) return true;
      // Once continuity holds the stream is ordered, so an old id is a duplicate or a replay: never
      // applied (the book is unchanged and consistent), but counted and reported, not swallowed.
      this.s.replays++;
      this.emitEvent(
        'duplicate',
        st.m.symbol,
        `depth U=${d.U} u=${d.u} already applied (last u=${st.lastU})`,
        BigInt(st.lastU + 1),
        BigInt(d.U),
      );
      return true;
    }
    const ok = st.firstAfterSnapshot ? d.U <= st.lastU + 1 && st.lastU + 1 <= d.u : d.U === st.lastU + 1;
    if (!ok) {
      this.s.gaps++;
      this.emitEvent('gap', st.m.symbol, `depth U=${d.U} does not follow u=${st.lastU}`, BigInt(st.lastU + 1), BigInt(d.U));
      this.startResync(st, TickFlag.GAP | TickFlag.RESYNC);
      return false;
    }
    const u = d.u;
    const E = d.E;
    const nums = d.nums;
    const strs = d.strs;
    const bids = st.book.bids;
    const asks = st.book.asks;
    const nb = d.nb;
    const end = 2 * (nb + d.na);
    if (strs !== undefined) {
      for (let i = 0; i < 2 * nb; i += 2) bids.set(nums[i]!, nums[i + 1]!, strs[i]!, strs[i + 1]!);
      for (let i = 2 * nb; i < end; i += 2) asks.set(nums[i]!, nums[i + 1]!, strs[i]!, strs[i + 1]!);
    } else {
      const t = d.text;
      const pos = d.pos;
      for (let i = 0; i < 2 * nb; i += 2)
        bids.setFromText(nums[i]!, nums[i + 1]!, t, pos[2 * i]!, pos[2 * i + 1]!, pos[2 * i + 2]!, pos[2 * i + 3]!);
      for (let i = 2 * nb; i < end; i += 2)
        asks.setFromText(nums[i]!, nums[i + 1]!, t, pos[2 * i]!, pos[2 * i + 1]!, pos[2 * i + 2]!, pos[2 * i + 3]!);
    }
    st.lastU = u;
    st.firstAfterSnapshot = false;
    st.applied++;
    if (st.applied % 100 === 0) this.resync.succeeded(st.m.venueSymbol.toUpperCase());
    const exchNs = BigInt(E) * 1_000_000n;
    st.lastExchNs = exchNs;
    return this.maybeQuote(st, u, exchNs, recvNs);
  }

  private maybeQuote(st: SymState, updateId: number, exchNs: bigint, recvNs: bigint): boolean {
    const b = st.book.bids.best();
    const a = st.book.asks.best();
    if (b !== undefined && a !== undefined && b.px >= a.px) {
      // A crossed book is corrupt whatever its ids say: report, drop and rebuild.
      this.emitQuote(st.m, exchNs, recvNs, b.px, b.qty, a.px, a.qty, 0);
      this.startResync(st, TickFlag.RESYNC);
      return false;
    }
    if (updateId <= st.lastQuoteId) return true; // bookTicker already delivered a newer touch
    const bid = b?.px ?? 0;
    const ask = a?.px ?? 0;
    const bidSz = b?.qty ?? 0;
    const askSz = a?.qty ?? 0;
    if (st.flagsNext === 0 && bid === st.lastBid && ask === st.lastAsk && bidSz === st.lastBidSz && askSz === st.lastAskSz) return true;
    this.quote(st, updateId, exchNs, recvNs, bid, bidSz, ask, askSz);
    return true;
  }

  private quote(
    st: SymState,
    updateId: number,
    exchNs: bigint,
    recvNs: bigint,
    bid: number,
    bidSz: number,
    ask: number,
    askSz: number,
  ): boolean {
    if (!this.emitQuote(st.m, exchNs, recvNs, bid, bidSz, ask, askSz, st.flagsNext)) return false;
    st.flagsNext = 0;
    st.lastQuoteId = updateId;
    st.lastBid = bid;
    st.lastAsk = ask;
    st.lastBidSz = bidSz;
    st.lastAskSz = askSz;
    return true;
  }

  protected onMessage(text: string, recvNs: bigint): void {
    if (this.fastPath(text, recvNs)) return;
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      throw new VenueParseError('binance', 'invalid JSON', text.slice(0, 200));
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg))
      throw new VenueParseError('binance', 'message is not an object', text.slice(0, 200));
    const o = msg as Record<string, unknown>;
    if ('result' in o && 'id' in o) return; // SUBSCRIBE ack
    if ('error' in o) throw new VenueParseError('binance', `venue error ${JSON.stringify(o.error)}`, text.slice(0, 200));
    const stream = o.stream;
    const data = o.data;
    if (typeof stream !== 'string' || typeof data !== 'object' || data === null)
      throw new VenueParseError('binance', 'not a combined-stream message', text.slice(0, 200));
    const d = data as Record<string, unknown>;
    const st = typeof d.s === 'string' ? this.syms.get(d.s) : undefined;
    if (typeof d.s !== 'string') throw new VenueParseError('binance', 'message without symbol', text.slice(0, 200));
    if (stream.endsWith('@bookTicker')) return this.onBookTicker(st, d, recvNs, text);
    if (d.e === 'depthUpdate') return this.onDepth(st, d, recvNs, text);
    if (d.e === 'trade') return this.onTrade(st, d, recvNs, text);
    throw new VenueParseError('binance', `unknown stream ${stream}`, text.slice(0, 200));
  }

  private onDepth(st: SymState | undefined, d: Record<string, unknown>, recvNs: bigint, text: string): void {
    const U = d.U;
    const u = d.u;
    const E = d.E;
    if (!isId(U) || !isId(u) || u < U)
      throw new VenueParseError('binance', `bad depth ids U=${String(U)} u=${String(u)}`, text.slice(0, 200));
    if (!isId(E)) throw new VenueParseError('binance', `bad event time ${String(E)}`, text.slice(0, 200));
    // Validate every level before anything is kept or applied; numbers and strings go to the scratch.
    const b = d.b;
    const a = d.a;
    if (!Array.isArray(b)) throw new VenueParseError('binance', 'bids is not an array', '');
    const ev = hot;
    checkLevels(b as unknown[], 'bids', ev, 0);
    if (!Array.isArray(a)) throw new VenueParseError('binance', 'asks is not an array', '');
    checkLevels(a as unknown[], 'asks', ev, b.length);
    ev.strs = generalStrs;
    ev.text = '';
    ev.U = U;
    ev.u = u;
    ev.E = E;
    ev.nb = b.length;
    ev.na = a.length;
    this.onDepthEvent(st, ev, recvNs);
  }

  /** A validated diff in the scratch event: applied now when synced, else copied into the buffer. */
  private onDepthEvent(st: SymState | undefined, ev: Depth, recvNs: bigint): void {
    if (!st) return;
    if (!st.synced) {
      this.s.suppressed++;
      const k = 2 * (ev.nb + ev.na);
      const copy: Depth = {
        U: ev.U,
        u: ev.u,
        E: ev.E,
        nb: ev.nb,
        na: ev.na,
        nums: ev.nums.slice(0, k),
        strs: materialize(ev, k),
        text: '',
        pos: EMPTY_POS,
      };
      if (st.buffer.length < MAX_BUFFER) st.buffer.push(copy);
      else {
        st.buffer.shift();
        st.buffer.push(copy);
      }
      return;
    }
    this.applyDepth(st, ev, recvNs);
  }

  /**
   * The fast path: a diff-depth frame in Binance's exact shape, read in one pass without JSON.parse
   * (depth-scan.ts). False when the frame is anything else; the general path then handles it.
   */
  private fastPath(text: string, recvNs: bigint): boolean {
    const p = streamNameEnd(text);
    if (p < 0) return false;
    if (isBookTickerStream(text, p)) {
      const q = hotTicker;
      if (!scanBookTicker(text, p, q)) return false;
      const st = this.symAt(text, q.symStart, q.symEnd);
      // As onBookTicker: unknown symbol or an update id already delivered → nothing.
      if (!st || q.u <= st.lastQuoteId) return true;
      this.quote(st, q.u, st.lastExchNs > 0n ? st.lastExchNs : recvNs, recvNs, q.bid, q.bidSz, q.ask, q.askSz);
      return true;
    }
    if (!scanDepthAfterName(text, p, hot)) return false;
    hot.strs = undefined;
    hot.text = text;
    this.onDepthEvent(this.symAt(text, hot.symStart, hot.symEnd), hot, recvNs);
    return true;
  }

  /** The symbol whose venue spelling is text[start, end) (no slice, no iterator). */
  private symAt(text: string, start: number, end: number): SymState | undefined {
    const len = end - start;
    for (let i = 0; i < this.symList.length; i++) {
      const e = this.symList[i]!;
      if (e[0].length === len && text.startsWith(e[0], start)) return e[1];
    }
    return undefined;
  }

  private onBookTicker(st: SymState | undefined, d: Record<string, unknown>, recvNs: bigint, text: string): void {
    const u = d.u;
    if (!isId(u)) throw new VenueParseError('binance', `bad bookTicker id ${String(u)}`, text.slice(0, 200));
    const bid = num('binance', d.b, 'bid');
    const bidSz = num('binance', d.B, 'bid qty');
    const ask = num('binance', d.a, 'ask');
    const askSz = num('binance', d.A, 'ask qty');
    if (!st || u <= st.lastQuoteId) return;
    // bookTicker carries no event time: the latest venue time seen on this symbol stands in for it.
    const exchNs = st.lastExchNs > 0n ? st.lastExchNs : recvNs;
    this.quote(st, u, exchNs, recvNs, bid, bidSz, ask, askSz);
  }

  private onTrade(st: SymState | undefined, d: Record<string, unknown>, recvNs: bigint, text: string): void {
    const px = positiveNum('binance', d.p, 'trade price');
    const qty = positiveNum('binance', d.q, 'trade qty');
    const id = tradeId('binance', d.t);
    const T = d.T;
    if (!isId(T)) throw new VenueParseError('binance', `bad trade time ${String(T)}`, text.slice(0, 200));
    if (typeof d.m !== 'boolean') throw new VenueParseError('binance', 'trade without maker flag', text.slice(0, 200));
    if (!st) return;
    const exchNs = BigInt(T) * 1_000_000n;
    if (exchNs > st.lastExchNs) st.lastExchNs = exchNs;
    // m = buyer is the maker, so the seller crossed the spread.
    this.emitTrade(st.m, exchNs, recvNs, px, qty, d.m ? -1 : 1, id);
  }
}

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** The reused diff event of the hot path (its arrays grow on demand, never shrink). */
const hot: Depth & DepthScan = { ...newDepthScan(), U: 0, u: 0, E: 0, strs: undefined, text: '' };
/** The reused bookTicker reading of the hot path. */
const hotTicker: BookTickerScan = { u: 0, symStart: 0, symEnd: 0, bid: 0, bidSz: 0, ask: 0, askSz: 0 };
/** The general path's level strings (reused). */
const generalStrs: string[] = [];
const EMPTY_POS = new Int32Array(0);

/** The first k/2 levels' strings of an event, as an array of its own. */
function materialize(ev: Depth, k: number): string[] {
  if (ev.strs !== undefined) return ev.strs.slice(0, k);
  const out: string[] = [];
  for (let i = 0; i < 2 * k; i += 2) out.push(ev.text.slice(ev.pos[i]!, ev.pos[i + 1]!));
  return out;
}

/** Checks a diff's levels as `levels` does (same errors) into the event's scratch from level `at`. */
function checkLevels(v: unknown[], what: string, ev: Depth, at: number): void {
  const need = 2 * (at + v.length);
  if (ev.nums.length < need) {
    const grown = new Float64Array(2 * need);
    grown.set(ev.nums);
    ev.nums = grown;
  }
  const nums = ev.nums;
  const strs = generalStrs;
  for (let i = 0, k = 2 * at; i < v.length; i++, k += 2) {
    const l = v[i];
    if (!Array.isArray(l) || l.length < 2 || typeof l[0] !== 'string' || typeof l[1] !== 'string') {
      throw new VenueParseError('binance', `bad ${what} level ${JSON.stringify(l)}`, '');
    }
    const px = num('binance', l[0], `${what} price`);
    if (px === 0) throw new VenueParseError('binance', `${what} price is zero`, '');
    nums[k] = px;
    nums[k + 1] = num('binance', l[1], `${what} qty`);
    strs[k] = l[0];
    strs[k + 1] = l[1];
  }
}

function levels(v: unknown, what: string): SnapLevel[] {
  if (!Array.isArray(v)) throw new VenueParseError('binance', `${what} is not an array`, '');
  const out: SnapLevel[] = [];
  for (const l of v as unknown[]) {
    if (!Array.isArray(l) || l.length < 2 || typeof l[0] !== 'string' || typeof l[1] !== 'string') {
      throw new VenueParseError('binance', `bad ${what} level ${JSON.stringify(l)}`, '');
    }
    const px = num('binance', l[0], `${what} price`);
    if (px === 0) throw new VenueParseError('binance', `${what} price is zero`, '');
    out.push([px, num('binance', l[1], `${what} qty`), l[0], l[1]]);
  }
  return out;
}

function parseSnapshot(text: string): { lastUpdateId: number; bids: SnapLevel[]; asks: SnapLevel[] } {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    throw new VenueParseError('binance', 'REST snapshot is not JSON', text.slice(0, 200));
  }
  const o = j as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || !isId(o.lastUpdateId))
    throw new VenueParseError('binance', 'REST snapshot without lastUpdateId', text.slice(0, 200));
  return { lastUpdateId: o.lastUpdateId, bids: levels(o.bids, 'bids'), asks: levels(o.asks, 'asks') };
}
