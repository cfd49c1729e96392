/**
 * Kraken WS v2 public market data: `book` with CRC32 verification after every message (book
 * truncated to the subscribed depth first, as Kraken requires) and `trade`. A checksum mismatch or a
 * crossed book marks the symbol unsynced (no tick leaves until a fresh snapshot verifies) and resyncs
 * it by unsubscribe + subscribe, which makes Kraken send a new snapshot.
 */
import { TickFlag } from '../../contracts/market.js';
import { BaseAdapter, num, positiveNum, tradeId } from '../common/base-adapter.js';
import { OrderBook } from '../common/book.js';
import { krakenChecksumPreformatted, krakenField } from '../common/checksum.js';
import { ResyncScheduler } from '../common/resync.js';
import { krakenFieldAt, newKrakenBookScan, scanKrakenBook, type KrakenBookScan } from './book-scan.js';
import { parseRfc3339Ns, parseRfc3339NsIn } from '../common/time.js';
import { VenueParseError, type AdapterOptions, type SymbolMapping } from '../common/adapter-types.js';

export interface KrakenAdapterOptions extends AdapterOptions {
  /** Book depth to subscribe (Kraken allows 10, 25, 100, 500, 1000). Default 10. */
  depth?: number;
}

interface SymState {
  m: SymbolMapping;
  book: OrderBook;
  synced: boolean;
  pricePrec: number;
  qtyPrec: number;
  flagsNext: number;
  lastBid: number;
  lastAsk: number;
  lastBidSz: number;
  lastAskSz: number;
  lastTsNs: bigint;
  /** The last book frame applied, verbatim: a frame repeated byte for byte is a duplicate. */
  lastFrame: string;
  /** Latest trusted exchange timestamp of an applied update: updates of one book never go back in time. */
  orderTsNs: bigint;
  goodUpdates: number;
  /** Wall ms when a snapshot was last requested (0: none outstanding). */
  requestedAtMs: number;
}

const DEPTHS = new Set([10, 25, 100, 500, 1000]);

export class KrakenAdapter extends BaseAdapter {
  private readonly depth: number;
  private readonly syms = new Map<string, SymState>();
  /** The same entries as an array: the fast path finds a symbol by comparing text in place. */
  private readonly symList: Array<[string, SymState]>;
  private readonly resync: ResyncScheduler;
  private reqId = 1;

  constructor(opts: KrakenAdapterOptions) {
    // Kraken: about 150 connection attempts per 10 minutes per IP before a temporary ban; stay far below.
    super('kraken', opts, { reconnect: { maxAttemptsPerWindow: 30, windowMs: 600_000 }, keepaliveMs: 15_000 });
    this.depth = opts.depth ?? 10;
    if (!DEPTHS.has(this.depth)) throw new RangeError(`kraken book depth must be one of ${[...DEPTHS].join(', ')}`);
    for (const m of opts.symbols) {
      this.syms.set(m.venueSymbol, {
        m,
        book: new OrderBook(),
        synced: false,
        pricePrec: m.pricePrecision ?? 1,
        qtyPrec: m.qtyPrecision ?? 8,
        flagsNext: 0,
        lastBid: 0,
        lastAsk: 0,
        lastBidSz: 0,
        lastAskSz: 0,
        lastTsNs: 0n,
        lastFrame: '',
        orderTsNs: 0n,
        goodUpdates: 0,
        requestedAtMs: 0,
      });
    }
    this.symList = [...this.syms];
    this.resync = new ResyncScheduler(this.clock, (sym) => this.resubscribeBook(sym));
  }

  /** The adapter's current book for a venue symbol (tests compare it with the venue's). */
  book(venueSymbol: string): OrderBook | undefined {
    return this.syms.get(venueSymbol)?.book;
  }

  isSynced(venueSymbol: string): boolean {
    return this.syms.get(venueSymbol)?.synced ?? false;
  }

  protected override checkSync(nowMs: number): void {
    for (const [sym, st] of this.syms) {
      if (st.synced || st.requestedAtMs === 0 || this.resync.isPending(sym)) continue;
      if (nowMs - st.requestedAtMs > this.snapshotTimeoutMs) {
        this.emitEvent('gap', st.m.symbol, 'snapshot did not arrive; requesting it again');
        this.resync.request(sym);
      }
    }
  }

