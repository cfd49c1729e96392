/**
 * Fault injection of the simulated venues and what the gateway makes of it: a lost or late ack is
 * an unknown outcome (never reported as a rejection), resolved from the venue's order status.
 */
import { systemClock } from '../../../src/clock/clock.js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { afterEach, describe, expect, it } from 'vitest';
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
  type VenueName,
} from '../../../src/contracts/index.js';
import { startPrivateVenues, TEST_CREDENTIALS, type PrivateVenues } from '../../../src/simulators/private/index.js';
import { createOrderClient, OrderGateway, VenueClientError } from '../../../src/venues/index.js';

let venues: PrivateVenues | undefined;
let gw: OrderGateway | undefined;
let bus: InProcessBus | undefined;

afterEach(async () => {
  await gw?.stop();
  await bus?.close();
  await venues?.stop();
  gw = undefined;
  bus = undefined;
  venues = undefined;
});

function req(venue: VenueName, clientId: string) {
  return create(OrderRequestSchema, {
    clientId,
    venue,
    symbol: 'BTC-USDT',
    side: Side.BUY,
    size: 0.01,
    price: 49_000,
    tif: TimeInForce.GTC,
    orderType: OrderType.LIMIT,
    orderGroupId: 'g',
  });
}

describe.each(['binance', 'kraken', 'okx'] as const)('%s faults', (venue) => {
  async function setup(timeoutMs: number, heartbeatMs = 5000) {
    venues = await startPrivateVenues({ mode: 'paper' });
    const sim = venues[venue];
    sim.feedBook('BTC-USDT', [[49_999, 1]], [[50_001, 1]]);
    const client = createOrderClient(venue, {
      clock: systemClock,
      wsUrl: sim.wsUrl,
      restUrl: sim.url,
      credentials: TEST_CREDENTIALS[venue],
      requestTimeoutMs: timeoutMs,
      heartbeatMs,
    });
    bus = new InProcessBus();
    gw = new OrderGateway({
      clock: systemClock,
      namespace: 'live',
      bus,
      client,
      spec: { venue, hasPrivateWs: true, venuePolicy: 'production' },
    });
    await gw.start();
    const acks: OrderAck[] = [];
    bus.subscribe(subjects.orderAck(venue, 'live'), (m) => void acks.push(fromBinary(OrderAckSchema, m.data)));
    return { sim, client, acks };
  }

  it('a swallowed ack is an unknown outcome, then resolved to NEW from the venue', async () => {
    const { sim, acks } = await setup(150);
    sim.faults.swallowReplies = true;
    const r = await bus!.request(subjects.orderReq(venue, 'live'), toBinary(OrderRequestSchema, req(venue, 'L0st1')), { timeoutMs: 2000 });
    const ack = fromBinary(OrderAckSchema, r.data);
    expect(ack.status).toBe(OrderStatus.ORDER_STATUS_UNSPECIFIED);
    expect(ack.rejectDetail).toMatch(/^UNKNOWN_OUTCOME/);
    sim.faults.swallowReplies = false;
    await expect.poll(() => acks.find((a) => a.clientId === 'L0st1' && a.status === OrderStatus.NEW)).toBeDefined();
    expect(sim.receivedCounts().L0st1?.place).toBe(1);
  });

  it('a delayed ack beyond the client timeout rejects place() with TIMEOUT, the order still rests', async () => {
    const { sim, client } = await setup(100);
    sim.faults.delayAckMs = 300;
    await expect(client.place(req(venue, 'Sl0w1'))).rejects.toBeInstanceOf(VenueClientError);
    sim.faults.delayAckMs = 0;
    expect((await client.orderStatus('Sl0w1'))?.status).toBe(OrderStatus.NEW);
  });

  it('injected rejects map through the venue codes', async () => {
    const { sim, client } = await setup(1000);
    sim.faults.rejectNext = { count: 2, code: 'INSUFFICIENT_BALANCE' };
    const a = await client.place(req(venue, 'Rj1'));
    const b = await client.place(req(venue, 'Rj2'));
    const c = await client.place(req(venue, 'Rj3'));
    expect([a, b, c].map((x) => RejectReason[x.rejectReason])).toEqual(['INSUFFICIENT_BALANCE', 'INSUFFICIENT_BALANCE', 'UNKNOWN']);
    expect(c.status).toBe(OrderStatus.NEW);
  });

  it('refused reconnects keep new orders halted until the venue accepts connections again', async () => {
    const { sim, client } = await setup(1000);
    sim.dropPrivate(400);
    await expect.poll(() => client.connected).toBe(false);
    const r = await bus!.request(subjects.orderReq(venue, 'live'), toBinary(OrderRequestSchema, req(venue, 'H4lt1')), { timeoutMs: 1000 });
    expect(RejectReason[fromBinary(OrderAckSchema, r.data).rejectReason]).toBe('VENUE_UNAVAILABLE');
    expect(sim.receivedCounts().H4lt1).toBeUndefined();
    await expect.poll(() => client.connected, { timeout: 5000 }).toBe(true);
  });

  it('a frozen venue (no pongs, no replies) is detected by the heartbeat: orders halt, then reconnect', async () => {
    const { sim, client } = await setup(1000, 100);
    const downs: boolean[] = [];
    client.onConnectionChange((up) => downs.push(up));
    sim.freezePrivate();
    await expect.poll(() => client.connected, { timeout: 2000 }).toBe(false);
    const r = await bus!.request(subjects.orderReq(venue, 'live'), toBinary(OrderRequestSchema, req(venue, 'Fr0z1')), { timeoutMs: 1000 });
    expect(RejectReason[fromBinary(OrderAckSchema, r.data).rejectReason]).toBe('VENUE_UNAVAILABLE');
    await expect.poll(() => client.connected, { timeout: 5000 }).toBe(true);
    expect(downs).toEqual([false, true]);
  });
});
