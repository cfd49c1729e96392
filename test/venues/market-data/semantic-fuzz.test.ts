/**
 * Well-formed but wrong input, per venue, on a book synced from the real captures: duplicated,
 * replayed, reordered and stale-sequenced updates, levels holding NaN-ish/negative/exponent strings,
 * a price off by one tick, a crossed book whose sequence ids and checksum are right, missing sequence
 * fields, and duplicated/replayed trades. Every one passes JSON parsing, so only the adapter's
 * integrity checks stand between it and the engine: each must be detected (a counted integrity event:
 * gap, checksum, crossed, duplicate or parse), must not change a book that stays synced, and must not
 * produce a tick.
 */
import { systemClock } from '../../../src/clock/clock.js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BinanceAdapter } from '../../../src/venues/binance/market-data.js';
import type { OrderBook } from '../../../src/venues/common/book.js';
import { KrakenAdapter } from '../../../src/venues/kraken/market-data.js';
import { OkxAdapter } from '../../../src/venues/okx/market-data.js';
import type { AdapterStats } from '../../../src/venues/common/adapter-types.js';
import { TickFlag } from '../../../src/contracts/market.js';
import { krakenBookCrc, okxBookCrc } from '../../../src/simulators/common/venue-checksums.js';
import {
  binanceCapture,
  loadKrakenBookCapture,
  loadOkxRecording,
  type BinanceDepthSnapshot,
  type BinanceDepthUpdate,
  type BinanceTrade,
  type KrakenBookMessage,
  type OkxBookData,
  type OkxTradeData,
} from '../../../src/simulators/recordings.js';
import { CollectingSink, sameBook } from './helpers.js';

const quiet = { url: 'ws://127.0.0.1:9', staleAfterMs: 1e15, maxSkewMs: 1e15 };
const DETECTING = new Set(['gap', 'checksum', 'crossed', 'duplicate', 'parse']);
/** Strings no venue sends as a number but `Number()` would accept or turn into NaN/Infinity. */
/** Deterministic PRNG: every run feeds the same random cases. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BAD_NUMBERS = ['NaN', '-1', '-0.5', 'Infinity', '', '1e5', '1E-3', '0x10', ' 5', '5 ', '5.', '.5', '+5', '1_000', '١٢'];

interface Run {
  feed(text: string): void;
  stats(): AdapterStats;
  sink: CollectingSink;
  book(): OrderBook;
  synced(): boolean;
  stop(): Promise<void>;
}

const runs: Run[] = [];
afterEach(async () => {
  for (const r of runs.splice(0)) await r.stop();
});

// `replays` is new: `?? 0` lets this file run against older adapters to show what they miss.
const detections = (s: AdapterStats) => s.gaps + s.checksumFailures + s.crossed + (s.replays ?? 0) + s.parseErrors;

/** Feeds wrong-but-well-formed input and checks the whole property. */
function expectDetected(r: Run, what: string, ...frames: string[]): void {
  const before = r.book().clone();
  const wasSynced = r.synced();
  const ticks = r.sink.ticks.length;
  const events = r.sink.events.length;
  const counted = detections(r.stats());
  for (const f of frames) expect(() => r.feed(f), what).not.toThrow();
  const kinds = r.sink.events.slice(events).map((e) => e.kind);
  expect(
    kinds.some((k) => DETECTING.has(k)),
    `${what}: not detected (events: ${kinds.join(',') || 'none'})`,
  ).toBe(true);
  expect(detections(r.stats()), `${what}: detection not counted`).toBeGreaterThan(counted);
  expect(r.sink.ticks.length, `${what}: a tick left the adapter`).toBe(ticks);
  if (r.synced()) {
    expect(wasSynced).toBe(true);
    expect(sameBook(r.book(), before), `${what}: applied to a book that is still trusted`).toBe(true);
  }
}

/**
 * For inputs that can be harmless by construction (Kraken v2 has no sequence: two updates touching
 * disjoint levels commute): either detected as above, or the book ends exactly as the venue's.
 */
function expectDetectedOrExact(r: Run, truth: OrderBook, what: string, ...frames: string[]): void {
  const events = r.sink.events.length;
  const counted = detections(r.stats());
  for (const f of frames) r.feed(f);
  const kinds = r.sink.events.slice(events).map((e) => e.kind);
  if (kinds.some((k) => DETECTING.has(k))) {
    expect(detections(r.stats()), `${what}: detection not counted`).toBeGreaterThan(counted);
    return;
  }
  expect(r.synced() && sameBook(r.book(), truth), `${what}: neither detected nor harmless`).toBe(true);
}