  protected onOpen(): void {
    const symbol = [...this.syms.keys()];
    const now = this.nowMs();
    for (const st of this.syms.values()) st.requestedAtMs = now;
    this.sendJson({ method: 'subscribe', params: { channel: 'book', symbol, depth: this.depth, snapshot: true }, req_id: this.reqId++ });
    this.sendJson({ method: 'subscribe', params: { channel: 'trade', symbol, snapshot: false }, req_id: this.reqId++ });
  }

  protected onDisconnect(): void {
    this.resync.cancelAll();
    for (const st of this.syms.values()) this.unsync(st, TickFlag.RESYNC);
  }

  protected override keepalive(): void {
    this.sendJson({ method: 'ping', req_id: this.reqId++ });
  }

  private unsync(st: SymState, flags: number): void {
    st.synced = false;
    st.book.clear();
    st.flagsNext |= flags;
  }

  private resubscribeBook(sym: string): void {
    const st = this.syms.get(sym);
    if (!st || st.synced) return;
    this.s.resyncs++;
    st.requestedAtMs = this.nowMs();
    this.emitEvent('resync', st.m.symbol, 'resubscribing book for a fresh snapshot');
    this.sendJson({ method: 'unsubscribe', params: { channel: 'book', symbol: [sym], depth: this.depth }, req_id: this.reqId++ });
    this.sendJson({
      method: 'subscribe',
      params: { channel: 'book', symbol: [sym], depth: this.depth, snapshot: true },
      req_id: this.reqId++,
    });
  }

