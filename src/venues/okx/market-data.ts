/**
 * OKX v5 public market data: `books` (400 levels) and `trades`. Integrity: every book message must
 * carry seqId (and updates prevSeqId), every update's prevSeqId must equal the last applied seqId
 * (an empty keep-alive update has seqId == prevSeqId); a message without them cannot be placed in
 * the sequence, so it resyncs the book. The CRC32 checksum of the top 25 levels (signed) is verified
 * on every WS message when `checksum: 'required'`, 0 included (0 is a possible CRC, not "no check");
 * with `checksum: 'retired'` (OKX's 2026 deprecation) it is ignored and seqId continuity is the check.
 * The snapshot comes from the WS subscription (`snapshotSource: 'ws'`, the protocol of the
 * recording) or from REST `GET /api/v5/market/books` with the stream buffered meanwhile
 * (`'rest'`, the protocol after OKX retires WS snapshots and checksums).
 */
import { monotonicMs } from '../../clock/monotonic.js';
import { TickFlag } from '../../contracts/market.js';
import { BaseAdapter, num, positiveNum, tradeId } from '../common/base-adapter.js';
import { OrderBook } from '../common/book.js';
import { okxChecksum } from '../common/checksum.js';
import { ResyncScheduler } from '../common/resync.js';
import { newOkxBookScan, scanOkxBook } from './book-scan.js';
import { VenueParseError, type AdapterOptions, type SymbolMapping } from '../common/adapter-types.js';

export interface OkxAdapterOptions extends AdapterOptions {
  snapshotSource?: 'ws' | 'rest';
  /** REST base URL, required when snapshotSource is 'rest'. */
  restUrl?: string;
  /**
   * Whether OKX still sends book checksums. Explicit because OKX's deprecation makes the value 0 and
   * a 0 must not silently switch verification off while the venue still checksums.
   */
  checksum: 'required' | 'retired';
}

/**
 * One side's validated levels, flat: px, size pairs in `nums` and the strings as received in `strs`
 * (OKX checksums them verbatim). One typed array and one array per side instead of a tuple per level.
 */
interface Side {
  nums: Float64Array;
  strs: string[];
}

function applySide(side: OrderBook['bids'], lv: Side): void {
  const nums = lv.nums;
  const strs = lv.strs;
  for (let i = 0; i < strs.length; i += 2) side.set(nums[i]!, nums[i + 1]!, strs[i]!, strs[i + 1]!);
}

interface BookMsg {
  action: 'snapshot' | 'update';
  bids: Side;
  asks: Side;
  tsNs: bigint;
  /** undefined: the message carried no checksum field. */
  checksum: number | undefined;
  /** undefined: missing on the wire, an integrity failure handled by onBook (resync, counted). */
  seqId: number | undefined;
  prevSeqId: number | undefined;
}

/** A book message that passed the sequence-field checks. */
type SeqBookMsg = BookMsg & { seqId: number };

interface SymState {
  m: SymbolMapping;
  book: OrderBook;
  synced: boolean;
  lastSeqId: number | undefined;
  buffer: SeqBookMsg[];
  fetching: boolean;
  requestedAtMs: number;
  flagsNext: number;
  lastBid: number;
  lastAsk: number;
  lastBidSz: number;
  lastAskSz: number;
  applied: number;
  checksumsVerified: number;
}

const MAX_BUFFER = 10_000;

export class OkxAdapter extends BaseAdapter {
  private readonly syms = new Map<string, SymState>();
  /** The same entries as an array: the fast path finds an instrument by comparing text in place. */
  private readonly symList: Array<[string, SymState]>;
  private readonly resync: ResyncScheduler;
  private readonly source: 'ws' | 'rest';
  private readonly restUrl: string | undefined;
  private readonly checksumMode: 'required' | 'retired';
  private epoch = 0;