/** The best ask once `levels` (price, qty strings; qty 0 deletes) are applied to `book`. */
function askAfter(book: OrderBook, levels: ReadonlyArray<readonly [string, string, ...string[]]>): string {
  const b = book.clone();
  for (const [p, q] of levels) b.asks.set(Number(p), Number(q), p, q);
  return b.asks.best()!.pxStr;
}

function setLevelPrice(levels: unknown[], make: () => unknown, set: (l: unknown) => void): void {
  if (levels.length === 0) levels.push(make());
  set(levels[0]);
}

/** A price string one tick away in the same decimal format. */
function bump(px: string, ticks: number): string {
  const dec = px.includes('.') ? px.length - px.indexOf('.') - 1 : 0;
  return (Number(px) + ticks * 10 ** -dec).toFixed(dec);
}

// ---------------------------------------------------------------------------------------- Kraken
describe('Kraken: well-formed but wrong input is detected', () => {
  let snapshot: string;
  let updates: KrakenBookMessage[];
  const K = 30;
  beforeAll(async () => {
    const cap = await loadKrakenBookCapture();
    snapshot = JSON.stringify(cap.snapshot.message);
    updates = cap.updates.map((u) => u.message);
  });
  const upd = (i: number) => JSON.stringify(updates[i]);
  const cloneUpd = (i: number) => structuredClone(updates[i]!);

  function synced(k = K): Run & { adapter: KrakenAdapter } {
    const sink = new CollectingSink();
    const adapter = new KrakenAdapter({
      clock: systemClock,
      ...quiet,
      symbols: [{ venueSymbol: 'BTC/USD', symbol: 'BTC-USD', symbolId: 1, pricePrecision: 1, qtyPrecision: 8 }],
      sink,
    });
    adapter.handleRaw(snapshot);
    for (let i = 0; i < k; i++) adapter.handleRaw(upd(i));
    const run = {
      adapter,
      feed: (t: string) => adapter.handleRaw(t),
      stats: () => adapter.stats(),
      sink,
      book: () => adapter.book('BTC/USD')!,
      synced: () => adapter.isSynced('BTC/USD'),
      stop: () => adapter.stop(),
    };
    runs.push(run);
    expect(run.synced()).toBe(true);
    expect(detections(run.stats())).toBe(0);
    return run;
  }

  /** The checksum a venue would send for the adapter's book after `m` (the simulator's own CRC). */
  function honestChecksum(book: OrderBook, m: KrakenBookMessage): number {
    const b = book.clone();
    for (const l of m.data[0]!.bids) b.bids.set(l.price, l.qty, '', '');
    for (const l of m.data[0]!.asks) b.asks.set(l.price, l.qty, '', '');
    const lv = (side: OrderBook['bids']) => side.top(10).map((l) => [l.px, l.qty] as const);
    return krakenBookCrc(lv(b.asks), lv(b.bids), 1, 8);
  }

  it('the unmodified stream is accepted (the harness is sound)', () => {
    const r = synced();
    for (let i = K; i < K + 20; i++) r.feed(upd(i));
    expect(detections(r.stats())).toBe(0);
    expect(r.synced()).toBe(true);
  });
  it('duplicated update', () => expectDetected(synced(), 'duplicate', upd(K - 1)));
  it('replayed older update', () => expectDetected(synced(), 'replay', upd(K - 5)));
  it('reordered pair', () => expectDetected(synced(), 'reordered', upd(K + 1), upd(K)));
  it('reordered pair rewriting one level: each carries the checksum of its own result, the timestamp gives it away', () => {
    // Real updates 176 and 177 both set the bid at 29430.2; swapped, every checksum matches and the
    // book would end at 176's quantity while the venue is at 177's.
    const m176 = updates[176]!.data[0]!;
    const m177 = updates[177]!.data[0]!;
    expect(m176.bids[0]!.price).toBe(m177.bids[0]!.price);
    expect(m176.asks.length + m177.asks.length + m176.bids.length + m177.bids.length).toBe(2);
    const r = synced(176);
    r.feed(upd(177)); // arrives first: exactly the venue's state, so accepted
    expect(detections(r.stats())).toBe(0);
    expectDetected(r, 'late same-level update', upd(176));
  });
  it('stale update (an older message again, after newer ones)', () => expectDetected(synced(K + 10), 'stale', upd(K)));
  it.each(BAD_NUMBERS)('level price %j', (bad) => {
    const m = cloneUpd(K) as unknown as { data: Array<{ asks: unknown[] }> };
    setLevelPrice(
      m.data[0]!.asks,
      () => ({ price: 1, qty: 1 }),
      (l) => void ((l as Record<string, unknown>).price = bad),
    );
    expectDetected(synced(), `price ${JSON.stringify(bad)}`, JSON.stringify(m));
  });
  it('negative quantity as a number', () => {
    const m = cloneUpd(K);
    setLevelPrice(
      m.data[0]!.bids,
      () => ({ price: 1, qty: 1 }),
      (l) => void ((l as { qty: number }).qty = -0.5),
    );
    expectDetected(synced(), 'qty -0.5', JSON.stringify(m));
  });
  it('price off by one tick (checksum as the venue sent it)', () => {
    const r = synced();
    const m = cloneUpd(K);
    const side = m.data[0]!.bids.length > 0 ? m.data[0]!.bids : m.data[0]!.asks;
    side[0]!.price = Math.round((side[0]!.price + 0.1) * 10) / 10;
    expectDetected(r, 'off by one tick', JSON.stringify(m));
  });
  it('crossed book with a correct checksum', () => {
    const r = synced();
    const m = cloneUpd(K);
    const ask = r.book().asks.best()!.px;
    m.data[0]!.bids.push({ price: Math.round((ask + 0.1) * 10) / 10, qty: 0.5 });
    m.data[0]!.checksum = honestChecksum(r.book(), m);
    expectDetected(r, 'crossed', JSON.stringify(m));
  });
  it('duplicated and replayed trades are dropped and counted', () => {
    const r = synced();
    const trade = (id: number) =>
      JSON.stringify({
        channel: 'trade',
        type: 'update',
        data: [
          {
            symbol: 'BTC/USD',
            side: 'buy',
            price: 29300.1,
            qty: 0.01,
            ord_type: 'limit',
            trade_id: id,
            timestamp: '2023-07-30T12:00:00.000001Z',
          },
        ],
      });
    r.feed(trade(100));
    r.feed(trade(101));
    expect(r.sink.trades()).toHaveLength(2);
    expectDetected(r, 'duplicated trade', trade(101));
    expectDetected(r, 'replayed trade', trade(100));
    expect(r.stats().replays).toBe(2);
  });

  it('randomized: wrong-but-well-formed updates at random points of the capture are all detected', () => {
    const rnd = mulberry32(0x4b52);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const kinds = ['duplicate', 'replay', 'reorder', 'number', 'tick', 'crossed'] as const;
    const seen = new Set<string>();
    for (let n = 0; n < 60; n++) {
      const k = 10 + Math.floor(rnd() * (updates.length - 20));
      const kind = pick(kinds);
      seen.add(kind);
      const r = synced(k);
      const m = cloneUpd(k);
      const side = m.data[0]!.bids.length > 0 ? m.data[0]!.bids : m.data[0]!.asks;
      const frames =
        kind === 'duplicate'
          ? [upd(k - 1)]
          : kind === 'replay'
            ? [upd(k - 2 - Math.floor(rnd() * 8))]
            : kind === 'reorder'
              ? [upd(k + 1), upd(k)]
              : kind === 'number'
                ? (side.length > 0
                    ? ((side[0] as unknown as Record<string, unknown>)[pick(['price', 'qty'])] = pick(BAD_NUMBERS))
                    : m.data[0]!.asks.push({ price: Number.NaN, qty: 1 }),
                  [JSON.stringify(m)])
                : kind === 'tick'
                  ? (side.length > 0
                      ? (side[0]!.price = Math.round((side[0]!.price + pick([-0.1, 0.1])) * 10) / 10)
                      : side.push({ price: r.book().bids.best()!.px + 0.1, qty: 1 }),
                    [JSON.stringify(m)])
                  : (m.data[0]!.bids.push({
                      price:
                        Number(
                          askAfter(
                            r.book(),
                            m.data[0]!.asks.map((l) => [String(l.price), String(l.qty)] as const),
                          ),
                        ) + 0.1,
                      qty: 0.5,
                    }),
                    (m.data[0]!.checksum = honestChecksum(r.book(), m)),
                    [JSON.stringify(m)]);
      if (kind === 'reorder') expectDetectedOrExact(r, synced(k + 2).book(), `${kind} at update ${k}`, ...frames);
      else if (kind === 'tick') expectDetectedOrExact(r, synced(k + 1).book(), `${kind} at update ${k}`, ...frames);
      else expectDetected(r, `${kind} at update ${k}`, ...frames);
    }
    expect(seen.size).toBe(kinds.length);
  });
});

