/**
 * Issue 10 item 2, ingestion side: per-symbol bounds from reference data quarantine absurd but finite
 * market data (a 1e17 trade, a price 100x off, an absurd touch size) before it reaches the engines:
 * dropped as out_of_bounds, counted (stats and Prometheus) and reported on md.anomaly.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { afterEach, describe, expect, it } from 'vitest';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { TickFlag } from '../../src/contracts/market.js';
import { MarketDataEventSchema, type MarketDataEvent } from '../../src/contracts/gen/kestrel/v1/market_pb.js';
import { subjects } from '../../src/contracts/subjects.js';
import { StreamQuality, compileBounds, compileQuality, type QualityEvent } from '../../src/ingestion/quality.js';
import { IngestionService } from '../../src/ingestion/service.js';
import { DEFAULT_QUALITY, IngestionConfigError, resolveIngestionOptions, type MarketDataBounds } from '../../src/ingestion/types.js';
import { registry } from '../../src/observability/metrics.js';
import { MemoryRefData } from '../../src/refdata/memory.js';
import { CollectingSink, tick } from './helpers.js';

const services: IngestionService[] = [];
afterEach(() => {
  for (const s of services.splice(0)) s.stop();
});

/** Ingestion configured the way the trading session does it: bounds straight from reference data. */
async function fromRefData() {
  const refdata = new MemoryRefData();
  const bounds = Object.fromEntries((await refdata.marketDataBounds()).map(({ canonical, ...b }) => [canonical, b]));
  const sink = new CollectingSink();
  const bus = new InProcessBus();
  const anomalies: MarketDataEvent[] = [];
  bus.subscribe(subjects.mdAnomaly('binance', 'BTC-USDT', 'live'), (m) => void anomalies.push(fromBinary(MarketDataEventSchema, m.data)));
  const svc = await IngestionService.create(
    { dispatch: 'inline', quality: { bounds, anomalyEventIntervalMs: 0 } },
    { sinks: [sink], bus, namespace: 'live' },
  );
  services.push(svc);
  return { svc, sink, anomalies, bounds };
}

/** The in-process bus delivers on a later turn. */
const settle = () => new Promise((r) => setTimeout(r, 20));

const trade = (i: number, px: number, qty: number) =>
  tick(i, { flags: TickFlag.TRADE, bid: 0, ask: 0, bidSize: 0, askSize: 0, lastPx: px, lastQty: qty, aggressor: 1 });

describe('market data bounds from reference data', () => {
  it('reference data carries sensible bounds for BTC and ETH', async () => {
    const b = await new MemoryRefData().marketDataBounds();
    expect(b.map((x) => x.canonical)).toEqual(['BTC-USD', 'BTC-USDT', 'ETH-USD', 'ETH-USDT']);
    for (const x of b) {
      expect(x.maxTradeQty).toBeLessThan(1e6);
      expect(x.maxMarkDeviationBps).toBeGreaterThanOrEqual(100);
      expect(x.maxMarkDeviationBps).toBeLessThanOrEqual(5000);
    }
  });

  it('drops a 1e17 trade, counts it and publishes an md.anomaly; normal trades pass', async () => {
    const { svc, sink, anomalies } = await fromRefData();
    svc.onTick(tick(1));
    svc.onTick(trade(2, 60_001, 0.25));
    svc.onTick(trade(3, 60_001, 1e17));
    svc.onTick(trade(4, 60_002, 0.5));
    await settle();
    expect(sink.ticks.map((t) => Number(t.sequence))).toEqual([1, 2, 4]);
    const st = svc.stats();
    expect(st.dropped.out_of_bounds).toBe(1);
    expect(st.anomalies).toBe(1);
    expect(st.quarantined).toEqual([]); // the stream goes on: one bad print is dropped, not a gap
    expect(anomalies.map((e) => e.kind)).toEqual(['out_of_bounds']);
    expect(anomalies[0]!.detail).toMatch(/trade size 100000000000000000 > max 1000/);
    svc.syncMetrics();
    expect(await registry.getSingleMetricAsString('kestrel_ingest_ticks_dropped_total')).toMatch(/reason="out_of_bounds"\} [1-9]/);
  });

  it('drops a price 100x off (trade, bid or ask) and an absurd touch size', async () => {
    const { svc, sink, anomalies } = await fromRefData();
    svc.onTick(tick(1)); // reference mark ~60,000
    svc.onTick(trade(2, 6_000_000, 0.1)); // 100x above
    svc.onTick(tick(3, { bid: 600, ask: 60_000.5 })); // bid 100x below
    svc.onTick(tick(4, { ask: 6_000_050 })); // ask 100x above
    svc.onTick(tick(5, { bidSize: 1e12 }));
    svc.onTick(tick(6));
    await settle();
    expect(sink.ticks.map((t) => Number(t.sequence))).toEqual([1, 6]);
    expect(svc.stats().dropped.out_of_bounds).toBe(4);
    expect(anomalies.map((e) => e.kind)).toEqual(['out_of_bounds', 'out_of_bounds', 'out_of_bounds', 'out_of_bounds']);
    expect(anomalies[0]!.detail).toMatch(/price 6000000 is 98\d{4} bps from reference mark 60001.25 \(max 1000\)/);
  });

  it('keeps one reference mark per venue stream: venues apart from each other do not drop each other', async () => {
    const { svc, sink } = await fromRefData();
    svc.onTick(tick(1, { venue: 'okx', bid: 30_000, ask: 30_000.5 })); // e.g. recordings of different days
    svc.onTick(tick(1, { venue: 'binance' }));
    svc.onTick(tick(2, { venue: 'okx', bid: 60_000, ask: 60_000.5 })); // but within one stream: out
    expect(sink.ticks.map((t) => t.venue)).toEqual(['okx', 'binance']);
    expect(svc.stats().dropped.out_of_bounds).toBe(1);
  });

  it('leaves symbols without bounds alone', async () => {
    const { svc, sink } = await fromRefData();
    svc.onTick(tick(1, { symbol: 'SOL-USDT' }));
    svc.onTick(tick(2, { symbol: 'SOL-USDT', bid: 600, ask: 600.5, bidSize: 1e9 }));
    expect(sink.ticks).toHaveLength(2);
  });
});

