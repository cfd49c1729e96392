/**
 * MatchingVenueClient: the VenueOrderClient contract on the in-process matching engine (the backtest
 * kernel's venue). Reply first, then the execution stream; engine refusals mapped to the taxonomy;
 * the venue's record answers orderStatus/openOrders for the executor's reconciliation.
 */
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src/clock/clock.js';
import {
  CancelRequestSchema,
  OrderRequestSchema,
  OrderStatus,
  OrderType,
  RejectReason,
  Side,
  TimeInForce,
} from '../../../src/contracts/index.js';
import type { SymbolRules } from '../../../src/simulators/matching/engine.js';
import { MatchingVenueClient } from '../../../src/venues/matching-client.js';
import type { OrderAck } from '../../../src/venues/common/order-types.js';

const BTC: SymbolRules = {
  symbol: 'BTC-USDT',
  base: 'BTC',
  quote: 'USDT',
  tickSize: 0.01,
  lotStep: 0.00001,
  minQty: 0.0001,
  maxQty: 100,
  priceBandBps: 500,
  makerFee: 0.0008,
  takerFee: 0.001,
};

function venue() {
  const clock = new VirtualClock(1_700_000_000_000_000_000n);
  const c = new MatchingVenueClient({ venue: 'binance', mode: 'paper', symbols: [BTC], balances: { USDT: 1_000_000, BTC: 10 }, clock });
  const updates: OrderAck[] = [];
  c.onUpdate((a) => updates.push(a));
  c.feedBook('BTC-USDT', [[99, 2]], [[101, 1]]);
  return { c, clock, updates };
}

const order = (over: Partial<{ clientId: string; side: Side; size: number; price: number; tif: TimeInForce }> = {}) =>
  create(OrderRequestSchema, {
    clientId: 'KS1',
    venue: 'binance',
    symbol: 'BTC-USDT',
    side: Side.BUY,
    size: 0.5,
    price: 101,
    tif: TimeInForce.IOC,
    orderType: OrderType.LIMIT,
    orderGroupId: 'g1',
    ...over,
  });

const nextTurn = () => new Promise((r) => setImmediate(r));

describe('MatchingVenueClient', () => {
  it('replies NEW, then streams the fill on the next turn, stamped with the injected clock', async () => {
    const { c, clock, updates } = venue();
    await c.connect();
    const ack = await c.place(order());
    expect(ack.status).toBe(OrderStatus.NEW);
    expect(ack.filledQty).toBe(0);
    expect(updates).toEqual([]);
    expect(c.undelivered).toBeGreaterThan(0);
    await nextTurn();
    expect(c.undelivered).toBe(0);
    const fill = updates.find((u) => u.lastFillQty > 0)!;
    expect(fill.status).toBe(OrderStatus.FILLED);
    expect(fill.filledQty).toBeCloseTo(0.5, 12);
    expect(fill.lastFillPrice).toBe(101);
    expect(fill.fee).toBeGreaterThan(0);
    expect(fill.orderGroupId).toBe('g1');
    expect(fill.tsNs).toBe(clock.nowNs());
  });

  it('an IOC that does not cross expires unfilled (CANCELLED on the stream and in orderStatus)', async () => {
    const { c, updates } = venue();
    await c.connect();
    expect((await c.place(order({ price: 100 }))).status).toBe(OrderStatus.NEW);
    await nextTurn();
    expect(updates.map((u) => [u.status, u.filledQty])).toEqual([[OrderStatus.CANCELLED, 0]]);
    expect((await c.orderStatus('KS1'))?.status).toBe(OrderStatus.CANCELLED);
  });

  it('maps engine refusals to the reject taxonomy and never throws for them', async () => {
    const { c } = venue();
    await c.connect();
    expect((await c.place(order({ price: 101.005 }))).rejectReason).toBe(RejectReason.PRICE_PRECISION);
    expect((await c.place(order({ clientId: 'KS2', size: 0.00001 }))).rejectReason).toBe(RejectReason.MIN_SIZE);
    expect((await c.place(order({ clientId: 'KS3', side: Side.SELL, size: 50, price: 99 }))).rejectReason).toBe(
      RejectReason.INSUFFICIENT_BALANCE,
    );
    expect((await c.place(order({ clientId: 'KS4', price: 150 }))).rejectReason).toBe(RejectReason.PRICE_BANDS);
  });

  it('a resting GTC order is open, fills from market data, and can be cancelled', async () => {
    const { c, updates } = venue();
    await c.connect();
    await c.place(order({ clientId: 'R1', price: 100, size: 0.2, tif: TimeInForce.GTC }));
    expect((await c.openOrders()).map((o) => o.clientId)).toEqual(['R1']);
    await c.place(order({ clientId: 'R2', price: 96, size: 0.2, tif: TimeInForce.GTC }));
    c.feedBook('BTC-USDT', [[98, 1]], [[99.5, 0.2]]);
    await nextTurn();
    expect(updates.filter((u) => u.clientId === 'R1' && u.status === OrderStatus.FILLED)).toHaveLength(1);
    const cancelled = await c.cancel(create(CancelRequestSchema, { clientId: 'R2', venue: 'binance', reason: 'test' }));
    expect(cancelled.status).toBe(OrderStatus.CANCELLED);
    expect(await c.openOrders()).toEqual([]);
    expect(await c.orderStatus('never')).toBeUndefined();
  });

  it('reports the connection like a private stream', async () => {
    const { c } = venue();
    const seen: boolean[] = [];
    c.onConnectionChange((up) => seen.push(up));
    await c.connect();
    await c.close();
    expect(seen).toEqual([true, false]);
    expect(c.connected).toBe(false);
  });
});