  protected onMessage(text: string, recvNs: bigint): void {
    if (scanKrakenBook(text, hot)) return this.onBookScan(text, recvNs);
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      throw new VenueParseError('kraken', 'invalid JSON', text.slice(0, 200));
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg))
      throw new VenueParseError('kraken', 'message is not an object', text.slice(0, 200));
    const o = msg as Record<string, unknown>;
    const channel = o.channel;
    if (channel === 'heartbeat') {
      this.s.lastHeartbeatNs = recvNs;
      return;
    }
    if (channel === 'book') return this.onBook(o, recvNs, text);
    if (channel === 'trade') return this.onTrades(o, recvNs, text);
    if (channel === 'status' || channel === 'ticker' || channel === 'instrument') return;
    if (typeof o.method === 'string') {
      if (o.method === 'pong') this.s.lastHeartbeatNs = recvNs;
      else if (o.success === false) this.log.warn({ error: o.error }, 'kraken request failed');
      return;
    }
    throw new VenueParseError('kraken', `unknown message (channel ${JSON.stringify(channel)})`, text.slice(0, 200));
  }

  /** The fast path: a book frame in Kraken's exact shape, read in one pass (book-scan.ts). */
  private onBookScan(text: string, recvNs: bigint): void {
    const sc = hot;
    const st = this.symAt(text, sc.symStart, sc.symEnd);
    if (!st) return; // not ours
    let exchNs = st.lastTsNs;
    if (sc.tsStart >= 0) {
      const ts = parseRfc3339NsIn(text, sc.tsStart, sc.tsEnd);
      if (ts === undefined)
        throw new VenueParseError('kraken', `bad timestamp ${JSON.stringify(text.slice(sc.tsStart, sc.tsEnd))}`, text.slice(0, 200));
      exchNs = ts;
    }
    this.bookEntry(st, sc.snapshot, sc, true, sc.checksum, sc.tsStart >= 0, exchNs, text, recvNs);
  }

  /** The symbol whose venue spelling is text[start, end) (no slice). */
  private symAt(text: string, start: number, end: number): SymState | undefined {
    const len = end - start;
    for (let i = 0; i < this.symList.length; i++) {
      const e = this.symList[i]!;
      if (e[0].length === len && text.startsWith(e[0], start)) return e[1];
    }
    return undefined;
  }

  private onBook(o: Record<string, unknown>, recvNs: bigint, text: string): void {
    const type = o.type;
    if (type !== 'snapshot' && type !== 'update')
      throw new VenueParseError('kraken', `bad book type ${JSON.stringify(type)}`, text.slice(0, 200));
    if (!Array.isArray(o.data)) throw new VenueParseError('kraken', 'book data is not an array', text.slice(0, 200));
    for (const d of o.data as unknown[]) {
      if (typeof d !== 'object' || d === null) throw new VenueParseError('kraken', 'book entry is not an object', text.slice(0, 200));
      const e = d as Record<string, unknown>;
      const sym = e.symbol;
      if (typeof sym !== 'string') throw new VenueParseError('kraken', 'book entry without symbol', text.slice(0, 200));
      const st = this.syms.get(sym);
      if (!st) continue; // not ours
      // Validate everything before touching the book: bad input must not corrupt state.
      gen.nb = levels(e.bids, 'bids', 0);
      gen.na = levels(e.asks, 'asks', gen.nb);
      const checksum = e.checksum;
      if (typeof checksum !== 'number' || !Number.isInteger(checksum) || checksum < 0 || checksum > 0xffffffff) {
        throw new VenueParseError('kraken', `bad checksum field ${JSON.stringify(checksum)}`, text.slice(0, 200));
      }
      let exchNs = st.lastTsNs;
      if (e.timestamp !== undefined) {
        const ts = typeof e.timestamp === 'string' ? parseRfc3339Ns(e.timestamp) : undefined;
        if (ts === undefined) throw new VenueParseError('kraken', `bad timestamp ${JSON.stringify(e.timestamp)}`, text.slice(0, 200));
        exchNs = ts;
      }
      this.bookEntry(st, type === 'snapshot', gen, false, checksum, e.timestamp !== undefined, exchNs, text, recvNs);
    }
  }

  /**
   * One validated book entry: levels in `lv` (`fromText`: with their digit ranges in `text`, see
   * book-scan.ts), applied, truncated and verified against the venue's CRC32.
   */
  private bookEntry(
    st: SymState,
    snapshot: boolean,
    lv: KrakenBookScan,
    fromText: boolean,
    checksum: number,
    hasTs: boolean,
    exchNs: bigint,
    text: string,
    recvNs: bigint,
  ): void {
    const sym = st.m.venueSymbol;
    if (snapshot) {
      st.book.clear();
      st.synced = true;
      st.requestedAtMs = 0;
    } else if (!st.synced) {
      this.s.suppressed++;
      return;
    } else if (text === st.lastFrame) {
      // Kraken v2 books carry no sequence number. Re-applying absolute levels would pass the
      // checksum, so a repeated frame is caught here: dropped, counted and reported.
      this.s.replays++;
      this.emitEvent('duplicate', st.m.symbol, 'book update repeated verbatim');
      return;
    } else if (hasTs && exchNs < st.orderTsNs && this.timestampTrusted(exchNs, recvNs)) {
      // A replayed or reordered update that rewrites the same levels passes the checksum (it
      // carries the checksum of the state it produces) yet leaves the book in the past. Kraken v2
      // has no sequence number; its per-book timestamps are the order. Only timestamps plausible
      // against our clock take part, so a stale- or skew-stamped message cannot cause resyncs.
      this.s.gaps++;
      this.emitEvent('gap', st.m.symbol, `book update stamped ${exchNs} before the last applied ${st.orderTsNs}`, st.orderTsNs, exchNs);
      this.unsync(st, TickFlag.RESYNC | TickFlag.GAP);
      this.resync.request(sym);
      return;
    }
    // Level strings hold the checksum's formatting of price and qty, computed once per change
    // (from the digits on the wire when provably equal, else with toFixed).
    const nums = lv.nums;
    for (let i = 0; i < lv.nb + lv.na; i++) {
      const side = i < lv.nb ? st.book.bids : st.book.asks;
      const px = nums[2 * i]!;
      const qty = nums[2 * i + 1]!;
      if (qty === 0) side.set(px, 0, '', '');
      else
        side.set(
          px,
          qty,
          (fromText ? krakenFieldAt(text, lv, 2 * i, st.pricePrec) : undefined) ?? krakenField(px, st.pricePrec),
          (fromText ? krakenFieldAt(text, lv, 2 * i + 1, st.qtyPrec) : undefined) ?? krakenField(qty, st.qtyPrec),
        );
    }
    st.book.bids.truncate(this.depth);
    st.book.asks.truncate(this.depth);
    const local = krakenChecksumPreformatted(st.book);
    if (local !== checksum) {
      this.s.checksumFailures++;
      this.emitEvent('checksum', st.m.symbol, `crc32 ${local} != venue ${checksum}`, BigInt(checksum), BigInt(local));
      this.unsync(st, TickFlag.RESYNC | TickFlag.GAP);
      this.resync.request(sym);
      return;
    }
    if (exchNs > 0n) st.lastTsNs = exchNs;
    if (hasTs && exchNs > st.orderTsNs && this.timestampTrusted(exchNs, recvNs)) st.orderTsNs = exchNs;
    st.lastFrame = text;
    if (++st.goodUpdates % 100 === 0) this.resync.succeeded(sym);
    this.maybeQuote(st, exchNs > 0n ? exchNs : recvNs, recvNs);
  }

  private maybeQuote(st: SymState, exchNs: bigint, recvNs: bigint): void {
    const b = st.book.bids.best();
    const a = st.book.asks.best();
    const bid = b?.px ?? 0;
    const ask = a?.px ?? 0;
    const bidSz = b?.qty ?? 0;
    const askSz = a?.qty ?? 0;
    if (st.flagsNext === 0 && bid === st.lastBid && ask === st.lastAsk && bidSz === st.lastBidSz && askSz === st.lastAskSz) return;
    if (!this.emitQuote(st.m, exchNs, recvNs, bid, bidSz, ask, askSz, st.flagsNext)) {
      this.unsync(st, TickFlag.RESYNC);
      this.resync.request(st.m.venueSymbol);
      return;
    }
    st.flagsNext = 0;
    st.lastBid = bid;
    st.lastAsk = ask;
    st.lastBidSz = bidSz;
    st.lastAskSz = askSz;
  }

  private onTrades(o: Record<string, unknown>, recvNs: bigint, text: string): void {
    if (!Array.isArray(o.data)) throw new VenueParseError('kraken', 'trade data is not an array', text.slice(0, 200));
    // The snapshot replays recent history the consumer may already have; only live trades are ticks.
    if (o.type === 'snapshot') return;
    if (o.type !== 'update') throw new VenueParseError('kraken', `bad trade type ${JSON.stringify(o.type)}`, text.slice(0, 200));
    const parsed: Array<{ st: SymState; px: number; qty: number; side: -1 | 1; ts: bigint; id: bigint }> = [];
    for (const d of o.data as unknown[]) {
      if (typeof d !== 'object' || d === null) throw new VenueParseError('kraken', 'trade entry is not an object', text.slice(0, 200));
      const e = d as Record<string, unknown>;
      const st = typeof e.symbol === 'string' ? this.syms.get(e.symbol) : undefined;
      if (typeof e.symbol !== 'string') throw new VenueParseError('kraken', 'trade without symbol', text.slice(0, 200));
      const px = positiveNum('kraken', e.price, 'trade price');
      const qty = positiveNum('kraken', e.qty, 'trade qty');
      const id = tradeId('kraken', e.trade_id);
      if (e.side !== 'buy' && e.side !== 'sell')
        throw new VenueParseError('kraken', `bad trade side ${JSON.stringify(e.side)}`, text.slice(0, 200));
      const ts = typeof e.timestamp === 'string' ? parseRfc3339Ns(e.timestamp) : undefined;
      if (ts === undefined) throw new VenueParseError('kraken', 'bad trade timestamp', text.slice(0, 200));
      if (st) parsed.push({ st, px, qty, side: e.side === 'buy' ? 1 : -1, ts, id });
    }
    for (const t of parsed) this.emitTrade(t.st.m, t.ts, recvNs, t.px, t.qty, t.side, t.id);
  }
}

/** The reused fast-path scan, and the general path's levels in the same flat form (no text ranges). */
const hot = newKrakenBookScan();
const gen = newKrakenBookScan();

/** Validates a side's levels into `gen` from pair index `j`; returns their count. */
function levels(v: unknown, what: string, j: number): number {
  if (!Array.isArray(v)) throw new VenueParseError('kraken', `${what} is not an array`, '');
  const n = v.length;
  if (2 * (j + n) > gen.nums.length) {
    const grown = new Float64Array(2 * (j + n) * 2);
    grown.set(gen.nums);
    gen.nums = grown;
  }
  for (let i = 0; i < n; i++) {
    const l = v[i] as unknown;
    if (typeof l !== 'object' || l === null) throw new VenueParseError('kraken', `${what} level is not an object`, '');
    const r = l as Record<string, unknown>;
    const px = num('kraken', r.price, `${what} price`);
    if (px === 0) throw new VenueParseError('kraken', `${what} price is zero`, '');
    gen.nums[2 * (j + i)] = px;
    gen.nums[2 * (j + i) + 1] = num('kraken', r.qty, `${what} qty`);
  }
  return n;
}
