/**
 * Connection management shared by the venue adapters: connect, resubscribe on every (re)connect,
 * reconnect with jittered backoff inside the venue's connection budget, stall watchdog, keepalive,
 * tick gating (crossed → dropped; stale/skew → flagged), counters, and VenueHealth publication.
 *
 * Venue subclasses only parse and keep books; they call `emitTick` / `emitEvent` and never touch the
 * socket lifecycle.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { WebSocket, type RawData } from 'ws';
import type { Clock } from '../../clock/clock.js';
import { MarketDataEventSchema, type MarketDataEvent } from '../../contracts/gen/kestrel/v1/market_pb.js';
import { VenueHealthSchema } from '../../contracts/gen/kestrel/v1/venue_pb.js';
import { TickFlag, VENUE_IDS, type NormalizedTick, type VenueName } from '../../contracts/market.js';
import { subjects } from '../../contracts/subjects.js';
import { createLogger, type Logger } from '../../observability/logger.js';
import { counter, gauge } from '../../observability/metrics.js';
import {
  VenueParseError,
  type AdapterOptions,
  type AdapterStats,
  type MarketDataAdapter,
  type MarketDataEventKind,
  type SymbolMapping,
} from './adapter-types.js';
import { Backoff } from './backoff.js';

/**
 * Per-frame and per-tick counts accumulate in plain numbers per venue and are folded into the
 * Prometheus counters whenever one is read: prom-client's labelled inc() cost ~5% of a Binance frame.
 */
const pending: Record<VenueName, { messages: number; quotes: number; trades: number }> = {
  binance: { messages: 0, quotes: 0, trades: 0 },
  kraken: { messages: 0, quotes: 0, trades: 0 },
  okx: { messages: 0, quotes: 0, trades: 0 },
};
function flushPending(): void {
  for (const venue of Object.keys(pending) as VenueName[]) {
    const p = pending[venue];
    if (p.messages > 0) mMessages.inc({ venue }, p.messages);
    if (p.quotes > 0) mTicks.inc({ venue, kind: 'quote' }, p.quotes);
    if (p.trades > 0) mTicks.inc({ venue, kind: 'trade' }, p.trades);
    p.messages = p.quotes = p.trades = 0;
  }
}
const mMessages = counter('md_adapter_messages_total', 'Venue messages received', ['venue'], flushPending);
const mTicks = counter('md_adapter_ticks_total', 'Ticks delivered to the sink', ['venue', 'kind'], flushPending);
const mEvents = counter('md_adapter_events_total', 'Market data integrity events', ['venue', 'kind']);
const mReconnects = counter('md_adapter_reconnects_total', 'WebSocket reconnects', ['venue']);
const mConnected = gauge('md_adapter_connected', '1 while the public WebSocket is open', ['venue']);

export interface VenueDefaults {
  reconnect: AdapterOptions['reconnect'];
  /** Keepalive period: how often the adapter pings when the stream is quiet. */
  keepaliveMs: number;
}

export abstract class BaseAdapter implements MarketDataAdapter {
  protected readonly log: Logger;
  protected readonly clock: Clock;
  protected readonly bySymbol: ReadonlyMap<string, SymbolMapping>;
  protected ws: WebSocket | undefined;
  private readonly backoff: Backoff;
  private stopped = true;
  /** Set by stop(): the sink hears nothing more (frames fed directly before start() still count). */
  private closed = false;
  private connectedAtMs = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private lastSentMs = 0;
  private msgsInWindow = 0;
  private msgRate = 0;
  private readonly seq = new Map<string, bigint>();
  /** Highest venue trade id delivered per canonical symbol (kept across reconnects: ids never restart). */
  private readonly lastTradeId = new Map<string, bigint>();
  protected readonly s: AdapterStats;
  /** This venue's not yet folded Prometheus counts (shared by the venue's adapters). */
  private readonly counts: { messages: number; quotes: number; trades: number };
  /** A requested snapshot that has not arrived after this long is requested again. */
  protected readonly snapshotTimeoutMs: number;
  private readonly staleNs: bigint;
  private readonly skewNs: bigint;
  private readonly stallMs: number;
  protected http429 = 0;
  protected rateLimitRemaining = 0;
  private restRequests = 0;
  private restErrors = 0;
  private restLatencySumMs = 0;
  /** REST counters at the previous health publication (rates are per publication interval). */
  private restAtLastHealth: { n: number; ms: number; errors: number; atMs: number };

  /** Whole epoch ms of the injected clock (backoff, snapshot pacing, health rates). */
  protected nowMs(): number {
    return Number(this.clock.nowNs() / 1_000_000n);
  }

