import { systemClock } from '../../src/clock/clock.js';
import { fromBinary } from '@bufbuild/protobuf';
import { afterEach, describe, expect, it } from 'vitest';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { VenueHealthSchema, type VenueHealth } from '../../src/contracts/gen/kestrel/v1/venue_pb.js';
import { MemoryRefData } from '../../src/refdata/index.js';
import { startSimulatedMarketData, type SimulatedMarketData } from '../../src/simulators/market-data-session.js';
import { CollectingSink } from '../venues/market-data/helpers.js';
import { until } from '../support/wait.js';

let md: SimulatedMarketData | undefined;
let bus: InProcessBus | undefined;
afterEach(async () => {
  await md?.stop();
  await bus?.close();
  md = undefined;
  bus = undefined;
});

describe('simulated market data session (simulators + adapters over real sockets)', () => {
  it('delivers ticks from all three venues with reference-data symbol ids and publishes VenueHealth on md.health and venue.health', async () => {
    bus = new InProcessBus();
    const health = new Map<string, VenueHealth>();
    bus.subscribe('venue.health.*', (m) => void health.set(m.subject, fromBinary(VenueHealthSchema, m.data)));
    bus.subscribe('md.health.*', (m) => void health.set(m.subject, fromBinary(VenueHealthSchema, m.data)));
    const sink = new CollectingSink();
    const refData = new MemoryRefData();
    md = await startSimulatedMarketData({ clock: systemClock, sink, bus, refData, pace: 'instant' });
    await md.finished();
    await until(() => health.size === 6, 5000, 'health on all six subjects');
    for (const venue of ['binance', 'kraken', 'okx'] as const) {
      const ticks = sink.ticks.filter((t) => t.venue === venue);
      expect(ticks.length, venue).toBeGreaterThan(0);
      const expected = (await refData.mappings(venue)).find((m) => m.symbol === ticks[0]!.symbol)!;
      expect(ticks[0]!.symbolId).toBe(expected.symbolId);
      const h = health.get(`venue.health.${venue}`)!;
      expect(h.venue).toBe(venue);
      expect(h.publicWs?.connected).toBe(true);
      expect(h.publicWs?.reconnectCount).toBe(0);
      expect(health.get(`md.health.${venue}`)!.venue).toBe(venue);
    }
    expect(sink.eventKinds('checksum')).toHaveLength(0);
    expect(sink.eventKinds('gap')).toHaveLength(0);
    expect(md.adapters.kraken!.stats().checksumFailures).toBe(0);
  }, 60_000);

  it('reports a reconnect in VenueHealth after a dropped connection', async () => {
    bus = new InProcessBus();
    let last: VenueHealth | undefined;
    bus.subscribe('venue.health.kraken', (m) => void (last = fromBinary(VenueHealthSchema, m.data)));
    const sink = new CollectingSink();
    md = await startSimulatedMarketData({ clock: systemClock, sink, bus, venues: ['kraken'], pace: 'accelerated', speed: 20 });
    await until(() => sink.ticks.length > 5, 5000, 'ticks');
    md.simulators.kraken!.inject({ kind: 'drop' });
    await until(() => md!.adapters.kraken!.stats().reconnects === 1 && md!.adapters.kraken!.isSynced('BTC/USD'), 5000, 'reconnect');
    md.adapters.kraken!.publishHealth();
    await bus.flush();
    await until(() => last !== undefined, 2000, 'health');
    expect(last?.publicWs?.reconnectCount).toBe(1);
    expect(last?.publicWs?.connected).toBe(true);
  });

  it('refuses reference data that has none of the recorded instruments', async () => {
    const sink = new CollectingSink();
    const refData = { mappings: async () => [{ venueSymbol: 'ETHUSDT', symbol: 'ETH-USDT', symbolId: 2 }] };
    await expect(startSimulatedMarketData({ clock: systemClock, sink, refData, venues: ['binance'] })).rejects.toThrow(/no binance symbol/);
  });
});