  constructor(opts: OkxAdapterOptions) {
    // OKX: 3 connection requests per second per IP, 480 subscribe ops per hour per connection.
    super('okx', opts, { reconnect: { maxAttemptsPerWindow: 3, windowMs: 1000 }, keepaliveMs: 20_000 });
    this.source = opts.snapshotSource ?? 'ws';
    this.restUrl = opts.restUrl?.replace(/\/$/, '');
    if (opts.checksum !== 'required' && opts.checksum !== 'retired')
      throw new RangeError(`okx adapter: checksum must be 'required' or 'retired'`);
    this.checksumMode = opts.checksum;
    if (this.source === 'rest' && !this.restUrl) throw new RangeError('okx adapter: snapshotSource rest needs restUrl');
    for (const m of opts.symbols) {
      this.syms.set(m.venueSymbol, {
        m,
        book: new OrderBook(),
        synced: false,
        lastSeqId: undefined,
        buffer: [],
        fetching: false,
        requestedAtMs: 0,
        flagsNext: 0,
        lastBid: 0,
        lastAsk: 0,
        lastBidSz: 0,
        lastAskSz: 0,
        applied: 0,
        checksumsVerified: 0,
      });
    }
    this.symList = [...this.syms];
    // OKX allows 480 subscribe/unsubscribe ops per hour per connection and a WS resync costs two:
    // split a 400-op hourly budget between the symbols so a flapping book cannot get us cut off.
    const perSymbolPerHour = Math.max(1, Math.floor(200 / opts.symbols.length));
    this.resync = new ResyncScheduler(this.clock, (sym) => this.doResync(sym), {
      initialMs: 50,
      maxMs: 60_000,
      multiplier: 2,
      maxAttemptsPerWindow: perSymbolPerHour,
      windowMs: 3_600_000,
    });
  }

  book(instId: string): OrderBook | undefined {
    return this.syms.get(instId)?.book;
  }
  isSynced(instId: string): boolean {
    return this.syms.get(instId)?.synced ?? false;
  }
  lastSeqId(instId: string): number | undefined {
    return this.syms.get(instId)?.lastSeqId;
  }
  /** Updates applied and checksums that matched, per instrument. */
  integrity(instId: string): { applied: number; checksumsVerified: number } {
    const s = this.syms.get(instId);
    return { applied: s?.applied ?? 0, checksumsVerified: s?.checksumsVerified ?? 0 };
  }

  protected onOpen(): void {
    this.epoch++;
    const args: Array<{ channel: string; instId: string }> = [];
    const now = this.nowMs();
    for (const [instId, st] of this.syms) {
      args.push({ channel: 'books', instId }, { channel: 'trades', instId });
      st.requestedAtMs = now;
    }
    this.sendJson({ op: 'subscribe', args });
    if (this.source === 'rest') for (const sym of this.syms.keys()) this.resync.request(sym);
  }

  protected onDisconnect(): void {
    // Snapshot answers still in flight belong to the old connection: ignore them.
    this.epoch++;
    this.resync.cancelAll();
    for (const st of this.syms.values()) this.unsync(st, TickFlag.RESYNC);
  }

  protected override keepalive(): void {
    // OKX closes a connection that has been silent for 30 s; 'ping' → 'pong'.
    this.sendText('ping');
  }

  protected override checkSync(nowMs: number): void {
    for (const [sym, st] of this.syms) {
      if (st.synced || st.fetching || st.requestedAtMs === 0 || this.resync.isPending(sym)) continue;
      if (nowMs - st.requestedAtMs > this.snapshotTimeoutMs) {
        st.requestedAtMs = nowMs;
        if (this.source === 'ws' && this.restUrl !== undefined) {
          // No WS snapshot: OKX has retired them (2026 notice) or lost ours; take it from REST.
          this.emitEvent('gap', st.m.symbol, 'WS snapshot did not arrive; falling back to the REST snapshot');
          this.s.resyncs++;
          void this.fetchSnapshot(st);
        } else {
          this.emitEvent('gap', st.m.symbol, 'snapshot did not arrive; requesting it again');
          this.resync.request(sym);
        }
      }
    }
  }

