/**
 * OKX v5 public simulator (`/ws/v5/public`): `books` with seqId/prevSeqId and the CRC32 checksum,
 * `trades`, `tickers`, `ping`/`pong`, and REST `GET /api/v5/market/books`, replaying the real
 * 2022-05-13 recording (BTC-USDT, BTC-USD-220527, UNI-USD-SWAP).
 *
 * The recording predates seqId, so the simulator numbers book messages itself (each update's
 * prevSeqId = the previous message's seqId), as OKX does today. Two protocol generations:
 * - `legacy` (default): the WS subscription starts with a snapshot and every message has a checksum.
 * - `seqid-only`: OKX after the 2026 deprecation: checksum 0, no WS snapshot; clients take the
 *   snapshot from REST, which carries the seqId it corresponds to.
 */
import { OrderBook, type BookSide } from '../../common/book.js';
import type { Clock } from '../../../clock/clock.js';
import type { FaultKind } from '../../../simulators/common/faults.js';
import { VenueSimulator, type RestResponse, type SimClient } from '../../../simulators/common/simulator.js';
import { okxBookCrc } from '../../../simulators/common/venue-checksums.js';
import { loadOkxRecording, type OkxBookData, type OkxLevel, type OkxRecord } from '../../../simulators/recordings.js';

export type OkxProtocol = 'legacy' | 'seqid-only';

interface InstState {
  book: OrderBook;
  ready: boolean;
  seqId: number;
  tsMs: string;
}

export class OkxSimulator extends VenueSimulator<OkxRecord> {
  protected readonly wsPath = '/ws/v5/public';
  protected readonly supportedFaults: readonly FaultKind[];
  private readonly insts = new Map<string, InstState>();

  private constructor(
    private readonly records: OkxRecord[],
    readonly protocol: OkxProtocol,
    opts: { clock?: Clock; port?: number },
  ) {
    super('okx', opts);
    this.supportedFaults =
      protocol === 'legacy'
        ? ['drop', 'gap', 'badChecksum', 'crossed', 'stale', 'skew', 'slow', 'stall']
        : ['drop', 'gap', 'crossed', 'stale', 'skew', 'slow', 'stall'];
  }

  static async create(opts: { clock?: Clock; port?: number; protocol?: OkxProtocol; records?: OkxRecord[] } = {}): Promise<OkxSimulator> {
    const records = opts.records ?? (await loadOkxRecording());
    return new OkxSimulator(records, opts.protocol ?? 'legacy', opts).listen();
  }

  currentBook(instId: string): { book: OrderBook; seqId: number } | undefined {
    const s = this.insts.get(instId);
    return s?.ready ? { book: s.book.clone(), seqId: s.seqId } : undefined;
  }

  protected *timeline(): Iterable<{ atNs: bigint; event: OkxRecord }> {
    for (const r of this.records) yield { atNs: r.recvNs, event: r };
  }

  private inst(instId: string): InstState {
    let s = this.insts.get(instId);
    if (!s) {
      // Arbitrary but realistic-looking starting seqId per instrument.
      s = { book: new OrderBook(), ready: false, seqId: 1_000_000 + this.insts.size * 100_000, tsMs: '0' };
      this.insts.set(instId, s);
    }
    return s;
  }

  protected onEvent(r: OkxRecord): void {
    if (r.kind === 'books') return this.onBooks(r.instId, r.action, r.data);
    const sub = `${r.kind}:${r.instId}`;
    if (!this.hasSub(sub)) return;
    if (r.kind === 'trades') {
      const ts = this.tsMs(r.data.ts);
      this.broadcast(sub, JSON.stringify({ arg: r.arg, data: [{ ...r.data, ts }] }));
    } else {
      const ts = this.tsMs(r.data.ts);
      this.broadcast(sub, JSON.stringify({ arg: r.arg, data: [{ ...r.data, ts }] }));
    }
  }

  private onBooks(instId: string, action: 'snapshot' | 'update', d: OkxBookData): void {
    const st = this.inst(instId);
    const sub = `books:${instId}`;
    if (action === 'snapshot') {
      st.book.clear();
      apply(st.book, d);
      st.ready = true;
      st.tsMs = d.ts;
      // Clients that subscribed before the venue had a book get their snapshot now.
      for (const c of this.clients) if (c.subs.has(sub)) this.sendSnapshot(c, instId);
      return;
    }
    if (!st.ready) return;
    apply(st.book, d);
    const prevSeqId = st.seqId;
    st.seqId++;
    st.tsMs = d.ts;
    if (!this.hasSub(sub)) return;
    if (this.takeFault('gap')) return;
    let bids = d.bids;
    let checksum = this.protocol === 'legacy' ? (d.checksum ?? 0) : 0;
    if (this.takeFault('crossed')) {
      const view = st.book.clone();
      const ask = view.asks.best();
      if (ask) {
        const px = bumpPrice(ask.pxStr);
        bids = [...d.bids, [px, '1', '0', '1']];
        view.bids.set(Number(px), 1, px, '1');
        if (this.protocol === 'legacy') checksum = bookCrc(view);
      }
    }
    if (this.protocol === 'legacy' && this.takeFault('badChecksum')) checksum = (checksum + 1) | 0;
    const msg = {
      arg: { channel: 'books', instId },
      action: 'update',
      data: [{ asks: d.asks, bids, ts: this.tsMs(d.ts), checksum, prevSeqId, seqId: st.seqId }],
    };
    this.broadcast(sub, JSON.stringify(msg));
  }