describe('reference mark re-anchoring', () => {
  const bounds: MarketDataBounds = { maxTradeQty: 1000, maxLevelQty: 5000, maxMarkDeviationBps: 1000 };
  function gate(maxAgeMs: number) {
    const events: QualityEvent[] = [];
    const q = new StreamQuality(
      'binance',
      'BTC-USDT',
      'monotonic',
      compileQuality({ ...DEFAULT_QUALITY, markReferenceMaxAgeMs: maxAgeMs, anomalyEventIntervalMs: 0 }),
      compileBounds(bounds),
    );
    return { events, check: (t: ReturnType<typeof tick>) => q.check(t, (e) => events.push(e)) };
  }

  it('a real jump beyond the band blacks the symbol out for at most markReferenceMaxAgeMs, then re-anchors and says so', () => {
    const g = gate(100);
    expect(g.check(tick(1)).ok).toBe(true);
    // +20 %: beyond the 10 % band while the reference is fresh (ticks 1 ms apart).
    const jumped = (i: number) => tick(i, { bid: 72_000, ask: 72_000.5 });
    expect(g.check(jumped(2))).toEqual({ ok: false, reason: 'out_of_bounds' });
    expect(g.check(jumped(100))).toEqual({ ok: false, reason: 'out_of_bounds' });
    // 101 ms after the last accepted tick the old mark no longer bounds anything.
    expect(g.check(jumped(102)).ok).toBe(true);
    expect(g.check(jumped(103)).ok).toBe(true);
    expect(g.events.map((e) => e.kind)).toEqual(['out_of_bounds', 'out_of_bounds', 'reanchor']);
    // The new mark bounds again: back at 60,000 is now 1,667 bps away.
    expect(g.check(tick(104))).toEqual({ ok: false, reason: 'out_of_bounds' });
  });

  it('size bounds never re-anchor', () => {
    const g = gate(1);
    expect(g.check(tick(1)).ok).toBe(true);
    expect(g.check(tick(5_000, { flags: TickFlag.TRADE, bid: 0, ask: 0, bidSize: 0, askSize: 0, lastPx: 60_000, lastQty: 1e17 }))).toEqual({
      ok: false,
      reason: 'out_of_bounds',
    });
  });

  it('refuses bounds that are not finite and positive', () => {
    expect(() => resolveIngestionOptions({ quality: { bounds: { 'BTC-USDT': { ...bounds, maxTradeQty: 0 } } } })).toThrow(
      IngestionConfigError,
    );
    expect(() => resolveIngestionOptions({ quality: { bounds: { 'BTC-USDT': { ...bounds, maxMarkDeviationBps: Number.NaN } } } })).toThrow(
      /maxMarkDeviationBps/,
    );
  });
});