  private unsync(st: SymState, flags: number): void {
    st.synced = false;
    st.book.clear();
    st.buffer = [];
    st.lastSeqId = undefined;
    st.flagsNext |= flags;
  }

  private fail(st: SymState, flags: number): void {
    this.unsync(st, flags);
    st.requestedAtMs = this.nowMs();
    this.resync.request(st.m.venueSymbol);
  }

  private doResync(instId: string): void {
    const st = this.syms.get(instId);
    if (!st || st.synced || !this.stats().connected) return;
    this.s.resyncs++;
    st.requestedAtMs = this.nowMs();
    if (this.source === 'ws') {
      this.emitEvent('resync', st.m.symbol, 'resubscribing books for a fresh snapshot');
      this.sendJson({ op: 'unsubscribe', args: [{ channel: 'books', instId }] });
      this.sendJson({ op: 'subscribe', args: [{ channel: 'books', instId }] });
    } else {
      this.emitEvent('resync', st.m.symbol, 'fetching REST books snapshot');
      void this.fetchSnapshot(st);
    }
  }

  private async fetchSnapshot(st: SymState): Promise<void> {
    if (st.fetching) return;
    st.fetching = true;
    const epoch = this.epoch;
    try {
      const t0 = monotonicMs();
      const res = await fetch(`${this.restUrl!}/api/v5/market/books?instId=${encodeURIComponent(st.m.venueSymbol)}&sz=400`, {
        signal: AbortSignal.timeout(5000),
      });
      const text = await res.text();
      this.recordRest(monotonicMs() - t0, res.ok);
      if (epoch !== this.epoch || st.synced) return;
      if (res.status === 429) {
        this.http429++;
        this.fail(st, 0);
        return;
      }
      const snap = parseRestBooks(text);
      this.applySnapshot(st, snap, this.clock.nowNs());
    } catch (e) {
      if (e instanceof VenueParseError) {
        this.s.parseErrors++;
        this.emitEvent('parse', st.m.symbol, e.reason);
      } else this.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'REST books failed');
      // Try again, paced by the resync backoff, rather than waiting for the snapshot watchdog.
      if (epoch === this.epoch && !st.synced) {
        st.fetching = false;
        st.requestedAtMs = this.nowMs();
        this.resync.request(st.m.venueSymbol);
      }
    } finally {
      st.fetching = false;
    }
  }

  protected onMessage(text: string, recvNs: bigint): void {
    if (text === 'pong') {
      this.s.lastHeartbeatNs = recvNs;
      return;
    }
    if (scanOkxBook(text, hot)) {
      const st = this.symAt(text, hot.instStart, hot.instEnd);
      if (st)
        this.onBook(
          st,
          {
            action: hot.snapshot ? 'snapshot' : 'update',
            bids: hot.bids,
            asks: hot.asks,
            tsNs: BigInt(hot.tsMs) * 1_000_000n,
            checksum: hot.checksum,
            seqId: hot.seqId,
            // As parseBook: a snapshot's prevSeqId (-1) is not part of the chain.
            prevSeqId: hot.snapshot ? undefined : hot.prevSeqId,
          },
          recvNs,
        );
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      throw new VenueParseError('okx', 'invalid JSON', text.slice(0, 200));
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg))
      throw new VenueParseError('okx', 'message is not an object', text.slice(0, 200));
    const o = msg as Record<string, unknown>;
    if (typeof o.event === 'string') {
      if (o.event === 'error') this.log.warn({ code: o.code, msg: o.msg }, 'okx error event');
      return;
    }
    const arg = o.arg as Record<string, unknown> | undefined;
    if (typeof arg !== 'object' || arg === null || typeof arg.channel !== 'string' || typeof arg.instId !== 'string') {
      throw new VenueParseError('okx', 'message without arg.channel/instId', text.slice(0, 200));
    }
    if (!Array.isArray(o.data)) throw new VenueParseError('okx', 'data is not an array', text.slice(0, 200));
    const st = this.syms.get(arg.instId);
    if (arg.channel === 'books') {
      const action = o.action;
      if (action !== 'snapshot' && action !== 'update')
        throw new VenueParseError('okx', `bad books action ${JSON.stringify(action)}`, text.slice(0, 200));
      const d = o.data[0] as unknown;
      if (o.data.length !== 1) throw new VenueParseError('okx', 'books data must hold one entry', text.slice(0, 200));
      const bm = parseBook(action, d, text);
      if (st) this.onBook(st, bm, recvNs);
      return;
    }
    if (arg.channel === 'trades') {
      const trades = (o.data as unknown[]).map((t) => parseTrade(t, text));
      if (st) for (const t of trades) this.emitTrade(st.m, t.tsNs, recvNs, t.px, t.qty, t.side, t.id);
      return;
    }
    if (arg.channel === 'tickers') return;
    throw new VenueParseError('okx', `unknown channel ${arg.channel}`, text.slice(0, 200));
  }

  /** The instrument whose id is text[start, end) (no slice). */
  private symAt(text: string, start: number, end: number): SymState | undefined {
    const len = end - start;
    for (let i = 0; i < this.symList.length; i++) {
      const e = this.symList[i]!;
      if (e[0].length === len && text.startsWith(e[0], start)) return e[1];
    }
    return undefined;
  }

  private onBook(st: SymState, raw: BookMsg, recvNs: bigint): void {
    const bm = this.sequenced(st, raw);
    if (bm === undefined) return;
    if (bm.action === 'snapshot') {
      this.applySnapshot(st, bm, recvNs);
      return;
    }
    if (!st.synced) {
      this.s.suppressed++;
      // Buffered in both modes: a REST snapshot (primary or fallback) continues from them.
      if (st.buffer.length >= MAX_BUFFER) st.buffer.shift();
      st.buffer.push(bm);
      return;
    }
    this.applyUpdate(st, bm, recvNs);
  }

  /**
   * The message with its sequence fields checked, or undefined when they are missing or contradict
   * each other: such a message cannot be placed in the sequence, so the book is resynced (counted as
   * a gap) rather than the update applied on trust.
   */
  private sequenced(st: SymState, bm: BookMsg): SeqBookMsg | undefined {
    let why: string | undefined;
    if (bm.seqId === undefined) why = `${bm.action} without seqId`;
    else if (bm.action === 'update' && bm.prevSeqId === undefined) why = 'update without prevSeqId';
    else if (bm.action === 'update' && bm.seqId === bm.prevSeqId && (bm.bids.strs.length > 0 || bm.asks.strs.length > 0)) {
      // Only an empty keep-alive may leave seqId unchanged: levels under a reused id are a replay.
      why = `update with levels did not advance seqId ${bm.seqId}`;
    } else if (this.checksumMode === 'required' && bm.checksum === undefined) {
      this.s.checksumFailures++;
      this.emitEvent('checksum', st.m.symbol, `${bm.action} without checksum while checksums are required`);
      this.fail(st, TickFlag.RESYNC | TickFlag.GAP);
      return undefined;
    }
    if (why !== undefined) {
      this.s.gaps++;
      this.emitEvent('gap', st.m.symbol, why);
      this.fail(st, TickFlag.GAP | TickFlag.RESYNC);
      return undefined;
    }
    return bm as SeqBookMsg;
  }

  /** `checksum` undefined: a REST snapshot, which carries none; WS messages were checked in `sequenced`. */
  private applySnapshot(st: SymState, bm: Pick<BookMsg, 'bids' | 'asks' | 'checksum' | 'tsNs'> & { seqId: number }, recvNs: bigint): void {
    st.book.clear();
    applySide(st.book.bids, bm.bids);
    applySide(st.book.asks, bm.asks);
    if (this.checksumMode === 'required' && bm.checksum !== undefined && !this.checksumOk(st, bm.checksum)) return;
    st.lastSeqId = bm.seqId;
    st.synced = true;
    st.requestedAtMs = 0;
    const last = bm.seqId;
    const pending = st.buffer.filter((u) => u.seqId > last);
    st.buffer = [];
    for (const u of pending) if (!this.applyUpdate(st, u, recvNs)) return;
    if (pending.length === 0) this.maybeQuote(st, bm.tsNs > 0n ? bm.tsNs : recvNs, recvNs);
  }

  /** False when the update broke integrity and the book is being resynced. */
  private applyUpdate(st: SymState, u: SeqBookMsg, recvNs: bigint): boolean {
    // Duplicated, replayed, reordered and stale updates all fail here: their prevSeqId is not ours.
    if (u.prevSeqId !== st.lastSeqId) {
      this.s.gaps++;
      this.emitEvent(
        'gap',
        st.m.symbol,
        `prevSeqId ${String(u.prevSeqId)} != last seqId ${String(st.lastSeqId)}`,
        BigInt(st.lastSeqId ?? 0),
        BigInt(u.prevSeqId ?? 0),
      );
      this.fail(st, TickFlag.GAP | TickFlag.RESYNC);
      return false;
    }
    applySide(st.book.bids, u.bids);
    applySide(st.book.asks, u.asks);
    if (this.checksumMode === 'required' && !this.checksumOk(st, u.checksum!)) return false;
    st.lastSeqId = u.seqId;
    st.applied++;
    if (st.applied % 100 === 0) this.resync.succeeded(st.m.venueSymbol);
    return this.maybeQuote(st, u.tsNs > 0n ? u.tsNs : recvNs, recvNs);
  }

  private checksumOk(st: SymState, checksum: number): boolean {
    const local = okxChecksum(st.book);
    if (local === checksum) {
      st.checksumsVerified++;
      return true;
    }
    this.s.checksumFailures++;
    this.emitEvent('checksum', st.m.symbol, `crc32 ${local} != venue ${checksum}`, BigInt(checksum >>> 0), BigInt(local >>> 0));
    this.fail(st, TickFlag.RESYNC | TickFlag.GAP);
    return false;
  }

  private maybeQuote(st: SymState, exchNs: bigint, recvNs: bigint): boolean {
    const b = st.book.bids.best();
    const a = st.book.asks.best();
    const bid = b?.px ?? 0;
    const ask = a?.px ?? 0;
    const bidSz = b?.qty ?? 0;
    const askSz = a?.qty ?? 0;
    if (st.flagsNext === 0 && bid === st.lastBid && ask === st.lastAsk && bidSz === st.lastBidSz && askSz === st.lastAskSz) return true;
    if (!this.emitQuote(st.m, exchNs, recvNs, bid, bidSz, ask, askSz, st.flagsNext)) {
      this.fail(st, TickFlag.RESYNC);
      return false;
    }
    st.flagsNext = 0;
    st.lastBid = bid;
    st.lastAsk = ask;
    st.lastBidSz = bidSz;
    st.lastAskSz = askSz;
    return true;
  }
}

