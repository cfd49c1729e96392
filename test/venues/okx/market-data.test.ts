import { systemClock } from '../../../src/clock/clock.js';
import { afterEach, describe, expect, it } from 'vitest';
import { OkxAdapter, type OkxAdapterOptions } from '../../../src/venues/okx/market-data.js';
import { OrderBook } from '../../../src/venues/common/book.js';
import { TickFlag } from '../../../src/contracts/market.js';
import { OkxSimulator, type OkxProtocol } from '../../../src/venues/okx/simulator/market-data.js';
import { loadOkxRecording } from '../../../src/simulators/recordings.js';
import { bookTouchKey, CollectingSink, sameBook, touchKey } from '../market-data/helpers.js';
import { until } from '../../support/wait.js';

const INSTS = ['BTC-USDT', 'BTC-USD-220527', 'UNI-USD-SWAP'];
const mapping = INSTS.map((i, n) => ({ venueSymbol: i, symbol: i, symbolId: 21 + n }));

let truthCache: Map<string, Set<string>> | undefined;
async function trueTouches(): Promise<Map<string, Set<string>>> {
  if (truthCache) return truthCache;
  const books = new Map<string, OrderBook>();
  const out = new Map<string, Set<string>>();
  for (const r of await loadOkxRecording()) {
    if (r.kind !== 'books') continue;
    let b = books.get(r.instId);
    if (!b) books.set(r.instId, (b = new OrderBook()));
    if (r.action === 'snapshot') b.clear();
    for (const [p, s] of r.data.bids) b.bids.set(Number(p), Number(s), p, s);
    for (const [p, s] of r.data.asks) b.asks.set(Number(p), Number(s), p, s);
    let set = out.get(r.instId);
    if (!set) out.set(r.instId, (set = new Set()));
    set.add(bookTouchKey(b));
  }
  truthCache = out;
  return out;
}

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function setup(protocol: OkxProtocol = 'legacy', extra: Partial<OkxAdapterOptions> = {}) {
  const sim = await OkxSimulator.create({ protocol });
  const sink = new CollectingSink();
  const adapter = new OkxAdapter({
    clock: systemClock,
    url: sim.wsUrl,
    restUrl: sim.restUrl,
    snapshotSource: protocol === 'legacy' ? 'ws' : 'rest',
    checksum: protocol === 'legacy' ? 'required' : 'retired',
    symbols: mapping,
    sink,
    reconnect: { initialMs: 20, maxMs: 200 },
    ...extra,
  });
  cleanup.push(
    () => adapter.stop(),
    () => sim.stop(),
  );
  await adapter.start();
  return { sim, sink, adapter };
}

async function settle(sim: OkxSimulator, adapter: OkxAdapter) {
  await sim.finished();
  for (const i of INSTS) {
    await until(() => adapter.isSynced(i) && adapter.lastSeqId(i) === sim.currentBook(i)?.seqId, 5000, `${i} caught up`);
    expect(sameBook(adapter.book(i)!, sim.currentBook(i)!.book)).toBe(true);
  }
}

async function assertTicksTrue(sink: CollectingSink) {
  const truth = await trueTouches();
  const bad = sink.quotes().filter((q) => !(q.bid < q.ask) || !truth.get(q.symbol)!.has(touchKey(q.bid, q.bidSize, q.ask, q.askSize)));
  expect(bad).toEqual([]);
  for (const i of INSTS) {
    const seqs = sink.ticks.filter((t) => t.symbol === i).map((t) => t.sequence);
    expect(seqs.every((s, k) => k === 0 || s > seqs[k - 1]!)).toBe(true);
  }
}