  constructor(
    readonly venue: VenueName,
    protected readonly opts: AdapterOptions,
    defaults: VenueDefaults,
  ) {
    if (opts.symbols.length === 0) throw new RangeError(`${venue} adapter needs at least one symbol`);
    this.log = createLogger(`md.${venue}`);
    this.counts = pending[venue];
    this.clock = opts.clock;
    this.restAtLastHealth = { n: 0, ms: 0, errors: 0, atMs: this.nowMs() };
    this.rateWindowStart = this.nowMs();
    this.bySymbol = new Map(opts.symbols.map((m) => [m.venueSymbol, m]));
    this.backoff = new Backoff({ ...defaults.reconnect, ...opts.reconnect });
    this.staleNs = BigInt(Math.round((opts.staleAfterMs ?? 2000) * 1e6));
    this.skewNs = BigInt(Math.round((opts.maxSkewMs ?? 1000) * 1e6));
    this.stallMs = opts.stallTimeoutMs ?? 10_000;
    this.snapshotTimeoutMs = Math.max(500, this.stallMs);
    this.keepaliveMs = Math.min(defaults.keepaliveMs, Math.max(50, Math.floor(this.stallMs / 2)));
    this.s = {
      venue,
      connected: false,
      messages: 0,
      ticks: 0,
      trades: 0,
      parseErrors: 0,
      gaps: 0,
      checksumFailures: 0,
      crossed: 0,
      replays: 0,
      stale: 0,
      skewed: 0,
      resyncs: 0,
      reconnects: 0,
      suppressed: 0,
      stalls: 0,
      connects: 0,
      lastMessageNs: 0n,
      lastHeartbeatNs: 0n,
    };
  }
  private readonly keepaliveMs: number;

  // ------------------------------------------------------------------------ venue hooks
  /** URL to connect to (Binance puts its stream list in the query string). */
  protected connectUrl(): string {
    return this.opts.url;
  }
  /** Send subscriptions; called on every open. */
  protected abstract onOpen(): void;
  /** Parse one text frame; throw VenueParseError for malformed input. */
  protected abstract onMessage(text: string, recvNs: bigint): void;
  /** The connection is gone: every book is now unsynced. */
  protected abstract onDisconnect(): void;
  /** Called from the watchdog: re-request snapshots that never arrived. */
  protected checkSync(_nowMs: number): void {}
  /** Application-level ping when the venue needs one (OKX 'ping', Kraken {"method":"ping"}). */
  protected keepalive(): void {
    this.ws?.ping();
  }

