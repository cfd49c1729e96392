/**
 * The default-session wiring: simulated venues fed with the real Binance capture, gateways on the
 * bus; an order priced off the replayed book fills on every venue and the fills come back on
 * ord.ack.{venue}.
 */
import { systemClock } from '../../../src/clock/clock.js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessBus } from '../../../src/bus/in-process-bus.js';
import {
  OrderAckSchema,
  OrderRequestSchema,
  OrderStatus,
  OrderType,
  RejectReason,
  Side,
  TimeInForce,
  subjects,
  type OrderAck,
} from '../../../src/contracts/index.js';
import { startSimulatedOrderEntry, type SimulatedOrderEntry } from '../../../src/venues/index.js';

describe('simulated order entry for the default session', () => {
  let bus: InProcessBus;
  let oe: SimulatedOrderEntry;
  const acks: OrderAck[] = [];

  beforeAll(async () => {
    bus = new InProcessBus();
    oe = await startSimulatedOrderEntry({
      clock: systemClock,
      bus,
      namespace: 'live',
      mode: 'realistic',
      replay: { speed: 0, maxRecords: 5000 },
      specs: { okx: { venue: 'okx', hasPrivateWs: false, venuePolicy: 'shadow_only' } },
    });
    bus.subscribe('ord.ack.*', (m) => void acks.push(fromBinary(OrderAckSchema, m.data)));
    expect(await oe.replayed).toBe(5000);
  });
  afterAll(async () => {
    await oe.stop();
    await bus.close();
  });

  it('fills a marketable order against the replayed book on binance and kraken; okx is shadow_only', async () => {
    expect(oe.sims.binance.engine.bestAsk('BTC-USDT')).toBeGreaterThan(10_000);
    for (const venue of ['binance', 'kraken', 'okx'] as const) {
      const ask = oe.sims[venue].engine.bestAsk('BTC-USDT')!;
      const req = create(OrderRequestSchema, {
        clientId: `S${venue}1`,
        venue,
        symbol: 'BTC-USDT',
        side: Side.BUY,
        size: 0.001,
        price: ask,
        tif: TimeInForce.IOC,
        orderType: OrderType.LIMIT,
      });
      const r = await bus.request(subjects.orderReq(venue, 'live'), toBinary(OrderRequestSchema, req), { timeoutMs: 2000 });
      const ack = fromBinary(OrderAckSchema, r.data);
      if (venue === 'okx') {
        expect(RejectReason[ack.rejectReason]).toBe('VENUE_POLICY');
        continue;
      }
      expect(ack.status).toBe(OrderStatus.NEW);
      await expect.poll(() => acks.find((a) => a.clientId === req.clientId && a.status === OrderStatus.FILLED)).toBeDefined();
      const fill = acks.find((a) => a.clientId === req.clientId && a.status === OrderStatus.FILLED)!;
      expect(fill.avgPrice).toBeCloseTo(ask, 6);
    }
  });
});

describe('simulated order entry, each venue replaying its own capture', () => {
  it('fills on Kraken BTC-USD and OKX BTC-USDT at their own recorded touch', async () => {
    const bus = new InProcessBus();
    const oe = await startSimulatedOrderEntry({
      clock: systemClock,
      namespace: 'live',
      bus,
      mode: 'realistic',
      replay: { speed: 0, source: 'per-venue', maxRecords: 2000 },
    });
    const acks: OrderAck[] = [];
    bus.subscribe('ord.ack.*', (m) => void acks.push(fromBinary(OrderAckSchema, m.data)));
    try {
      expect(await oe.replayed).toBeGreaterThan(2000);
      for (const [venue, symbol] of [
        ['kraken', 'BTC-USD'],
        ['okx', 'BTC-USDT'],
      ] as const) {
        const ask = oe.sims[venue].engine.bestAsk(symbol)!;
        expect(ask).toBeGreaterThan(10_000);
        const req = create(OrderRequestSchema, {
          clientId: `P${venue}1`,
          venue,
          symbol,
          side: Side.BUY,
          size: 0.001,
          price: ask,
          tif: TimeInForce.IOC,
          orderType: OrderType.LIMIT,
        });
        const r = await bus.request(subjects.orderReq(venue, 'live'), toBinary(OrderRequestSchema, req), { timeoutMs: 2000 });
        expect(fromBinary(OrderAckSchema, r.data).status).toBe(OrderStatus.NEW);
        await expect.poll(() => acks.find((a) => a.clientId === req.clientId && a.status === OrderStatus.FILLED)).toBeDefined();
      }
      // The venues replay different days: their books differ.
      expect(oe.sims.kraken.engine.bestAsk('BTC-USD')).not.toBe(oe.sims.okx.engine.bestAsk('BTC-USDT'));
    } finally {
      await oe.stop();
      await bus.close();
    }
  });
});