  private tsMs(ts: string): string {
    const off = this.takeTimeOffsetNs();
    return String((this.rebase(BigInt(ts) * 1_000_000n) + off) / 1_000_000n);
  }

  private hasSub(sub: string): boolean {
    for (const c of this.clients) if (c.subs.has(sub)) return true;
    return false;
  }

  private snapshotData(
    st: InstState,
    depth = 400,
  ): { asks: OkxLevel[]; bids: OkxLevel[]; ts: string; checksum: number; prevSeqId: number; seqId: number } {
    const lv = (side: BookSide): OkxLevel[] => side.top(depth).map((l) => [l.pxStr, l.qtyStr, '0', '1']);
    return {
      asks: lv(st.book.asks),
      bids: lv(st.book.bids),
      ts: String(this.clock.nowNs() / 1_000_000n),
      checksum: this.protocol === 'legacy' ? bookCrc(st.book) : 0,
      prevSeqId: -1,
      seqId: st.seqId,
    };
  }

  private sendSnapshot(c: SimClient, instId: string): void {
    const st = this.insts.get(instId);
    if (!st?.ready || this.protocol !== 'legacy') return;
    this.send(c, JSON.stringify({ arg: { channel: 'books', instId }, action: 'snapshot', data: [this.snapshotData(st)] }));
  }

  protected onClientMessage(client: SimClient, text: string): void {
    if (text === 'ping') {
      this.send(client, 'pong');
      return;
    }
    const m = JSON.parse(text) as { op?: string; args?: Array<{ channel?: string; instId?: string }>; id?: string };
    if (m.op !== 'subscribe' && m.op !== 'unsubscribe') {
      this.send(
        client,
        JSON.stringify({ event: 'error', code: '60012', msg: `Invalid request: ${text.slice(0, 100)}`, connId: String(client.id) }),
      );
      return;
    }
    for (const a of m.args ?? []) {
      const channel = a.channel;
      const instId = a.instId;
      if (typeof instId !== 'string' || (channel !== 'books' && channel !== 'trades' && channel !== 'tickers')) {
        this.send(
          client,
          JSON.stringify({
            event: 'error',
            code: '60018',
            msg: `Wrong URL or channel:${String(channel)},instId:${String(instId)} doesn't exist`,
            connId: String(client.id),
          }),
        );
        continue;
      }
      const sub = `${channel}:${instId}`;
      if (m.op === 'unsubscribe') {
        client.subs.delete(sub);
        this.send(client, JSON.stringify({ event: 'unsubscribe', arg: { channel, instId }, connId: String(client.id) }));
        continue;
      }
      client.subs.add(sub);
      this.send(client, JSON.stringify({ event: 'subscribe', arg: { channel, instId }, connId: String(client.id) }));
      if (channel === 'books') this.sendSnapshot(client, instId);
      this.markSubscribed();
    }
  }

  protected override onRest(method: string, url: URL): RestResponse | undefined {
    if (method !== 'GET' || url.pathname !== '/api/v5/market/books') return undefined;
    const instId = url.searchParams.get('instId') ?? '';
    const st = this.insts.get(instId);
    if (!st?.ready) return { status: 200, body: { code: '51001', msg: `Instrument ID ${instId} does not exist`, data: [] } };
    const sz = Math.min(400, Math.max(1, Number(url.searchParams.get('sz') ?? 1) || 1));
    const { checksum: _c, prevSeqId: _p, ...snap } = this.snapshotData(st, sz);
    return { status: 200, body: { code: '0', msg: '', data: [snap] } };
  }
}

/** The venue's checksum of its own book, by the simulator's independent implementation. */
function bookCrc(book: OrderBook): number {
  const strs = (side: BookSide) => side.top(25).map((l) => [l.pxStr, l.qtyStr] as const);
  return okxBookCrc(strs(book.bids), strs(book.asks));
}

function apply(book: OrderBook, d: OkxBookData): void {
  for (const [p, s] of d.bids) book.bids.set(Number(p), Number(s), p, s);
  for (const [p, s] of d.asks) book.asks.set(Number(p), Number(s), p, s);
}

/** A price one tick above `px`, in the same decimal format. */
function bumpPrice(px: string): string {
  const dot = px.indexOf('.');
  const dec = dot < 0 ? 0 : px.length - dot - 1;
  return (Number(px) + 10 ** -dec).toFixed(dec);
}
