/**
 * Kraken WS v2 public simulator: `book` (depth 10, CRC32 checksums) replaying the real BTC/USD
 * capture, `trade` subscriptions acknowledged (the capture holds no trades), `heartbeat` every second,
 * `status` on connect, and `ping`/`pong`.
 */
import { OrderBook } from '../../common/book.js';
import type { Clock } from '../../../clock/clock.js';
import type { FaultKind } from '../../../simulators/common/faults.js';
import { VenueSimulator, type SimClient } from '../../../simulators/common/simulator.js';
import { krakenBookCrc } from '../../../simulators/common/venue-checksums.js';
import {
  loadKrakenBookCapture,
  rfc3339ToNs,
  type KrakenBookCapture,
  type KrakenBookData,
  type KrakenLevel,
} from '../../../simulators/recordings.js';

type KrakenEvent = KrakenBookData;

export class KrakenSimulator extends VenueSimulator<KrakenEvent> {
  protected readonly wsPath = '/v2';
  protected readonly supportedFaults: readonly FaultKind[] = ['drop', 'gap', 'badChecksum', 'crossed', 'stale', 'skew', 'slow', 'stall'];
  private readonly book = new OrderBook();
  private lastTsNs = 0n;

  private constructor(
    private readonly capture: KrakenBookCapture,
    opts: { clock?: Clock; port?: number },
  ) {
    super('kraken', opts);
    const snap = capture.snapshot.message.data[0]!;
    applyLevels(this.book, snap, capture.depth);
  }

  static async create(opts: { clock?: Clock; port?: number; capture?: KrakenBookCapture } = {}): Promise<KrakenSimulator> {
    const capture = opts.capture ?? (await loadKrakenBookCapture());
    return new KrakenSimulator(capture, opts).listen();
  }

  get symbol(): string {
    return this.capture.symbol;
  }

  /** The venue's own current book (tests compare the adapter's rebuilt book with it). */
  currentBook(): OrderBook {
    return this.book.clone();
  }

  protected *timeline(): Iterable<{ atNs: bigint; event: KrakenEvent }> {
    for (const u of this.capture.updates) yield { atNs: u.exchNs, event: u.message.data[0]! };
  }

  protected onEvent(d: KrakenEvent): void {
    applyLevels(this.book, d, this.capture.depth);
    const recTs = d.timestamp !== undefined ? rfc3339ToNs(d.timestamp) : this.lastTsNs;
    const sub = `book:${d.symbol}`;
    if (![...this.clients].some((c) => c.subs.has(sub))) return;
    if (this.takeFault('gap')) return; // clients miss this update; venue state moved on
    const bad = this.takeFault('badChecksum');
    const crossed = this.takeFault('crossed');
    const tsNs = this.rebase(recTs) + this.takeTimeOffsetNs();
    this.lastTsNs = recTs;
    let bids = d.bids;
    let checksum = d.checksum;
    if (crossed) {
      // A consistent but crossed book: one bid above the best ask, with a checksum that matches it.
      const view = this.book.clone();
      const bestAsk = view.asks.best()!.px;
      const px = Math.round((bestAsk + 0.5) * 10) / 10;
      bids = [...d.bids, { price: px, qty: 1 }];
      view.bids.set(px, 1, String(px), '1');
      view.bids.truncate(this.capture.depth);
      checksum = this.bookCrc(view);
    }
    if (bad) checksum = (checksum ^ 0x5a5a5a5a) >>> 0;
    const msg = JSON.stringify({
      channel: 'book',
      type: 'update',
      data: [{ symbol: d.symbol, bids, asks: d.asks, checksum, timestamp: nsToRfc3339(tsNs) }],
    });
    this.broadcast(sub, msg);
  }

  protected override heartbeat(): void {
    for (const c of this.clients) if (c.subs.size > 0) this.send(c, '{"channel":"heartbeat"}');
  }

  protected override onClientOpen(client: SimClient): void {
    this.send(
      client,
      JSON.stringify({
        channel: 'status',
        type: 'update',
        data: [{ api_version: 'v2', connection_id: client.id, system: 'online', version: '2.0.9' }],
      }),
    );
  }

