import { systemClock } from '../../../src/clock/clock.js';
import { afterEach, describe, expect, it } from 'vitest';
import { KrakenAdapter } from '../../../src/venues/kraken/market-data.js';
import { OrderBook } from '../../../src/venues/common/book.js';
import { TickFlag } from '../../../src/contracts/market.js';
import { KrakenSimulator } from '../../../src/venues/kraken/simulator/market-data.js';
import { loadKrakenBookCapture } from '../../../src/simulators/recordings.js';
import { bookTouchKey, CollectingSink, sameBook } from '../market-data/helpers.js';
import { until } from '../../support/wait.js';

const mapping = [{ venueSymbol: 'BTC/USD', symbol: 'BTC-USD', symbolId: 7, pricePrecision: 1, qtyPrecision: 8 }];

/** Every touch the true (fault-free) book ever had: a delivered quote must be one of them. */
async function trueTouches(): Promise<Set<string>> {
  const cap = await loadKrakenBookCapture();
  const book = new OrderBook();
  const out = new Set<string>();
  const apply = (d: { bids: { price: number; qty: number }[]; asks: { price: number; qty: number }[] }) => {
    for (const l of d.bids) book.bids.set(l.price, l.qty, '', '');
    for (const l of d.asks) book.asks.set(l.price, l.qty, '', '');
    book.bids.truncate(10);
    book.asks.truncate(10);
    out.add(bookTouchKey(book));
  };
  apply(cap.snapshot.message.data[0]!);
  for (const u of cap.updates) apply(u.message.data[0]!);
  return out;
}

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function setup(extra: Partial<ConstructorParameters<typeof KrakenAdapter>[0]> = {}) {
  const sim = await KrakenSimulator.create();
  const sink = new CollectingSink();
  const adapter = new KrakenAdapter({
    clock: systemClock,
    url: sim.wsUrl,
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

async function settle(sim: KrakenSimulator, adapter: KrakenAdapter) {
  await sim.finished();
  await until(
    () => adapter.isSynced('BTC/USD') && sameBook(adapter.book('BTC/USD')!, sim.currentBook()),
    5000,
    'adapter book = venue book',
  );
}

function assertQuotesTrue(sink: CollectingSink, truth: Set<string>) {
  const bad = sink.quotes().filter((q) => !(q.bid < q.ask) || !truth.has(`${q.bid}|${q.bidSize}|${q.ask}|${q.askSize}`));
  expect(bad).toEqual([]);
  let monotonic = true;
  for (let i = 1; i < sink.ticks.length; i++) if (sink.ticks[i]!.sequence <= sink.ticks[i - 1]!.sequence) monotonic = false;
  expect(monotonic).toBe(true);
}

describe('Kraken adapter against the Kraken simulator over a real socket', () => {
  it('rebuilds the real BTC/USD book with all 510 CRC32 checksums passing', async () => {
    const { sim, sink, adapter } = await setup();
    await sim.start({ pace: 'instant' });
    await settle(sim, adapter);
    const st = adapter.stats();
    expect(st.checksumFailures).toBe(0);
    expect(st.parseErrors).toBe(0);
    expect(st.resyncs).toBe(0);
    expect(sim.stats().timelinePosition).toBe(509);
    expect(sink.quotes().length).toBeGreaterThan(50);
    const t = sink.quotes()[0]!;
    expect(t).toMatchObject({ venue: 'kraken', venueId: 2, symbol: 'BTC-USD', symbolId: 7 });
    expect(t.recvTsNs).toBeGreaterThan(0n);
    assertQuotesTrue(sink, await trueTouches());
  });

  it.each([
    ['gap', 'checksum'],
    ['badChecksum', 'checksum'],
    ['crossed', 'crossed'],
  ] as const)('detects an injected %s, counts it, resyncs and never delivers a corrupt tick', async (kind, eventKind) => {
    const { sim, sink, adapter } = await setup();
    sim.inject({ kind, count: 1 });
    await sim.start({ pace: 'instant' });
    await settle(sim, adapter);
    const st = adapter.stats();
    if (eventKind === 'checksum') expect(st.checksumFailures).toBe(1);
    else expect(st.crossed).toBe(1);
    expect(st.resyncs).toBe(1);
    expect(sink.eventKinds(eventKind)).toHaveLength(1);
    expect(sink.eventKinds('resync')).toHaveLength(1);
    // The first tick after the resync says so.
    expect(sink.quotes().some((q) => (q.flags & TickFlag.RESYNC) !== 0)).toBe(true);
    assertQuotesTrue(sink, await trueTouches());
  });

  it('reconnects after a dropped connection, resubscribes and resyncs', async () => {
    const { sim, sink, adapter } = await setup();
    await sim.start({ pace: 'accelerated', speed: 50 });
    await until(() => sim.stats().timelinePosition > 100, 5000, 'replay progress');
    sim.inject({ kind: 'drop' });
    await settle(sim, adapter);
    const st = adapter.stats();
    expect(st.reconnects).toBe(1);
    expect(sim.stats().connections).toBe(2);
    expect(st.checksumFailures).toBe(0);
    expect(sink.eventKinds('disconnect')).toHaveLength(1);
    assertQuotesTrue(sink, await trueTouches());
  });

  it('declares a stalled stream, reconnects and resyncs', async () => {
    const { sim, sink, adapter } = await setup({ stallTimeoutMs: 300 });
    await sim.start({ pace: 'accelerated', speed: 40 });
    await until(() => sim.stats().timelinePosition > 50, 5000, 'replay progress');
    sim.inject({ kind: 'stall', durationMs: 800 });
    await settle(sim, adapter);
    const st = adapter.stats();
    expect(st.stalls).toBeGreaterThanOrEqual(1);
    expect(st.reconnects).toBeGreaterThanOrEqual(1);
    expect(sink.events.some((e) => e.kind === 'stale' && e.detail.includes('stalled'))).toBe(true);
    assertQuotesTrue(sink, await trueTouches());
  });

  it.each([
    ['stale', TickFlag.STALE],
    ['skew', TickFlag.SKEW],
  ] as const)('flags %s exchange timestamps on the ticks and reports them', async (kind, flag) => {
    const { sim, sink, adapter } = await setup({ staleAfterMs: 1000, maxSkewMs: 1000 });
    await sim.start({ pace: 'accelerated', speed: 50 });
    await until(() => sim.stats().timelinePosition > 20, 5000, 'replay progress');
    sim.inject({ kind, count: 400, offsetMs: 5000 });
    await settle(sim, adapter);
    const flagged = sink.quotes().filter((q) => (q.flags & flag) !== 0);
    expect(flagged.length).toBeGreaterThan(0);
    expect(sink.eventKinds(kind).length).toBe(flagged.length);
    expect(kind === 'stale' ? adapter.stats().stale : adapter.stats().skewed).toBe(flagged.length);
  });

  it('delivers nothing after stop() resolves and does not reconnect', async () => {
    const { sim, sink, adapter } = await setup();
    await sim.start({ pace: 'accelerated', speed: 20 });
    await until(() => sink.ticks.length > 3, 5000, 'ticks');
    await adapter.stop();
    const n = sink.ticks.length;
    const e = sink.events.length;
    await new Promise((r) => setTimeout(r, 400));
    expect(sink.ticks.length).toBe(n);
    expect(sink.events.length).toBe(e);
    expect(sim.stats().connections).toBe(1);
    expect(adapter.stats().connected).toBe(false);
  });

  it('flags a slow stream (delayed delivery) as stale', async () => {
    const { sim, adapter } = await setup({ staleAfterMs: 100 });
    await sim.start({ pace: 'accelerated', speed: 20 });
    await until(() => sim.stats().timelinePosition > 20, 5000, 'replay progress');
    sim.inject({ kind: 'slow', delayMs: 300, durationMs: 500 });
    await settle(sim, adapter);
    expect(adapter.stats().stale).toBeGreaterThan(0);
    expect(adapter.stats().checksumFailures).toBe(0);
  });
});
