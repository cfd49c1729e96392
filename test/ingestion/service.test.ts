import { create, fromBinary } from '@bufbuild/protobuf';
import { afterEach, describe, expect, it } from 'vitest';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { TickFlag, fromProto } from '../../src/contracts/market.js';
import { MarketDataEventSchema, TickSchema, type MarketDataEvent } from '../../src/contracts/gen/kestrel/v1/market_pb.js';
import { jumpHash, loadHasher, shardFor } from '../../src/ingestion/hash.js';
import { IngestionService } from '../../src/ingestion/service.js';
import { registry } from '../../src/observability/metrics.js';
import { CollectingSink, tick } from './helpers.js';

const services: IngestionService[] = [];
afterEach(() => {
  for (const s of services.splice(0)) s.stop();
});

async function make(opts: Parameters<typeof IngestionService.create>[0], withBus = false) {
  const sink = new CollectingSink();
  const bus = withBus ? new InProcessBus() : undefined;
  const svc = await IngestionService.create(opts, bus ? { sinks: [sink], bus, namespace: 'live' as const } : { sinks: [sink] });
  services.push(svc);
  return { svc, sink, bus };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('ingestion service', () => {
  it('delivers accepted ticks to sinks in per-symbol order across shards', async () => {
    const { svc, sink } = await make({ shards: 4 });
    const symbols = ['BTC-USDT', 'ETH-USDT', 'BTC-USD', 'ETH-USD', 'SOL-USDT'];
    for (let i = 1; i <= 200; i++) for (const s of symbols) svc.onTick(tick(i, { symbol: s }));
    await settle();
    expect(sink.ticks).toHaveLength(1000);
    for (const s of symbols) {
      const seqs = sink.ticks.filter((t) => t.symbol === s).map((t) => Number(t.sequence));
      expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    }
    expect(svc.stats().accepted).toBe(1000);
  });

  it('drops the oldest ticks when a mailbox is full, counts them, and flags the next tick GAP without quarantine', async () => {
    const { svc, sink } = await make({ shards: 1, mailboxCapacity: 100 });
    for (let i = 1; i <= 250; i++) svc.onTick(tick(i)); // one turn: no drain in between
    await settle();
    const st = svc.stats();
    expect(st.dropped.mailbox_full).toBe(150);
    expect(st.mailboxHighWater[0]).toBe(100);
    expect(sink.ticks.map((t) => Number(t.sequence))).toEqual(Array.from({ length: 100 }, (_, i) => 151 + i));
    expect(sink.ticks[0]!.flags & TickFlag.GAP).toBe(TickFlag.GAP);
    expect(st.quarantined).toEqual([]);
    // The counter reached Prometheus.
    svc.syncMetrics();
    const text = await registry.getSingleMetricAsString('kestrel_ingest_ticks_dropped_total');
    expect(text).toMatch(/reason="mailbox_full"\} \d+/);
  });

  it('never drops a control event on overflow: an evicted resync is applied in order', async () => {
    const { svc, sink } = await make({ shards: 1, mailboxCapacity: 4, quality: { quarantineMaxMs: 0 } });
    svc.onTick(tick(1));
    svc.onTick(tick(5)); // gap -> quarantined
    await settle();
    expect(svc.stats().quarantined).toEqual(['binance.BTC-USDT']);
    svc.onEvent(create(MarketDataEventSchema, { venue: 'binance', symbol: 'BTC-USDT', kind: 'resync', tsNs: 1n }));
    for (let i = 10; i < 20; i++) svc.onTick(tick(i)); // evicts the resync event and older ticks
    await settle();
    expect(svc.stats().quarantined).toEqual([]);
    expect(sink.ticks.map((t) => Number(t.sequence))).toEqual([1, 16, 17, 18, 19]);
  });

  it('publishes md.norm, md.agg (cross-venue best bid/offer) and md.gap / md.anomaly on the bus', async () => {
    const { svc, bus } = await make({ shards: 2, quality: { quarantineMaxMs: 0 } }, true);
    const got: Record<string, Uint8Array[]> = {};
    bus!.subscribe('md.>', (m) => {
      (got[m.subject] ??= []).push(m.data);
    });
    svc.onTick(tick(1, { venue: 'binance', bid: 100, ask: 101 }));
    svc.onTick(tick(1, { venue: 'okx', bid: 100.5, ask: 101.5 }));
    svc.onTick(tick(3, { venue: 'binance', bid: 100, ask: 101 })); // gap on binance
    svc.onTick(tick(2, { venue: 'okx', bid: 102, ask: 101 })); // crossed beyond tolerance 0
    await settle();
    await bus!.flush();
    await settle();
    const norm = (got['md.norm.binance.BTC-USDT'] ?? []).map((d) => fromProto(fromBinary(TickSchema, d)));
    expect(norm).toHaveLength(1);
    expect(norm[0]).toMatchObject({ venue: 'binance', bid: 100, ask: 101, sequence: 1n });
    const agg = (got['md.agg.BTC-USDT'] ?? []).map((d) => fromBinary(TickSchema, d));
    expect(agg.at(-1)).toMatchObject({ bid: 100.5, ask: 101 });
    const gap = (got['md.gap.binance.BTC-USDT'] ?? []).map((d) => fromBinary(MarketDataEventSchema, d));
    expect(gap[0]).toMatchObject({ kind: 'gap', expectedSequence: 2n, receivedSequence: 3n });
    const anomaly = (got['md.anomaly.okx.BTC-USDT'] ?? []).map((d) => fromBinary(MarketDataEventSchema, d));
    expect(anomaly.map((a: MarketDataEvent) => a.kind)).toEqual(['crossed']);
    const st = svc.stats();
    expect(st.dropped.crossed).toBe(1);
    expect(st.dropped.quarantined).toBe(1);
    expect(st.gaps).toBe(1);
  });

  it('quarantines on an adapter gap event and releases on its resync, asking the owner for a snapshot on its own gaps', async () => {
    const asked: string[] = [];
    const sink = new CollectingSink();
    const svc = await IngestionService.create(
      { shards: 2, dispatch: 'inline', quality: { quarantineMaxMs: 0 } },
      { sinks: [sink], onResyncNeeded: (v, s) => asked.push(`${v}.${s}`) },
    );
    services.push(svc);
    svc.onTick(tick(1, { venue: 'kraken', symbol: 'BTC-USD' }));
    svc.onEvent(create(MarketDataEventSchema, { venue: 'kraken', symbol: 'BTC-USD', kind: 'gap', tsNs: 5n }));
    svc.onTick(tick(2, { venue: 'kraken', symbol: 'BTC-USD' }));
    expect(sink.ticks).toHaveLength(1);
    svc.onEvent(create(MarketDataEventSchema, { venue: 'kraken', symbol: 'BTC-USD', kind: 'resync', tsNs: 6n }));
    svc.onTick(tick(40, { venue: 'kraken', symbol: 'BTC-USD', flags: TickFlag.RESYNC }));
    expect(sink.ticks.map((t) => Number(t.sequence))).toEqual([1, 40]);
    expect(asked).toEqual([]); // adapter-reported gap: the adapter already resyncs
    svc.onTick(tick(45, { venue: 'kraken', symbol: 'BTC-USD' }));
    expect(asked).toEqual(['kraken.BTC-USD']);
    expect(svc.stats()).toMatchObject({ gaps: 2, resyncs: 1 });
  });

  it('counts a throwing sink and keeps delivering to the others', async () => {
    const good = new CollectingSink();
    const svc = await IngestionService.create(
      { dispatch: 'inline' },
      {
        sinks: [
          {
            name: 'bad',
            push: () => {
              throw new Error('boom');
            },
          },
          good,
        ],
      },
    );
    services.push(svc);
    svc.onTick(tick(1));
    svc.onTick(tick(2));
    expect(good.ticks).toHaveLength(2);
    expect(svc.stats().sinkErrors).toBe(2);
  });

  it('shards by consistent hash: stable assignment, and growing 4 -> 5 shards moves about 1/5 of symbols', async () => {
    const h = await loadHasher();
    const syms = Array.from({ length: 2000 }, (_, i) => `SYM${i}-USDT`);
    const a = syms.map((s) => shardFor(h, s, 4));
    const b = syms.map((s) => shardFor(h, s, 5));
    expect(syms.map((s) => shardFor(h, s, 4))).toEqual(a);
    const moved = a.filter((x, i) => x !== b[i]).length / syms.length;
    expect(moved).toBeGreaterThan(0.15);
    expect(moved).toBeLessThan(0.25);
    // Only moves to the new shard, never between old ones.
    expect(a.every((x, i) => b[i] === x || b[i] === 4)).toBe(true);
    const counts = [0, 0, 0, 0];
    for (const x of a) counts[x]!++;
    for (const c of counts) expect(c).toBeGreaterThan(400);
    expect(jumpHash(0n, 1)).toBe(0);
  });

  it('refuses input after stop and counts it', async () => {
    const { svc, sink } = await make({});
    svc.onTick(tick(1));
    svc.stop();
    svc.onTick(tick(2));
    expect(sink.ticks).toHaveLength(1);
    expect(svc.stats().dropped.stopped).toBe(1);
  });
});

describe('adapter-reported anomalies', () => {
  it('are counted every time but published at most once per kind per interval', async () => {
    const bus = new InProcessBus();
    const svc = await IngestionService.create(
      { dispatch: 'inline', quality: { anomalyEventIntervalMs: 1000 } },
      { bus, namespace: 'live' },
    );
    services.push(svc);
    const got: MarketDataEvent[] = [];
    bus.subscribe('md.anomaly.>', (m) => void got.push(fromBinary(MarketDataEventSchema, m.data)));
    for (let i = 0; i < 50; i++) {
      svc.onEvent(
        create(MarketDataEventSchema, {
          venue: 'okx',
          symbol: 'BTC-USDT',
          kind: 'skew',
          detail: 'ahead',
          tsNs: 1_000_000_000n + BigInt(i) * 1_000_000n,
        }),
      );
    }
    svc.onEvent(create(MarketDataEventSchema, { venue: 'okx', symbol: 'BTC-USDT', kind: 'skew', detail: 'ahead', tsNs: 3_000_000_000n }));
    await bus.flush();
    await settle();
    expect(svc.stats().anomalies).toBe(51);
    expect(got.map((e) => e.detail)).toEqual(['ahead', 'ahead (+49 suppressed since last event)']);
  });
});