  // ------------------------------------------------------------------------ lifecycle
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.closed = false;
    const w = this.watchdogTick.bind(this);
    this.watchdog = setInterval(w, Math.max(25, Math.floor(Math.min(this.stallMs, this.keepaliveMs) / 4)));
    if (this.opts.bus) {
      this.healthTimer = setInterval(() => this.publishHealth(), this.opts.healthIntervalMs ?? 1000);
    }
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.healthTimer) clearInterval(this.healthTimer);
    const ws = this.ws;
    this.ws = undefined;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((r) => {
        ws.once('close', () => r());
        ws.terminate();
      });
    }
    this.setConnected(false);
    // Pending resync timers and books go with the connection; nothing may fire after stop().
    this.onDisconnect();
    this.closed = true;
  }

  stats(): AdapterStats {
    return { ...this.s };
  }

  /** Publishes VenueHealth once (also done every healthIntervalMs when a bus is configured). */
  publishHealth(): void {
    const bus = this.opts.bus;
    if (!bus) return;
    const nowMs = this.nowMs();
    const last = this.restAtLastHealth;
    const n = this.restRequests - last.n;
    const secs = Math.max(1e-3, (nowMs - last.atMs) / 1000);
    const h = create(VenueHealthSchema, {
      venue: this.venue,
      tsNs: this.clock.nowNs(),
      api: {
        requestsPerSecond: Math.round(n / secs),
        rateLimitRemaining: this.rateLimitRemaining,
        http429Count: this.http429,
        errorRate: n > 0 ? (this.restErrors - last.errors) / n : 0,
        avgLatencyMs: n > 0 ? (this.restLatencySumMs - last.ms) / n : 0,
      },
      publicWs: {
        connected: this.s.connected,
        reconnectCount: this.s.reconnects,
        lastHeartbeatNs: this.s.lastHeartbeatNs,
        messagesPerSecond: this.msgRate,
      },
      circuitBreakerOpen: false,
    });
    this.restAtLastHealth = { n: this.restRequests, ms: this.restLatencySumMs, errors: this.restErrors, atMs: nowMs };
    const bytes = toBinary(VenueHealthSchema, h);
    const ns = this.opts.namespace ?? 'live';
    bus.publish(subjects.venueHealth(this.venue, ns), bytes);
    bus.publish(subjects.mdHealth(this.venue, ns), bytes);
  }

  /** Accounts one REST call for VenueHealth.api (latency in ms; ok = a usable answer). */
  protected recordRest(latencyMs: number, ok: boolean): void {
    this.restRequests++;
    this.restLatencySumMs += latencyMs;
    if (!ok) this.restErrors++;
  }

  // ------------------------------------------------------------------------ connection
  private connect(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.stopped) return resolve();
      this.backoff.record(this.nowMs());
      this.s.connects++;
      const ws = new WebSocket(this.connectUrl(), { handshakeTimeout: 5000, maxPayload: 16 << 20 });
      this.ws = ws;
      let settled = false;
      const settle = () => {
        if (!settled) {
          settled = true;
          resolve();
        }
      };
      ws.on('open', () => {
        if (this.ws !== ws) return;
        this.connectedAtMs = this.nowMs();
        this.setConnected(true);
        this.s.lastMessageNs = this.clock.nowNs();
        this.lastAliveNs = this.s.lastMessageNs;
        try {
          this.onOpen();
        } catch (e) {
          this.log.error({ err: e }, 'subscribe failed');
        }
        settle();
      });
      ws.on('message', (data: RawData, isBinary: boolean) => {
        if (this.ws !== ws) return;
        this.handleRaw(data, isBinary);
      });
      ws.on('pong', () => {
        if (this.ws !== ws) return;
        // A pong proves the connection and the venue end are alive even when the market is quiet
        // (Binance sends nothing on an unchanged book), so it counts for the stall watchdog too.
        this.s.lastHeartbeatNs = this.clock.nowNs();
        this.lastAliveNs = this.s.lastHeartbeatNs;
      });
      ws.on('error', (err) => {
        this.log.warn({ err: err.message }, 'websocket error');
      });
      ws.on('close', () => {
        settle();
        if (this.ws !== ws) return;
        this.ws = undefined;
        this.setConnected(false);
        this.onDisconnect();
        if (this.stopped) return;
        this.emitEvent('disconnect', '', 'public websocket closed');
        // A connection that stayed up a while was healthy: start the backoff from scratch.
        if (this.connectedAtMs > 0 && this.nowMs() - this.connectedAtMs >= 3000) this.backoff.reset();
        this.connectedAtMs = 0;
        this.scheduleReconnect();
      });
    });
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    const delay = this.backoff.nextDelayMs(this.nowMs());
    this.s.reconnects++;
    mReconnects.inc({ venue: this.venue });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, delay);
  }

  /** Drops the connection on purpose (stall, unrecoverable state); the close handler reconnects. */
  protected forceReconnect(reason: string): void {
    this.log.warn({ reason }, 'forcing reconnect');
    this.ws?.terminate();
  }

  private watchdogTick(): void {
    if (!this.s.connected || !this.ws) return;
    const now = this.clock.nowNs();
    const idleMs = Number(now - this.lastAliveNs) / 1e6;
    if (idleMs > this.stallMs) {
      this.s.stalls++;
      this.emitEvent('stale', '', `stream stalled: no message for ${Math.round(idleMs)} ms`);
      this.forceReconnect('stall');
      return;
    }
    const nowMs = this.nowMs();
    this.checkSync(nowMs);
    if (idleMs > this.keepaliveMs && nowMs - this.lastSentMs > this.keepaliveMs) {
      this.lastSentMs = nowMs;
      try {
        this.keepalive();
      } catch {
        // socket closing; the close handler takes over
      }
    }
    // Messages per second over the last watchdog second.
    if (nowMs - this.rateWindowStart >= 1000) {
      this.msgRate = Math.round((this.msgsInWindow * 1000) / (nowMs - this.rateWindowStart));
      this.msgsInWindow = 0;
      this.rateWindowStart = nowMs;
    }
  }
  private rateWindowStart = 0;
  /** Last frame or pong: what the stall watchdog measures silence from. */
  private lastAliveNs = 0n;

  protected sendJson(v: unknown): void {
    this.sendText(JSON.stringify(v));
  }

  protected sendText(t: string): void {
    if (this.ws?.readyState === WebSocket.OPEN) {
      this.ws.send(t);
      this.lastSentMs = this.nowMs();
    }
  }

  private setConnected(c: boolean): void {
    this.s.connected = c;
    mConnected.set({ venue: this.venue }, c ? 1 : 0);
  }

  /** Entry point for every frame (public so benchmarks and fuzz tests can drive the parser directly). */
  handleRaw(data: RawData | string, isBinary = false): void {
    if (this.closed) return;
    const recvNs = this.clock.nowNs();
    this.s.messages++;
    this.msgsInWindow++;
    this.s.lastMessageNs = recvNs;
    this.lastAliveNs = recvNs;
    this.counts.messages++;
    let text: string;
    if (typeof data === 'string') text = data;
    else if (isBinary) {
      this.parseFailed(new VenueParseError(this.venue, 'unexpected binary frame', ''));
      return;
    } else if (Buffer.isBuffer(data))
      text = data.toString('utf8'); // ws's usual case: no copy
    else text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
    try {
      this.onMessage(text, recvNs);
    } catch (e) {
      if (e instanceof VenueParseError) this.parseFailed(e);
      else
        this.parseFailed(
          new VenueParseError(this.venue, `unexpected message: ${e instanceof Error ? e.message : String(e)}`, text.slice(0, 200)),
        );
    }
  }

  private parseFailed(e: VenueParseError): void {
    this.s.parseErrors++;
    this.emitEvent('parse', '', e.reason);
    this.log.warn({ reason: e.reason, raw: e.raw.slice(0, 200) }, 'venue message rejected');
  }

  // ------------------------------------------------------------------------ output
  protected mapping(venueSymbol: string): SymbolMapping | undefined {
    return this.bySymbol.get(venueSymbol);
  }

  private nextSeq(symbol: string): bigint {
    const n = (this.seq.get(symbol) ?? 0n) + 1n;
    this.seq.set(symbol, n);
    return n;
  }

  /**
   * Delivers a top-of-book tick. Returns false (and reports) when the quote is crossed: such a tick
   * is never delivered, and the caller resyncs its book.
   */
  protected emitQuote(
    m: SymbolMapping,
    exchTsNs: bigint,
    recvTsNs: bigint,
    bid: number,
    bidSize: number,
    ask: number,
    askSize: number,
    flags: number,
  ): boolean {
    if (bid > 0 && ask > 0 && bid >= ask) {
      this.s.crossed++;
      this.emitEvent('crossed', m.symbol, `bid ${bid} >= ask ${ask}`);
      return false;
    }
    this.deliver(m, exchTsNs, recvTsNs, flags, bid, bidSize, ask, askSize, 0, 0, 0);
    return true;
  }

  /**
   * Delivers a trade. `tradeId` is the venue's per-instrument trade id, which every venue here
   * assigns in increasing order: a trade whose id is not above the last delivered one is a duplicate
   * or a replay (reconnect overlap, a venue resend), and delivering it would count its volume twice.
   */
  protected emitTrade(
    m: SymbolMapping,
    exchTsNs: bigint,
    recvTsNs: bigint,
    px: number,
    qty: number,
    aggressor: -1 | 1,
    tradeId: bigint,
    flags = 0,
  ): void {
    const last = this.lastTradeId.get(m.symbol);
    if (last !== undefined && tradeId <= last) {
      this.s.replays++;
      this.emitEvent('duplicate', m.symbol, `trade id ${tradeId} not after last delivered ${last}`, last + 1n, tradeId);
      return;
    }
    this.lastTradeId.set(m.symbol, tradeId);
    this.s.trades++;
    this.deliver(m, exchTsNs, recvTsNs, flags | TickFlag.TRADE, 0, 0, 0, 0, px, qty, aggressor);
  }

  /**
   * The exchange timestamp is plausible against our receive time (neither stale nor skewed): only such
   * timestamps may be used to order messages (a faulty or faked one would make the genuine ones
   * after it look out of order).
   */
  protected timestampTrusted(exchTsNs: bigint, recvTsNs: bigint): boolean {
    const lag = recvTsNs - exchTsNs;
    return exchTsNs > 0n && lag <= this.staleNs && -lag <= this.skewNs;
  }

  private deliver(
    m: SymbolMapping,
    exchTsNs: bigint,
    recvTsNs: bigint,
    flags: number,
    bid: number,
    bidSize: number,
    ask: number,
    askSize: number,
    lastPx: number,
    lastQty: number,
    aggressor: -1 | 0 | 1,
  ): void {
    if (this.closed) return;
    const lag = recvTsNs - exchTsNs;
    if (exchTsNs > 0n) {
      if (lag > this.staleNs) {
        flags |= TickFlag.STALE;
        this.s.stale++;
        this.emitEvent('stale', m.symbol, `exchange timestamp ${Number(lag) / 1e6} ms behind receive time`);
      } else if (-lag > this.skewNs) {
        flags |= TickFlag.SKEW;
        this.s.skewed++;
        this.emitEvent('skew', m.symbol, `exchange timestamp ${Number(-lag) / 1e6} ms ahead of receive time`);
      }
    }
    const tick: NormalizedTick = {
      exchTsNs,
      recvTsNs,
      venueId: VENUE_IDS[this.venue],
      symbolId: m.symbolId,
      venue: this.venue,
      symbol: m.symbol,
      bid,
      ask,
      bidSize,
      askSize,
      sequence: this.nextSeq(m.symbol),
      flags,
      lastPx,
      lastQty,
      aggressor,
    };
    this.s.ticks++;
    if (flags & TickFlag.TRADE) this.counts.trades++;
    else this.counts.quotes++;
    try {
      this.opts.sink.onTick(tick);
    } catch (e) {
      this.log.error({ err: e }, 'sink.onTick threw');
    }
  }

  protected emitEvent(kind: MarketDataEventKind, symbol: string, detail: string, expected = 0n, received = 0n): void {
    if (this.closed) return;
    mEvents.inc({ venue: this.venue, kind });
    const onEvent = this.opts.sink.onEvent;
    if (!onEvent) return;
    const ev: MarketDataEvent = create(MarketDataEventSchema, {
      venue: this.venue,
      symbol,
      kind,
      detail,
      expectedSequence: expected < 0n ? 0n : expected,
      receivedSequence: received < 0n ? 0n : received,
      tsNs: this.clock.nowNs(),
    });
    try {
      onEvent.call(this.opts.sink, ev);
    } catch (e) {
      this.log.error({ err: e }, 'sink.onEvent threw');
    }
  }
}

