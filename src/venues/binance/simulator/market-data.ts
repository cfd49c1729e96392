/**
 * Binance spot public simulator: combined streams (`/stream?streams=btcusdt@depth@100ms/...`, and
 * SUBSCRIBE/UNSUBSCRIBE requests) replaying the real 346 s BTCUSDT capture (diff depth with U/u,
 * bookTicker, trade), and REST `GET /api/v3/depth` serving the venue's current book with its
 * `lastUpdateId`, request weight accounting (`x-mbx-used-weight-1m`) and HTTP 429 past the limit.
 *
 * Before the replay reaches the capture's own REST snapshot line, the REST endpoint returns that
 * recorded snapshot (it was taken a few hundred ms into the capture): exactly what a client that
 * asked then would have received, so the U/u handshake is exercised on real ids.
 */
import { OrderBook } from '../../common/book.js';
import type { Clock } from '../../../clock/clock.js';
import type { FaultKind } from '../../../simulators/common/faults.js';
import { VenueSimulator, type RestResponse, type SimClient } from '../../../simulators/common/simulator.js';
import {
  binanceCapture,
  type BinanceDepthSnapshot,
  type BinanceDepthUpdate,
  type BinanceLevel,
  type BinanceRecord,
} from '../../../simulators/recordings.js';

/** Spot REST request weight limit per minute. */
export const BINANCE_WEIGHT_LIMIT_1M = 6000;

export class BinanceSimulator extends VenueSimulator<BinanceRecord> {
  protected readonly wsPath = '/stream';
  protected readonly supportedFaults: readonly FaultKind[] = ['drop', 'gap', 'crossed', 'stale', 'skew', 'slow', 'stall'];
  private readonly book = new OrderBook();
  private lastUpdateId = 0;
  private live = false;
  private preSnapshot: BinanceDepthUpdate[] = [];
  private weightWindowStart = this.nowMs();
  private weightUsed = 0;
  /** Connection attempts per 5 minutes Binance allows per IP (tests assert adapters stay below). */
  static readonly CONNECTIONS_PER_5MIN = 300;

  private constructor(
    private readonly file: string | undefined,
    private readonly recordedSnapshot: BinanceDepthSnapshot,
    readonly symbol: string,
    opts: { clock?: Clock; port?: number },
  ) {
    super('binance', opts);
  }

  static async create(opts: { clock?: Clock; port?: number; file?: string } = {}): Promise<BinanceSimulator> {
    // The capture's REST snapshot sits near its start; find it without reading the whole file.
    let snap: BinanceDepthSnapshot | undefined;
    let symbol = 'BTCUSDT';
    let n = 0;
    for await (const r of binanceCapture(opts.file)) {
      if (r.kind === 'snapshot') {
        snap = r.data;
        break;
      }
      symbol = r.data.s;
      if (++n > 10_000) break;
    }
    if (snap === undefined) throw new Error('binance capture holds no REST depth snapshot');
    return new BinanceSimulator(opts.file, snap, symbol, opts).listen();
  }

  /** The venue's current book and last update id. */
  currentBook(): { book: OrderBook; lastUpdateId: number } {
    return { book: this.book.clone(), lastUpdateId: this.lastUpdateId };
  }

  protected async *timeline(): AsyncIterable<{ atNs: bigint; event: BinanceRecord }> {
    for await (const r of binanceCapture(this.file)) yield { atNs: r.recvNs, event: r };
  }

  protected onEvent(r: BinanceRecord): void {
    switch (r.kind) {
      case 'snapshot':
        this.book.clear();
        for (const [p, q] of r.data.bids) this.book.bids.set(Number(p), Number(q), p, q);
        for (const [p, q] of r.data.asks) this.book.asks.set(Number(p), Number(q), p, q);
        this.lastUpdateId = r.data.lastUpdateId;
        this.live = true;
        // The venue's own book follows the same handshake as a client: diffs that arrived before the
        // snapshot and end after it still apply (the capture's first one straddles lastUpdateId).
        for (const d of this.preSnapshot) if (d.u > this.lastUpdateId) this.applyDiff(d);
        this.preSnapshot = [];
        return;
      case 'depth': {
        const d = r.data;
        if (!this.live) this.preSnapshot.push(d);
        else if (d.u > this.lastUpdateId) this.applyDiff(d);
        if (!this.hasSubscriber(r.stream)) return;
        if (this.takeFault('gap')) return;
        let b: BinanceLevel[] = d.b;
        if (this.takeFault('crossed')) {
          const bestAsk = this.book.asks.best();
          if (bestAsk) b = [...d.b, [(bestAsk.px + 0.01).toFixed(8), '1.00000000']];
        }
        const E = this.rebaseMs(d.E);
        this.broadcast(r.stream, JSON.stringify({ stream: r.stream, data: { ...d, E, b } }));
        return;
      }
      case 'bookTicker':
        this.broadcast(r.stream, JSON.stringify({ stream: r.stream, data: r.data }));
        return;
      case 'trade': {
        if (!this.hasSubscriber(r.stream)) return;
        const off = this.takeTimeOffsetNs();
        const E = this.rebaseMs(r.data.E, off);
        const T = this.rebaseMs(r.data.T, off);
        this.broadcast(r.stream, JSON.stringify({ stream: r.stream, data: { ...r.data, E, T } }));
        return;
      }
    }
  }