describe('OKX adapter against the OKX simulator over a real socket', () => {
  it('rebuilds all three real books with every seqId link and all 290 checksums passing', async () => {
    const { sim, sink, adapter } = await setup();
    await sim.start({ pace: 'instant' });
    await settle(sim, adapter);
    const st = adapter.stats();
    expect(st).toMatchObject({ gaps: 0, checksumFailures: 0, parseErrors: 0, crossed: 0, resyncs: 0 });
    let verified = 0;
    let applied = 0;
    for (const i of INSTS) {
      verified += adapter.integrity(i).checksumsVerified;
      applied += adapter.integrity(i).applied;
    }
    expect(applied).toBe(287);
    expect(verified).toBe(290);
    expect(sink.trades().length).toBeGreaterThan(0);
    expect(sink.quotes().find((q) => q.symbol === 'BTC-USDT')).toMatchObject({ venue: 'okx', venueId: 3, symbolId: 21 });
    await assertTicksTrue(sink);
  });

  it('rebuilds the books on the seqId-only protocol (checksum retired, REST snapshot)', async () => {
    const { sim, sink, adapter } = await setup('seqid-only');
    await sim.start({ pace: 'accelerated', speed: 20 });
    await settle(sim, adapter);
    const st = adapter.stats();
    expect(st).toMatchObject({ gaps: 0, checksumFailures: 0, parseErrors: 0, crossed: 0 });
    let verified = 0;
    for (const i of INSTS) verified += adapter.integrity(i).checksumsVerified;
    expect(verified).toBe(0);
    await assertTicksTrue(sink);
  });

  it('falls back to the REST snapshot when the venue no longer sends WS snapshots', async () => {
    const { sim, sink, adapter } = await setup('seqid-only', { snapshotSource: 'ws', stallTimeoutMs: 500 });
    await sim.start({ pace: 'accelerated', speed: 5 });
    await settle(sim, adapter);
    expect(adapter.stats()).toMatchObject({ gaps: 0, checksumFailures: 0, parseErrors: 0 });
    expect(sink.events.filter((e) => e.detail.includes('falling back to the REST snapshot')).length).toBeGreaterThanOrEqual(3);
    await assertTicksTrue(sink);
  });

  it.each([
    ['legacy', 'gap', 'gap'],
    ['legacy', 'badChecksum', 'checksum'],
    ['legacy', 'crossed', 'crossed'],
    ['seqid-only', 'gap', 'gap'],
    ['seqid-only', 'crossed', 'crossed'],
  ] as const)('%s protocol: detects an injected %s, counts it, resyncs and never delivers a corrupt tick', async (protocol, kind, ev) => {
    const { sim, sink, adapter } = await setup(protocol);
    await sim.start({ pace: 'accelerated', speed: 20 });
    await until(() => INSTS.every((i) => adapter.integrity(i).applied > 5), 10_000, 'initial sync');
    sim.inject({ kind, count: 1 });
    await settle(sim, adapter);
    const st = adapter.stats();
    const counted = ev === 'gap' ? st.gaps : ev === 'checksum' ? st.checksumFailures : st.crossed;
    expect(counted).toBe(1);
    expect(sink.eventKinds(ev)).toHaveLength(1);
    expect(sink.eventKinds('resync').length).toBeGreaterThanOrEqual(1);
    expect(sink.quotes().some((q) => (q.flags & TickFlag.RESYNC) !== 0)).toBe(true);
    await assertTicksTrue(sink);
  });

  it('reconnects after a dropped connection, resubscribes every channel and resyncs', async () => {
    const { sim, sink, adapter } = await setup();
    await sim.start({ pace: 'accelerated', speed: 10 });
    await until(() => INSTS.every((i) => adapter.integrity(i).applied > 5), 10_000, 'initial sync');
    sim.inject({ kind: 'drop' });
    await settle(sim, adapter);
    expect(adapter.stats().reconnects).toBe(1);
    expect(sim.stats().connections).toBe(2);
    expect(adapter.stats().gaps + adapter.stats().checksumFailures).toBe(0);
    expect(sink.eventKinds('disconnect')).toHaveLength(1);
    await assertTicksTrue(sink);
  });

  it('declares a stalled stream (no pong either), reconnects and resyncs', async () => {
    const { sim, sink, adapter } = await setup('legacy', { stallTimeoutMs: 300 });
    await sim.start({ pace: 'accelerated', speed: 5 });
    await until(() => INSTS.every((i) => adapter.integrity(i).applied > 3), 10_000, 'initial sync');
    sim.inject({ kind: 'stall', durationMs: 700 });
    await settle(sim, adapter);
    expect(adapter.stats().stalls).toBeGreaterThanOrEqual(1);
    expect(adapter.stats().reconnects).toBeGreaterThanOrEqual(1);
    await assertTicksTrue(sink);
  });

  it.each([
    ['stale', TickFlag.STALE],
    ['skew', TickFlag.SKEW],
  ] as const)('flags %s exchange timestamps and reports them', async (kind, flag) => {
    const { sim, sink, adapter } = await setup('legacy', { staleAfterMs: 2000, maxSkewMs: 2000 });
    await sim.start({ pace: 'accelerated', speed: 10 });
    await until(() => INSTS.every((i) => adapter.integrity(i).applied > 3), 10_000, 'initial sync');
    sim.inject({ kind, count: 30, offsetMs: 10_000 });
    await settle(sim, adapter);
    const flagged = sink.ticks.filter((t) => (t.flags & flag) !== 0);
    expect(flagged.length).toBeGreaterThan(0);
    expect(sink.eventKinds(kind)).toHaveLength(flagged.length);
  });
});