/** 10^k for k = 0..22: every one is exact in a double. */
const POW10 = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/**
 * Venues send decimals as plain digit strings ("60123.40"); `Number()` would also accept "1e3",
 * "0x10", " 5 ", "Infinity" and turn "" into 0, so a string must have exactly the shape
 * `^\d{1,20}(?:\.\d{1,20})?$`. Checked and converted in one pass over the char codes (no RegExp, no
 * second scan by Number): with at most 15 digits in all the digits form an exact integer m < 2^53 and
 * m / 10^k (k ≤ 20 fraction digits, 10^k exact) is one correctly rounded division, i.e. bit for bit
 * what `Number(s)` returns; longer strings take `Number(s)` after the shape check. NaN when malformed.
 */
export function parseDecimal(s: string): number {
  const n = s.length;
  let m = 0;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    m = m * 10 + c;
  }
  const intDigits = i;
  if (intDigits === 0 || intDigits > 20) return NaN;
  if (i === n) return intDigits <= 15 ? m : Number(s);
  if (s.charCodeAt(i) !== 46 /* . */) return NaN;
  i++;
  const fracStart = i;
  for (; i < n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return NaN;
    m = m * 10 + c;
  }
  const fracDigits = n - fracStart;
  if (fracDigits === 0 || fracDigits > 20) return NaN;
  return intDigits + fracDigits <= 15 ? m / POW10[fracDigits]! : Number(s);
}

/**
 * Strict number parse for venue strings/numbers: anything but a plain non-negative decimal (NaN,
 * Infinity, negatives, exponents, hex, padding, empty) is a typed parse error, never a NaN in a book.
 */
export function num(venue: VenueName, v: unknown, what: string): number {
  const n = typeof v === 'string' ? parseDecimal(v) : typeof v === 'number' ? v : NaN;
  if (!(n >= 0) || n === Infinity) throw new VenueParseError(venue, `bad ${what}: ${JSON.stringify(v)?.slice(0, 60)}`, '');
  return n;
}

/** A venue trade id: a non-negative safe integer, or a digit string (OKX) of up to 20 digits. */
export function tradeId(venue: VenueName, v: unknown): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return BigInt(v);
  throw new VenueParseError(venue, `bad trade id: ${JSON.stringify(v)?.slice(0, 60)}`, '');
}

/** `num` for a quantity or price that must be strictly positive (a trade of size 0 is not a trade). */
export function positiveNum(venue: VenueName, v: unknown, what: string): number {
  const n = num(venue, v, what);
  if (n === 0) throw new VenueParseError(venue, `${what} is zero`, '');
  return n;
}