/** The fast path's reused reading (its sides are fresh per frame: buffered updates keep them). */
const hot = newOkxBookScan();

function levels(v: unknown, what: string, text: string): Side {
  if (!Array.isArray(v)) throw new VenueParseError('okx', `${what} is not an array`, text.slice(0, 200));
  const n = v.length;
  const nums = new Float64Array(2 * n);
  const strs: string[] = new Array<string>(2 * n);
  for (let i = 0; i < n; i++) {
    const l = v[i] as unknown;
    if (!Array.isArray(l) || l.length < 2 || typeof l[0] !== 'string' || typeof l[1] !== 'string') {
      throw new VenueParseError('okx', `bad ${what} level ${JSON.stringify(l)?.slice(0, 80)}`, text.slice(0, 200));
    }
    const px = num('okx', l[0], `${what} price`);
    if (px === 0) throw new VenueParseError('okx', `${what} price is zero`, text.slice(0, 200));
    nums[2 * i] = px;
    nums[2 * i + 1] = num('okx', l[1], `${what} size`);
    strs[2 * i] = l[0];
    strs[2 * i + 1] = l[1];
  }
  return { nums, strs };
}

function tsNs(v: unknown, text: string): bigint {
  if (typeof v !== 'string' || !/^\d{1,15}$/.test(v)) throw new VenueParseError('okx', `bad ts ${JSON.stringify(v)}`, text.slice(0, 200));
  return BigInt(v) * 1_000_000n;
}