  private applyDiff(d: BinanceDepthUpdate): void {
    for (const [p, q] of d.b) this.book.bids.set(Number(p), Number(q), p, q);
    for (const [p, q] of d.a) this.book.asks.set(Number(p), Number(q), p, q);
    this.lastUpdateId = d.u;
  }

  private rebaseMs(ms: number, offsetNs?: bigint): number {
    const off = offsetNs ?? this.takeTimeOffsetNs();
    return Number((this.rebase(BigInt(ms) * 1_000_000n) + off) / 1_000_000n);
  }

  private hasSubscriber(stream: string): boolean {
    for (const c of this.clients) if (c.subs.has(stream)) return true;
    return false;
  }

  protected override onClientOpen(client: SimClient, url: URL): void {
    const streams = url.searchParams.get('streams');
    if (streams) {
      for (const s of streams.split('/')) if (s.length > 0) client.subs.add(s);
      this.markSubscribed();
    }
  }

  protected onClientMessage(client: SimClient, text: string): void {
    const m = JSON.parse(text) as { method?: string; params?: unknown; id?: unknown };
    const params = Array.isArray(m.params) ? (m.params as unknown[]).filter((p): p is string => typeof p === 'string') : [];
    if (m.method === 'SUBSCRIBE') {
      for (const p of params) client.subs.add(p);
      this.send(client, JSON.stringify({ result: null, id: m.id ?? null }));
      this.markSubscribed();
    } else if (m.method === 'UNSUBSCRIBE') {
      for (const p of params) client.subs.delete(p);
      this.send(client, JSON.stringify({ result: null, id: m.id ?? null }));
    } else if (m.method === 'LIST_SUBSCRIPTIONS') {
      this.send(client, JSON.stringify({ result: [...client.subs], id: m.id ?? null }));
    } else {
      this.send(
        client,
        JSON.stringify({ error: { code: 2, msg: `Invalid request: unknown method ${String(m.method)}` }, id: m.id ?? null }),
      );
    }
  }

  protected override onRest(method: string, url: URL): RestResponse | undefined {
    if (method !== 'GET' || url.pathname !== '/api/v3/depth') return undefined;
    const now = this.nowMs();
    if (now - this.weightWindowStart >= 60_000) {
      this.weightWindowStart = now;
      this.weightUsed = 0;
    }
    const limit = Math.min(5000, Math.max(1, Number(url.searchParams.get('limit') ?? 100) || 100));
    const weight = limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250;
    const headers = (): Record<string, string> => ({ 'x-mbx-used-weight-1m': String(this.weightUsed) });
    if (this.weightUsed + weight > BINANCE_WEIGHT_LIMIT_1M) {
      return {
        status: 429,
        body: { code: -1003, msg: 'Too much request weight used' },
        headers: { ...headers(), 'retry-after': String(Math.ceil((this.weightWindowStart + 60_000 - now) / 1000)) },
      };
    }
    this.weightUsed += weight;
    if (url.searchParams.get('symbol') !== this.symbol)
      return { status: 400, body: { code: -1121, msg: 'Invalid symbol.' }, headers: headers() };
    if (!this.live) {
      const s = this.recordedSnapshot;
      return {
        status: 200,
        body: { lastUpdateId: s.lastUpdateId, bids: s.bids.slice(0, limit), asks: s.asks.slice(0, limit) },
        headers: headers(),
      };
    }
    const lv = (side: OrderBook['bids']): BinanceLevel[] => side.top(limit).map((l) => [l.pxStr, l.qtyStr]);
    return {
      status: 200,
      body: { lastUpdateId: this.lastUpdateId, bids: lv(this.book.bids), asks: lv(this.book.asks) },
      headers: headers(),
    };
  }
}