  protected onClientMessage(client: SimClient, text: string): void {
    const m = JSON.parse(text) as {
      method?: string;
      req_id?: number;
      params?: { channel?: string; symbol?: string[]; depth?: number; snapshot?: boolean };
    };
    const timeIn = new Date(this.nowMs()).toISOString();
    const ack = (result: Record<string, unknown>, ok: boolean, error?: string) =>
      JSON.stringify({
        method: m.method,
        ...(ok ? { result } : { error }),
        success: ok,
        time_in: timeIn,
        time_out: new Date(this.nowMs()).toISOString(),
        ...(m.req_id !== undefined ? { req_id: m.req_id } : {}),
      });
    if (m.method === 'ping') {
      this.send(
        client,
        JSON.stringify({ method: 'pong', ...(m.req_id !== undefined ? { req_id: m.req_id } : {}), time_in: timeIn, time_out: timeIn }),
      );
      return;
    }
    if (m.method !== 'subscribe' && m.method !== 'unsubscribe') {
      this.send(
        client,
        JSON.stringify({ error: `Unsupported method: ${String(m.method)}`, success: false, time_in: timeIn, time_out: timeIn }),
      );
      return;
    }
    const channel = m.params?.channel;
    const symbols = m.params?.symbol ?? [];
    for (const symbol of symbols) {
      if (channel === 'book') {
        const depth = m.params?.depth ?? 10;
        if (symbol !== this.capture.symbol || depth !== this.capture.depth) {
          this.send(client, ack({}, false, `Currency pair not supported ${symbol} depth ${depth}`));
          continue;
        }
        if (m.method === 'unsubscribe') {
          client.subs.delete(`book:${symbol}`);
          this.send(client, ack({ channel, depth, symbol }, true));
          continue;
        }
        client.subs.add(`book:${symbol}`);
        this.send(client, ack({ channel, depth, snapshot: true, symbol }, true));
        this.send(client, this.snapshotMessage(symbol));
        this.markSubscribed();
      } else if (channel === 'trade') {
        if (m.method === 'unsubscribe') client.subs.delete(`trade:${symbol}`);
        else client.subs.add(`trade:${symbol}`);
        this.send(client, ack({ channel, symbol, snapshot: false }, true));
      } else {
        this.send(client, ack({}, false, `Channel not supported: ${String(channel)}`));
      }
    }
  }

  /** The venue's checksum of a book, by the simulator's independent implementation. */
  private bookCrc(book: OrderBook): number {
    const lv = (side: typeof book.bids) => side.top(10).map((l) => [l.px, l.qty] as const);
    return krakenBookCrc(lv(book.asks), lv(book.bids), this.capture.pricePrecision, this.capture.qtyPrecision);
  }

  private snapshotMessage(symbol: string): string {
    const lv = (side: typeof this.book.bids): KrakenLevel[] => side.top().map((l) => ({ price: l.px, qty: l.qty }));
    return JSON.stringify({
      channel: 'book',
      type: 'snapshot',
      data: [{ symbol, bids: lv(this.book.bids), asks: lv(this.book.asks), checksum: this.bookCrc(this.book) }],
    });
  }
}

function applyLevels(book: OrderBook, d: KrakenBookData, depth: number): void {
  for (const l of d.bids) book.bids.set(l.price, l.qty, String(l.price), String(l.qty));
  for (const l of d.asks) book.asks.set(l.price, l.qty, String(l.price), String(l.qty));
  book.bids.truncate(depth);
  book.asks.truncate(depth);
}

/** Kraken formats timestamps with microseconds. */
export function nsToRfc3339(ns: bigint): string {
  const sec = ns / 1_000_000_000n;
  const us = (ns % 1_000_000_000n) / 1000n;
  return new Date(Number(sec) * 1000).toISOString().replace(/\.\d{3}Z$/, `.${us.toString().padStart(6, '0')}Z`);
}