function optInt(v: unknown, what: string, text: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v))
    throw new VenueParseError('okx', `bad ${what} ${JSON.stringify(v)}`, text.slice(0, 200));
  return v;
}

function parseBook(action: 'snapshot' | 'update', d: unknown, text: string): BookMsg {
  if (typeof d !== 'object' || d === null) throw new VenueParseError('okx', 'books entry is not an object', text.slice(0, 200));
  const o = d as Record<string, unknown>;
  const checksum = optInt(o.checksum, 'checksum', text);
  if (checksum !== undefined && (checksum < -0x80000000 || checksum > 0x7fffffff))
    throw new VenueParseError('okx', 'checksum out of int32 range', text.slice(0, 200));
  const prev = optInt(o.prevSeqId, 'prevSeqId', text);
  return {
    action,
    bids: levels(o.bids, 'bids', text),
    asks: levels(o.asks, 'asks', text),
    tsNs: tsNs(o.ts, text),
    checksum,
    seqId: optInt(o.seqId, 'seqId', text),
    // A snapshot's prevSeqId is -1: nothing precedes it, so only updates carry one.
    prevSeqId: action === 'snapshot' ? undefined : prev,
  };
}

function parseTrade(t: unknown, text: string): { px: number; qty: number; side: -1 | 1; tsNs: bigint; id: bigint } {
  if (typeof t !== 'object' || t === null) throw new VenueParseError('okx', 'trade is not an object', text.slice(0, 200));
  const o = t as Record<string, unknown>;
  if (o.side !== 'buy' && o.side !== 'sell')
    throw new VenueParseError('okx', `bad trade side ${JSON.stringify(o.side)}`, text.slice(0, 200));
  return {
    px: positiveNum('okx', o.px, 'trade px'),
    qty: positiveNum('okx', o.sz, 'trade sz'),
    side: o.side === 'buy' ? 1 : -1,
    tsNs: tsNs(o.ts, text),
    id: tradeId('okx', o.tradeId),
  };
}

function parseRestBooks(text: string): { bids: Side; asks: Side; seqId: number; checksum: undefined; tsNs: bigint } {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    throw new VenueParseError('okx', 'REST books is not JSON', text.slice(0, 200));
  }
  const o = j as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || o.code !== '0' || !Array.isArray(o.data) || o.data.length !== 1) {
    throw new VenueParseError('okx', `REST books error ${JSON.stringify((o as { msg?: unknown } | null)?.msg ?? '')}`, text.slice(0, 200));
  }
  const d = o.data[0] as Record<string, unknown>;
  const seqId = optInt(d.seqId, 'seqId', text);
  if (seqId === undefined) throw new VenueParseError('okx', 'REST books without seqId: cannot align with the stream', text.slice(0, 200));
  return { bids: levels(d.bids, 'bids', text), asks: levels(d.asks, 'asks', text), seqId, checksum: undefined, tsNs: tsNs(d.ts, text) };
}