// ---------------------------------------------------------------------------------------- Binance
describe('Binance: well-formed but wrong input is detected', () => {
  let before: string[];
  let snap: BinanceDepthSnapshot;
  let after: BinanceDepthUpdate[];
  let trades: BinanceTrade[];
  const K = 40;
  beforeAll(async () => {
    before = [];
    after = [];
    trades = [];
    let seen: BinanceDepthSnapshot | undefined;
    for await (const r of binanceCapture()) {
      if (r.kind === 'snapshot' && seen === undefined) seen = r.data;
      else if (r.kind === 'depth' && seen === undefined) before.push(JSON.stringify({ stream: r.stream, data: r.data }));
      else if (r.kind === 'depth') after.push(r.data);
      else if (r.kind === 'trade' && trades.length < 3) trades.push(r.data);
      if (after.length >= K + 20) break;
    }
    snap = seen!;
  });
  const frame = (d: BinanceDepthUpdate) => JSON.stringify({ stream: 'btcusdt@depth@100ms', data: d });

  function synced(k = K): Run {
    const sink = new CollectingSink();
    const a = new BinanceAdapter({
      clock: systemClock,
      ...quiet,
      restUrl: 'http://127.0.0.1:9',
      symbols: [{ venueSymbol: 'BTCUSDT', symbol: 'BTC-USDT', symbolId: 2 }],
      sink,
    });
    for (const f of before) a.handleRaw(f);
    a.ingestSnapshot('BTCUSDT', JSON.stringify(snap));
    for (let i = 0; i < k; i++) a.handleRaw(frame(after[i]!));
    const run = {
      feed: (t: string) => a.handleRaw(t),
      stats: () => a.stats(),
      sink,
      book: () => a.book('BTCUSDT')!,
      synced: () => a.isSynced('BTCUSDT'),
      stop: () => a.stop(),
    };
    runs.push(run);
    expect(run.synced()).toBe(true);
    expect(a.lastUpdateId('BTCUSDT')).toBe(after[k - 1]!.u);
    expect(detections(run.stats())).toBe(0);
    return run;
  }
  const lastU = () => after[K - 1]!.u;

  it('the unmodified stream is accepted (the harness is sound)', () => {
    const r = synced();
    for (let i = K; i < K + 20; i++) r.feed(frame(after[i]!));
    expect(detections(r.stats())).toBe(0);
  });
  it('duplicated diff', () => expectDetected(synced(), 'duplicate', frame(after[K - 1]!)));
  it('replayed older diff', () => expectDetected(synced(), 'replay', frame(after[K - 5]!)));
  it('reordered pair', () => expectDetected(synced(), 'reordered', frame(after[K + 1]!), frame(after[K]!)));
  it('stale update ids (both below the book)', () =>
    expectDetected(synced(), 'stale', frame({ ...after[K]!, U: lastU() - 10, u: lastU() - 3 })));
  it('overlapping update ids (U behind, u ahead)', () =>
    expectDetected(synced(), 'overlap', frame({ ...after[K]!, U: lastU() - 2, u: lastU() + 5 })));
  it.each(BAD_NUMBERS)('level quantity %j', (bad) => {
    const d = structuredClone(after[K]!);
    setLevelPrice(
      d.a,
      () => ['1', '1'],
      (l) => void ((l as string[])[1] = bad),
    );
    expectDetected(synced(), `qty ${JSON.stringify(bad)}`, frame(d));
  });
  it('best bid moved up one tick onto the best ask (crossed, ids correct)', () => {
    const r = synced();
    const d = structuredClone(after[K]!);
    d.b.push([r.book().asks.best()!.pxStr, '0.5']);
    expectDetected(r, 'off by one tick onto the ask', frame(d));
  });
  it('ask one tick below the best bid (crossed, ids correct)', () => {
    const r = synced();
    const d = structuredClone(after[K]!);
    d.a.push([bump(r.book().bids.best()!.pxStr, -1), '0.5']);
    expectDetected(r, 'crossed', frame(d));
  });
  it('duplicated and replayed trades are dropped and counted', () => {
    const r = synced();
    const tf = (t: BinanceTrade) => JSON.stringify({ stream: 'btcusdt@trade', data: t });
    r.feed(tf(trades[0]!));
    r.feed(tf(trades[1]!));
    expect(r.sink.trades()).toHaveLength(2);
    expectDetected(r, 'duplicated trade', tf(trades[1]!));
    expectDetected(r, 'replayed trade', tf(trades[0]!));
    expect(r.stats().replays).toBe(2);
  });

  it('randomized: wrong-but-well-formed diffs at random points of the capture are all detected', () => {
    const rnd = mulberry32(0x424e);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const kinds = ['duplicate', 'replay', 'reorder', 'stale', 'overlap', 'number', 'crossed'] as const;
    const seen = new Set<string>();
    for (let n = 0; n < 60; n++) {
      const k = 10 + Math.floor(rnd() * (after.length - 20));
      const kind = pick(kinds);
      seen.add(kind);
      const r = synced(k);
      const u = after[k - 1]!.u;
      const d = structuredClone(after[k]!);
      const frames =
        kind === 'duplicate'
          ? [frame(after[k - 1]!)]
          : kind === 'replay'
            ? [frame(after[k - 2 - Math.floor(rnd() * 8)]!)]
            : kind === 'reorder'
              ? [frame(after[k + 1]!), frame(after[k]!)]
              : kind === 'stale'
                ? [frame({ ...d, U: u - 5 - Math.floor(rnd() * 50), u: u - Math.floor(rnd() * 5) })]
                : kind === 'overlap'
                  ? [frame({ ...d, U: u - Math.floor(rnd() * 5), u: u + 1 + Math.floor(rnd() * 20) })]
                  : kind === 'number'
                    ? (setLevelPrice(
                        pick([d.a, d.b]),
                        () => ['1', '1'],
                        (l) => void ((l as string[])[pick([0, 1])] = pick(BAD_NUMBERS)),
                      ),
                      [frame(d)])
                    : (d.b.push([bump(askAfter(r.book(), d.a), Math.floor(rnd() * 3)), '0.5']), [frame(d)]);
      expectDetected(r, `${kind} at diff ${k}`, ...frames);
    }
    expect(seen.size).toBe(kinds.length);
  });
});

