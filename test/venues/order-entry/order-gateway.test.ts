/**
 * Gateway routing rules that do not depend on the venue protocol: malformed input, wrong venue,
 * and shadow orders, which never reach the live venue.
 */
import { systemClock } from '../../../src/clock/clock.js';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessBus } from '../../../src/bus/in-process-bus.js';
import { OrderAckSchema, OrderRequestSchema, OrderStatus, RejectReason, subjects } from '../../../src/contracts/index.js';
import type { PrivateVenueSim } from '../../../src/simulators/private/index.js';
import { OrderGateway } from '../../../src/venues/index.js';
import { clientFor, order, startSim } from './contract.js';

describe('order gateway routing', () => {
  let live: PrivateVenueSim;
  let shadow: PrivateVenueSim;
  let bus: InProcessBus;
  let gw: OrderGateway;

  beforeAll(async () => {
    live = await startSim('kraken');
    shadow = await startSim('kraken', 'paper');
    bus = new InProcessBus();
    gw = new OrderGateway({
      clock: systemClock,
      bus,
      namespace: 'live',
      client: clientFor('kraken', live),
      shadowClient: clientFor('kraken', shadow),
      spec: { venue: 'kraken', hasPrivateWs: true, venuePolicy: 'production' },
    });
    await gw.start();
  });
  afterAll(async () => {
    await gw.stop();
    await bus.close();
    await live.stop();
    await shadow.stop();
  });

  async function send(bytes: Uint8Array) {
    const r = await bus.request(subjects.orderReq('kraken', 'live'), bytes, { timeoutMs: 1000 });
    return fromBinary(OrderAckSchema, r.data);
  }

  it('answers a malformed request with a typed rejection instead of dropping it', async () => {
    const ack = await send(new Uint8Array([0xff, 0xff, 0xff, 0x01]));
    expect(ack.status).toBe(OrderStatus.REJECTED);
    expect(RejectReason[ack.rejectReason]).toBe('UNKNOWN');
    expect(ack.rejectDetail).toMatch(/malformed OrderRequest/);
  });

  it('refuses a request addressed to another venue', async () => {
    const ack = await send(toBinary(OrderRequestSchema, order('binance')));
    expect(ack.status).toBe(OrderStatus.REJECTED);
    expect(ack.rejectDetail).toMatch(/binance sent to kraken/);
  });

  it('routes shadow orders to the simulated venue only, live orders to the live venue', async () => {
    const s = order('kraken', { shadow: true });
    const l = order('kraken');
    expect((await send(toBinary(OrderRequestSchema, s))).status).toBe(OrderStatus.NEW);
    expect((await send(toBinary(OrderRequestSchema, l))).status).toBe(OrderStatus.NEW);
    expect(shadow.receivedCounts()[s.clientId]?.place).toBe(1);
    expect(live.receivedCounts()[s.clientId]).toBeUndefined();
    expect(live.receivedCounts()[l.clientId]?.place).toBe(1);
    expect(shadow.receivedCounts()[l.clientId]).toBeUndefined();
  });

  it('without a simulated venue, shadow orders are refused with VENUE_POLICY', async () => {
    const b2 = new InProcessBus();
    const g2 = new OrderGateway({
      clock: systemClock,
      namespace: 'live',
      bus: b2,
      client: clientFor('kraken', live),
      spec: { venue: 'kraken', hasPrivateWs: true, venuePolicy: 'production' },
    });
    await g2.start();
    try {
      const r = await b2.request(subjects.orderReq('kraken', 'live'), toBinary(OrderRequestSchema, order('kraken', { shadow: true })), {
        timeoutMs: 1000,
      });
      expect(RejectReason[fromBinary(OrderAckSchema, r.data).rejectReason]).toBe('VENUE_POLICY');
    } finally {
      await g2.stop();
      await b2.close();
    }
  });
});
