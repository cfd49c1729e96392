/**
 * Order-entry contract every venue client must meet against its simulator, over real sockets:
 * place/ack, full and partial fills from the private stream, reject mapping, cancel, replace,
 * dropped private stream (new orders halt through the gateway, reconcile after reconnect), and
 * signature verification (a wrong secret is refused).
 */
import { systemClock } from '../../../src/clock/clock.js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InProcessBus } from '../../../src/bus/in-process-bus.js';
import {
  CancelRequestSchema,
  OrderAckSchema,
  OrderRequestSchema,
  OrderStatus,
  OrderType,
  RejectReason,
  ReplaceRequestSchema,
  Side,
  VenueHealthSchema,
  TimeInForce,
  subjects,
  type OrderAck,
  type OrderRequest,
  type VenueName,
} from '../../../src/contracts/index.js';
import { createOrderClient, OrderGateway, type VenueCredentials, type VenueOrderClient } from '../../../src/venues/index.js';
import {
  BinancePrivateSim,
  KrakenPrivateSim,
  OkxPrivateSim,
  DEFAULT_BALANCES,
  DEFAULT_SYMBOLS,
  TEST_CREDENTIALS,
  type PrivateVenueSim,
} from '../../../src/simulators/private/index.js';
import type { EngineMode } from '../../../src/simulators/matching/engine.js';

const BOOK_BIDS: Array<[number, number]> = [
  [49_999, 0.5],
  [49_998, 1],
];
const BOOK_ASKS: Array<[number, number]> = [
  [50_001, 0.5],
  [50_002, 1],
];

export async function startSim(venue: VenueName, mode: EngineMode = 'realistic'): Promise<PrivateVenueSim> {
  const opts = { mode, symbols: DEFAULT_SYMBOLS, balances: { ...DEFAULT_BALANCES }, credentials: TEST_CREDENTIALS[venue] };
  const sim = venue === 'binance' ? new BinancePrivateSim(opts) : venue === 'kraken' ? new KrakenPrivateSim(opts) : new OkxPrivateSim(opts);
  await sim.start();
  sim.feedBook('BTC-USDT', BOOK_BIDS, BOOK_ASKS);
  return sim;
}

export function clientFor(venue: VenueName, sim: PrivateVenueSim, credentials?: VenueCredentials): VenueOrderClient {
  return createOrderClient(venue, {
    clock: systemClock,
    wsUrl: sim.wsUrl,
    restUrl: sim.url,
    credentials: credentials ?? TEST_CREDENTIALS[venue],
    requestTimeoutMs: 1000,
    reconnectDelayMs: 50,
    minLots: { 'BTC-USDT': 0.0001 },
  });
}

let seq = 0;
type OrderOverrides = Partial<Pick<OrderRequest, 'clientId' | 'symbol' | 'side' | 'size' | 'price' | 'tif' | 'orderType' | 'shadow'>>;
export function order(venue: VenueName, o: OrderOverrides = {}): OrderRequest {
  seq++;
  return create(OrderRequestSchema, {
    clientId: `K${Date.now().toString(36)}${seq}`.slice(0, 18),
    venue,
    symbol: 'BTC-USDT',
    side: Side.BUY,
    size: 0.1,
    price: 49_000,
    tif: TimeInForce.GTC,
    orderType: OrderType.LIMIT,
    orderGroupId: 'g1',
    ...o,
  });
}