// ---------------------------------------------------------------------------------------- OKX
describe('OKX: well-formed but wrong input is detected', () => {
  const INST = 'BTC-USDT';
  let snapshot: OkxBookData;
  let updates: Array<OkxBookData & { seqId: number; prevSeqId: number }>;
  let trades: OkxTradeData[];
  const K = 30;
  beforeAll(async () => {
    const recs = (await loadOkxRecording()).filter((r) => r.instId === INST);
    let seq = 5000;
    updates = [];
    trades = [];
    for (const r of recs) {
      if (r.kind === 'books' && r.action === 'snapshot' && updates.length === 0) snapshot = { ...r.data, seqId: seq, prevSeqId: -1 };
      else if (r.kind === 'books' && r.action === 'update' && snapshot !== undefined)
        updates.push({ ...r.data, prevSeqId: seq, seqId: ++seq });
      else if (r.kind === 'trades' && trades.length < 3) trades.push(r.data);
    }
    expect(updates.length).toBeGreaterThan(K + 10);
  });
  const bookFrame = (action: 'snapshot' | 'update', d: object) =>
    JSON.stringify({ arg: { channel: 'books', instId: INST }, action, data: [d] });
  const upd = (i: number) => bookFrame('update', updates[i]!);

  function synced(checksum: 'required' | 'retired' = 'required', k = K): Run {
    const sink = new CollectingSink();
    const a = new OkxAdapter({ clock: systemClock, ...quiet, checksum, symbols: [{ venueSymbol: INST, symbol: INST, symbolId: 3 }], sink });
    const strip = (d: OkxBookData) => (checksum === 'retired' ? { ...d, checksum: 0 } : d);
    a.handleRaw(bookFrame('snapshot', strip(snapshot)));
    for (let i = 0; i < k; i++) a.handleRaw(bookFrame('update', strip(updates[i]!)));
    const run = {
      feed: (t: string) => a.handleRaw(t),
      stats: () => a.stats(),
      sink,
      book: () => a.book(INST)!,
      synced: () => a.isSynced(INST),
      stop: () => a.stop(),
    };
    runs.push(run);
    expect(run.synced()).toBe(true);
    expect(a.lastSeqId(INST)).toBe(updates[k - 1]!.seqId);
    expect(detections(run.stats())).toBe(0);
    return run;
  }
  const last = () => updates[K - 1]!.seqId;

  it('the unmodified stream is accepted in both checksum modes (the harness is sound)', () => {
    for (const mode of ['required', 'retired'] as const) {
      const r = synced(mode);
      for (let i = K; i < K + 10; i++) r.feed(bookFrame('update', mode === 'retired' ? { ...updates[i]!, checksum: 0 } : updates[i]!));
      expect(detections(r.stats())).toBe(0);
    }
  });
  it('duplicated update', () => expectDetected(synced(), 'duplicate', upd(K - 1)));
  it('replayed older update', () => expectDetected(synced(), 'replay', upd(K - 5)));
  it('reordered pair', () => expectDetected(synced(), 'reordered', upd(K + 1), upd(K)));
  it('stale sequence ids', () =>
    expectDetected(synced(), 'stale', bookFrame('update', { ...updates[K]!, prevSeqId: last() - 3, seqId: last() - 2 })));
  it('levels under a reused seqId (seqId == prevSeqId is only for empty updates)', () =>
    expectDetected(synced(), 'reused seqId', bookFrame('update', { ...updates[K]!, prevSeqId: last(), seqId: last() })));
  it('update without seqId', () => {
    const { seqId: _s, ...d } = updates[K]!;
    expectDetected(synced(), 'no seqId', bookFrame('update', d));
  });
  it('update without prevSeqId', () => {
    const { prevSeqId: _p, ...d } = updates[K]!;
    expectDetected(synced(), 'no prevSeqId', bookFrame('update', d));
  });
  it('snapshot without seqId', () => {
    const { seqId: _s, ...d } = snapshot;
    expectDetected(synced(), 'snapshot without seqId', bookFrame('snapshot', d));
  });
  it('checksum 0 while checksums are required is verified, not skipped', () => {
    expect(updates[K]!.checksum).not.toBe(0);
    expectDetected(synced('required'), 'checksum 0', bookFrame('update', { ...updates[K]!, checksum: 0 }));
  });
  it('no checksum while checksums are required', () => {
    const { checksum: _c, ...d } = updates[K]!;
    expectDetected(synced('required'), 'no checksum', bookFrame('update', d));
  });
  // With checksums retired nothing but the parser stands between a bad number and the book.
  it.each(BAD_NUMBERS)('level size %j (checksum retired)', (bad) => {
    const d = { ...structuredClone(updates[K]!), checksum: 0 };
    setLevelPrice(
      d.bids,
      () => ['1', '1', '0', '1'],
      (l) => void ((l as string[])[1] = bad),
    );
    expectDetected(synced('retired'), `size ${JSON.stringify(bad)}`, bookFrame('update', d));
  });
  it('price off by one tick (checksum as the venue sent it)', () => {
    const d = structuredClone(updates[K]!);
    const side = d.asks.length > 0 ? d.asks : d.bids;
    side[0]![0] = bump(side[0]![0], 1);
    expectDetected(synced(), 'off by one tick', bookFrame('update', d));
  });
  it.each(['required', 'retired'] as const)('crossed book with correct ids and checksum (%s)', (mode) => {
    const r = synced(mode);
    const d = structuredClone(updates[K]!);
    d.bids.push([bump(r.book().asks.best()!.pxStr, 1), '1', '0', '1']);
    const b = r.book().clone();
    for (const [p, s] of [...d.bids]) b.bids.set(Number(p), Number(s), p, s);
    for (const [p, s] of d.asks) b.asks.set(Number(p), Number(s), p, s);
    const strs = (side: OrderBook['bids']) => side.top(25).map((l) => [l.pxStr, l.qtyStr] as const);
    d.checksum = mode === 'required' ? okxBookCrc(strs(b.bids), strs(b.asks)) : 0;
    expectDetected(r, `crossed (${mode})`, bookFrame('update', d));
  });
  it('duplicated and replayed trades are dropped and counted', () => {
    const r = synced();
    const tf = (t: OkxTradeData) => JSON.stringify({ arg: { channel: 'trades', instId: INST }, data: [t] });
    expect(BigInt(trades[1]!.tradeId)).toBeGreaterThan(BigInt(trades[0]!.tradeId));
    r.feed(tf(trades[0]!));
    r.feed(tf(trades[1]!));
    expect(r.sink.ticks.filter((t) => t.flags & TickFlag.TRADE)).toHaveLength(2);
    expectDetected(r, 'duplicated trade', tf(trades[1]!));
    expectDetected(r, 'replayed trade', tf(trades[0]!));
    expect(r.stats().replays).toBe(2);
  });

  it('randomized: wrong-but-well-formed updates at random points of the recording are all detected', () => {
    const rnd = mulberry32(0x4f4b);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const kinds = ['duplicate', 'replay', 'reorder', 'stale', 'missing', 'number', 'tick', 'crossed'] as const;
    const seen = new Set<string>();
    for (let n = 0; n < 60; n++) {
      const k = 10 + Math.floor(rnd() * (updates.length - 20));
      const kind = pick(kinds);
      // Sequence and parsing faults in both modes; tick errors only where a checksum can see them.
      const mode = kind === 'tick' ? 'required' : pick(['required', 'retired'] as const);
      seen.add(kind);
      const r = synced(mode, k);
      const last = updates[k - 1]!.seqId;
      const strip = <T extends OkxBookData>(d: T): T => (mode === 'retired' ? { ...d, checksum: 0 } : d);
      const u = (i: number) => bookFrame('update', strip(updates[i]!));
      const d = strip(structuredClone(updates[k]!));
      let frames: string[];
      if (kind === 'duplicate') frames = [u(k - 1)];
      else if (kind === 'replay') frames = [u(k - 2 - Math.floor(rnd() * 8))];
      else if (kind === 'reorder') frames = [u(k + 1), u(k)];
      else if (kind === 'stale')
        frames = [bookFrame('update', { ...d, prevSeqId: last - 1 - Math.floor(rnd() * 5), seqId: last - Math.floor(rnd() * 2) })];
      else if (kind === 'missing') {
        const field = pick(['seqId', 'prevSeqId'] as const);
        const { [field]: _gone, ...rest } = d;
        frames = [bookFrame('update', rest)];
      } else if (kind === 'number') {
        setLevelPrice(
          pick([d.asks, d.bids]),
          () => ['1', '1', '0', '1'],
          (l) => void ((l as string[])[pick([0, 1])] = pick(BAD_NUMBERS)),
        );
        frames = [bookFrame('update', d)];
      } else if (kind === 'tick') {
        // The checksum covers the top 25 levels: move a level inside them (deeper, no check can see it).
        const inDepth = (px: string, side: OrderBook['asks'], asks: boolean) => {
          const edge = side.at(Math.min(24, side.size - 1));
          return edge !== undefined && (asks ? Number(px) <= edge.px : Number(px) >= edge.px);
        };
        const lv = d.asks.find((l) => inDepth(l[0], r.book().asks, true)) ?? d.bids.find((l) => inDepth(l[0], r.book().bids, false));
        if (lv === undefined) {
          n--;
          continue;
        }
        lv[0] = bump(lv[0], pick([-1, 1]));
        frames = [bookFrame('update', d)];
      } else {
        d.bids.push([bump(askAfter(r.book(), d.asks), Math.floor(rnd() * 3)), '1', '0', '1']);
        const b = r.book().clone();
        for (const [p, q] of d.bids) b.bids.set(Number(p), Number(q), p, q);
        for (const [p, q] of d.asks) b.asks.set(Number(p), Number(q), p, q);
        const strs = (sd: OrderBook['bids']) => sd.top(25).map((l) => [l.pxStr, l.qtyStr] as const);
        d.checksum = mode === 'required' ? okxBookCrc(strs(b.bids), strs(b.asks)) : 0;
        frames = [bookFrame('update', d)];
      }
      // A level moved off a price the book does not hold is a no-op, as the venue's own delete was.
      if (kind === 'tick') expectDetectedOrExact(r, synced(mode, k + 1).book(), `${kind} (${mode}) at update ${k}`, ...frames);
      else expectDetected(r, `${kind} (${mode}) at update ${k}`, ...frames);
    }
    expect(seen.size).toBe(kinds.length);
  });
});