/** Collect updates for one client id until `until` holds. */
function waitFor(client: VenueOrderClient, clientId: string, until: (a: OrderAck) => boolean, ms = 2000): Promise<OrderAck[]> {
  return new Promise((resolve, reject) => {
    const seen: OrderAck[] = [];
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timeout waiting for update of ${clientId}; saw ${seen.map((a) => OrderStatus[a.status]).join(',')}`));
    }, ms);
    const off = client.onUpdate((a) => {
      if (a.clientId !== clientId) return;
      seen.push(a);
      if (until(a)) {
        clearTimeout(timer);
        off();
        resolve(seen);
      }
    });
  });
}

export interface ContractOptions {
  /** Suite label suffix, e.g. 'ed25519'. */
  readonly label?: string;
  readonly credentials?: VenueCredentials;
  /** Credentials the simulator must refuse. */
  readonly wrongCredentials?: VenueCredentials;
}

function wrongDefault(venue: VenueName): VenueCredentials {
  const c = TEST_CREDENTIALS[venue];
  return { ...c, apiSecret: venue === 'kraken' ? Buffer.from('not-the-kraken-secret').toString('base64') : 'not-the-secret-at-all' };
}

export function orderEntryContract(venue: VenueName, co: ContractOptions = {}): void {
  const name = co.label ? `${venue} (${co.label})` : venue;
  const creds = co.credentials;
  describe(`${name} order entry over real sockets`, () => {
    let sim: PrivateVenueSim;
    let client: VenueOrderClient;

    beforeEach(async () => {
      sim = await startSim(venue);
      client = clientFor(venue, sim, creds);
      await client.connect();
    });
    afterEach(async () => {
      await client.close();
      await sim.stop();
    });

    it('acks a resting limit order as NEW with a venue order id and lists it as open', async () => {
      const req = order(venue);
      const ack = await client.place(req);
      expect(ack.status).toBe(OrderStatus.NEW);
      expect(ack.clientId).toBe(req.clientId);
      expect(ack.venueOrderId).not.toBe('');
      const open = await client.openOrders();
      expect(open.map((a) => a.clientId)).toContain(req.clientId);
      const st = await client.orderStatus(req.clientId);
      expect(st?.status).toBe(OrderStatus.NEW);
      expect(sim.receivedCounts()[req.clientId]?.place).toBe(1);
    });

    it('reports a marketable order filled from the private stream, walking the depth with partial fills', async () => {
      // 0.8 against 0.5 @ 50001 then 1 @ 50002: two fills, PARTIAL then FILLED.
      const req = order(venue, { size: 0.8, price: 50_002 });
      const updates = waitFor(client, req.clientId, (a) => a.status === OrderStatus.FILLED);
      const ack = await client.place(req);
      expect(ack.status).toBe(OrderStatus.NEW);
      const seen = await updates;
      const fills = seen.filter((a) => a.lastFillQty > 0);
      expect(fills.map((a) => [a.lastFillQty, a.lastFillPrice])).toEqual([
        [0.5, 50_001],
        [0.3, 50_002],
      ]);
      expect(fills[0]!.status).toBe(OrderStatus.PARTIAL);
      const last = seen[seen.length - 1]!;
      expect(last.filledQty).toBeCloseTo(0.8, 9);
      expect(last.avgPrice).toBeCloseTo((0.5 * 50_001 + 0.3 * 50_002) / 0.8, 6);
      // Each fill update carries that fill's fee (taker 0.1 %).
      expect(fills[0]!.fee).toBeCloseTo(0.5 * 50_001 * 0.001, 6);
      expect(fills[1]!.fee).toBeCloseTo(0.3 * 50_002 * 0.001, 6);
      // A restarted client (no memory of the order) finds the closed order by client id + symbol.
      const fresh = clientFor(venue, sim, creds);
      await fresh.connect();
      try {
        const st = await fresh.orderStatus(req.clientId, 'BTC-USDT');
        expect(st?.status).toBe(OrderStatus.FILLED);
        expect(st?.filledQty).toBeCloseTo(0.8, 9);
        expect(st?.fee).toBeCloseTo((0.5 * 50_001 + 0.3 * 50_002) * 0.001, 6);
        expect(await fresh.orderStatus('NeverSent1', 'BTC-USDT')).toBeUndefined();
      } finally {
        await fresh.close();
      }
      // Without the symbol hint, the configured symbols are searched.
      const fresh2 = createOrderClient(venue, {
        clock: systemClock,
        wsUrl: sim.wsUrl,
        restUrl: sim.url,
        credentials: creds ?? TEST_CREDENTIALS[venue],
        symbols: ['ETH-USDT', 'BTC-USDT'],
      });
      await fresh2.connect();
      try {
        expect((await fresh2.orderStatus(req.clientId))?.status).toBe(OrderStatus.FILLED);
      } finally {
        await fresh2.close();
      }
    });

    it('fills a resting order partially from the tape after its queue, then fully', async () => {
      // Join the bid at 49999 behind 0.5 displayed.
      const req = order(venue, { size: 0.2, price: 49_999 });
      await client.place(req);
      const partial = waitFor(client, req.clientId, (a) => a.status === OrderStatus.PARTIAL);
      sim.feedTrade('BTC-USDT', 49_999, 0.6, 'sell'); // 0.5 queue ahead, 0.1 to us
      const p = (await partial).pop()!;
      expect(p.lastFillQty).toBeCloseTo(0.1, 9);
      expect(p.filledQty).toBeCloseTo(0.1, 9);
      const filled = waitFor(client, req.clientId, (a) => a.status === OrderStatus.FILLED);
      sim.feedTrade('BTC-USDT', 49_999, 0.5, 'sell');
      expect((await filled).pop()!.filledQty).toBeCloseTo(0.2, 9);
    });

    it('IOC remainder is cancelled after a partial fill', async () => {
      const req = order(venue, { size: 2, price: 50_001, tif: TimeInForce.IOC });
      const done = waitFor(client, req.clientId, (a) => a.status === OrderStatus.CANCELLED);
      await client.place(req);
      const last = (await done).pop()!;
      expect(last.filledQty).toBeCloseTo(0.5, 9);
    });

    it.each([
      ['INSUFFICIENT_BALANCE', { size: 50, price: 49_000 }, RejectReason.INSUFFICIENT_BALANCE],
      ['MIN_SIZE', { size: 0.00005 }, RejectReason.MIN_SIZE],
      ['PRICE_PRECISION', { price: 49_000.005 }, RejectReason.PRICE_PRECISION],
      ['SIZE_PRECISION', { size: 0.100001 }, RejectReason.SIZE_PRECISION],
      ['PRICE_BAND', { price: 40_000 }, RejectReason.PRICE_BANDS],
      ['UNKNOWN_SYMBOL', { symbol: 'DOGE-USDT' }, RejectReason.INVALID_SYMBOL],
    ] as const)('maps the venue refusal %s to the taxonomy', async (_name, o, reason) => {
      const ack = await client.place(order(venue, o));
      expect(ack.status).toBe(OrderStatus.REJECTED);
      expect(RejectReason[ack.rejectReason]).toBe(RejectReason[reason]);
      expect(ack.rejectDetail).not.toBe('');
    });

    it.each([
      ['a STOP order (would be mis-priced as a limit)', { orderType: OrderType.STOP }],
      ['no side', { side: Side.SIDE_UNSPECIFIED }],
      ['a zero size', { size: 0 }],
      ['a NaN price', { price: Number.NaN }],
      ['a venue-format symbol', { symbol: 'BTCUSDT' }],
    ] as const)('refuses %s locally; nothing reaches the venue', async (_what, o) => {
      const req = order(venue, o);
      const ack = await client.place(req);
      expect(ack.status).toBe(OrderStatus.REJECTED);
      expect(ack.rejectDetail).toMatch(/refused locally/);
      expect(sim.receivedCounts()[req.clientId]).toBeUndefined();
    });

    it('maps injected rate limiting and duplicate client ids', async () => {
      sim.faults.rejectNext = { count: 1, code: 'RATE_LIMIT' };
      const limited = await client.place(order(venue));
      expect(RejectReason[limited.rejectReason]).toBe('RATE_LIMIT');
      const req = order(venue);
      expect((await client.place(req)).status).toBe(OrderStatus.NEW);
      // A second placement under a known id is refused locally and never reaches the venue ...
      const dup = await client.place(req);
      expect(RejectReason[dup.rejectReason]).toBe('DUPLICATE_ORDER');
      expect(sim.receivedCounts()[req.clientId]?.place).toBe(1);
      // ... and the venue's own duplicate refusal maps to the same reason.
      sim.faults.rejectNext = { count: 1, code: 'DUPLICATE_CLIENT_ID' };
      const venueDup = await client.place(order(venue));
      expect(RejectReason[venueDup.rejectReason]).toBe('DUPLICATE_ORDER');
      expect(venueDup.rejectDetail).not.toMatch(/locally/);
    });

    it('a client that reconnects learns the open orders and refuses to place them again', async () => {
      const req = order(venue);
      await client.place(req);
      const other = clientFor(venue, sim, creds);
      await other.connect();
      try {
        await other.openOrders();
        const dup = await other.place(req);
        expect(RejectReason[dup.rejectReason]).toBe('DUPLICATE_ORDER');
        expect(sim.receivedCounts()[req.clientId]?.place).toBe(1);
      } finally {
        await other.close();
      }
    });

    it('enforces the venue rate limit window', async () => {
      sim.limiter.limit = 3;
      sim.limiter.windowMs = 60_000; // one window for the whole test, however slow the machine
      const acks = [];
      for (let i = 0; i < 5; i++) acks.push(await client.place(order(venue)));
      expect(acks.map((a) => RejectReason[a.rejectReason])).toEqual(['UNKNOWN', 'UNKNOWN', 'UNKNOWN', 'RATE_LIMIT', 'RATE_LIMIT']);
    });

    it('cancels an open order and reports CANCELLED on the stream; cancel of unknown is rejected', async () => {
      const req = order(venue);
      await client.place(req);
      const stream = waitFor(client, req.clientId, (a) => a.status === OrderStatus.CANCELLED);
      const ack = await client.cancel(create(CancelRequestSchema, { clientId: req.clientId, venue }));
      expect(ack.status).toBe(OrderStatus.CANCELLED);
      await stream;
      expect(await client.openOrders()).toHaveLength(0);
      const again = await client.cancel(create(CancelRequestSchema, { clientId: req.clientId, venue }));
      expect(again.status).toBe(OrderStatus.REJECTED);
    });

    it('replaces price and quantity keeping the client id, and the new price fills', async () => {
      const req = order(venue, { size: 0.1, price: 49_000 });
      await client.place(req);
      const ack = await client.replace(create(ReplaceRequestSchema, { clientId: req.clientId, venue, newPrice: 49_500, newQuantity: 0.2 }));
      expect(ack.status).toBe(OrderStatus.NEW);
      const open = await client.openOrders();
      const mine = open.find((a) => a.clientId === req.clientId);
      expect(mine).toBeDefined();
      const state = sim.engine.findOpenByClientId('main', req.clientId)!;
      expect(state.price).toBe(49_500);
      expect(state.qty).toBeCloseTo(0.2, 9);
      // Book trades through 49500: the replaced order fills completely at its new limit.
      const filled = waitFor(client, req.clientId, (a) => a.status === OrderStatus.FILLED);
      sim.feedBook('BTC-USDT', [[49_400, 1]], [[49_450, 1]]);
      const last = (await filled).pop()!;
      expect(last.filledQty).toBeCloseTo(0.2, 9);
      expect(last.lastFillPrice).toBe(49_500);
      expect(sim.receivedCounts()[req.clientId]).toMatchObject({ place: 1, replace: 1 });
    });

    it('a replace to a bad price is rejected and the order keeps resting', async () => {
      const req = order(venue);
      await client.place(req);
      const ack = await client.replace(create(ReplaceRequestSchema, { clientId: req.clientId, venue, newPrice: 49_000.001 }));
      expect(ack.status).toBe(OrderStatus.REJECTED);
      expect(RejectReason[ack.rejectReason]).toBe('PRICE_PRECISION');
      expect(sim.engine.findOpenByClientId('main', req.clientId)?.price).toBe(49_000);
    });

    it('reports balances', async () => {
      const b = await client.balances();
      expect(b.USDT).toBeGreaterThan(0);
      expect(b.BTC).toBeCloseTo(10, 6);
    });
  });

  describe(`${name} signing`, () => {
    it('a wrong secret is refused by the simulator and place is never reached', async () => {
      const sim = await startSim(venue);
      const client = clientFor(venue, sim, co.wrongCredentials ?? wrongDefault(venue));
      try {
        await expect(client.connect()).rejects.toMatchObject({ code: 'AUTH_FAILED' });
        expect(client.connected).toBe(false);
        expect(Object.keys(sim.receivedCounts())).toHaveLength(0);
      } finally {
        await client.close();
        await sim.stop();
      }
    });
  });

  describe(`${name} gateway on the bus`, () => {
    let sim: PrivateVenueSim;
    let bus: InProcessBus;
    let gw: OrderGateway;
    let acks: OrderAck[];
    const heads: Array<Record<string, string>> = [];

    beforeAll(async () => {
      sim = await startSim(venue);
      bus = new InProcessBus();
      gw = new OrderGateway({
        clock: systemClock,
        namespace: 'live',
        bus,
        client: clientFor(venue, sim, creds),
        spec: { venue, hasPrivateWs: true, venuePolicy: 'production' },
      });
      await gw.start();
      acks = [];
      bus.subscribe(subjects.orderAck(venue, 'live'), (m) => {
        acks.push(fromBinary(OrderAckSchema, m.data));
        heads.push({ ...m.headers });
      });
    });
    afterAll(async () => {
      await gw.stop();
      await bus.close();
      await sim.stop();
    });

    async function send(req: OrderRequest): Promise<OrderAck> {
      const r = await bus.request(subjects.orderReq(venue, 'live'), toBinary(OrderRequestSchema, req), { timeoutMs: 1000 });
      return fromBinary(OrderAckSchema, r.data);
    }

    it('places through ord.req and publishes stream updates on ord.ack with correlation headers', async () => {
      const req = order(venue, { size: 0.1, price: 50_001 });
      const ack = await send(req);
      expect(ack.status).toBe(OrderStatus.NEW);
      await expect.poll(() => acks.find((a) => a.clientId === req.clientId && a.status === OrderStatus.FILLED)).toBeDefined();
      const i = acks.findIndex((a) => a.clientId === req.clientId);
      expect(heads[i]).toMatchObject({ correlation_id: req.clientId, order_group_id: 'g1' });
    });

    it('dropped private stream: new orders halt with VENUE_UNAVAILABLE, reconnect reconciles open orders', async () => {
      const health: Array<{ connected: boolean; reconnects: number }> = [];
      const hsub = bus.subscribe(subjects.venueHealth(venue, 'live'), (m) => {
        const h = fromBinary(VenueHealthSchema, m.data);
        health.push({ connected: h.privateWs!.connected, reconnects: h.privateWs!.reconnectCount });
      });
      const resting = order(venue);
      expect((await send(resting)).status).toBe(OrderStatus.NEW);
      const other = order(venue, { price: 47_600 }); // stays open through the outage
      expect((await send(other)).status).toBe(OrderStatus.NEW);
      acks.length = 0;
      sim.dropPrivate(300); // refuse reconnects for 300 ms
      await expect.poll(() => gw['opts'].client.connected).toBe(false);
      const halted = await send(order(venue));
      expect(halted.status).toBe(OrderStatus.REJECTED);
      expect(RejectReason[halted.rejectReason]).toBe('VENUE_UNAVAILABLE');
      // While down the resting order fills; after reconnect the gateway publishes the venue's truth.
      sim.feedBook('BTC-USDT', [[48_000, 1]], [[48_900, 1]]);
      await expect.poll(() => gw['opts'].client.connected, { timeout: 5000 }).toBe(true);
      // The fill that happened while the stream was down is published by the reconciliation.
      await expect
        .poll(() => acks.find((a) => a.clientId === resting.clientId && a.status === OrderStatus.FILLED), { timeout: 3000 })
        .toBeDefined();
      const stillOpen = acks.find((a) => a.clientId === other.clientId);
      expect(stillOpen?.status).toBe(OrderStatus.NEW);
      expect((await send(order(venue, { price: 48_000 }))).status).toBe(OrderStatus.NEW);
      expect(sim.duplicatePlacements()).toEqual([]);
      // venue.health.{venue} reported the outage and the recovery as they happened.
      hsub.unsubscribe();
      const down = health.findIndex((h) => !h.connected);
      expect(down).toBeGreaterThanOrEqual(0);
      expect(health.slice(down).find((h) => h.connected)?.reconnects).toBeGreaterThanOrEqual(1);
      sim.feedBook('BTC-USDT', BOOK_BIDS, BOOK_ASKS);
    });

    it('shadow_only venue refuses live orders with VENUE_POLICY', async () => {
      const b2 = new InProcessBus();
      const g2 = new OrderGateway({
        clock: systemClock,
        namespace: 'live',
        bus: b2,
        client: clientFor(venue, sim, creds),
        spec: { venue, hasPrivateWs: false, venuePolicy: 'shadow_only' },
      });
      await g2.start();
      try {
        const r = await b2.request(subjects.orderReq(venue, 'live'), toBinary(OrderRequestSchema, order(venue)), { timeoutMs: 1000 });
        const ack = fromBinary(OrderAckSchema, r.data);
        expect(ack.status).toBe(OrderStatus.REJECTED);
        expect(RejectReason[ack.rejectReason]).toBe('VENUE_POLICY');
      } finally {
        await g2.stop();
        await b2.close();
      }
    });

    it('cancel and replace requests on the shared subjects reach this venue', async () => {
      const req = order(venue);
      await send(req);
      const rep = await bus.request(
        subjects.orderReplaceReq('live'),
        toBinary(ReplaceRequestSchema, create(ReplaceRequestSchema, { clientId: req.clientId, venue, newPrice: 49_100 })),
        { timeoutMs: 1000 },
      );
      expect(fromBinary(OrderAckSchema, rep.data).status).toBe(OrderStatus.NEW);
      const can = await bus.request(
        subjects.orderCancelReq('live'),
        toBinary(CancelRequestSchema, create(CancelRequestSchema, { clientId: req.clientId, venue })),
        { timeoutMs: 1000 },
      );
      expect(fromBinary(OrderAckSchema, can.data).status).toBe(OrderStatus.CANCELLED);
    });
  });
}
