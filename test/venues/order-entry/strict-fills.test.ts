/**
 * Execution-stream messages about our orders with numbers that are not numbers ('abc', '', null,
 * '1e5', negative): the clients parsed them with Number(), so a fill of NaN (or a silent 0) reached
 * the executor, positions and fees. Now nothing of such a message is applied; it is counted and the
 * order's state is re-queried from the venue, whose answer is published instead.
 */
import { describe, expect, it } from 'vitest';
import { OrderStatus, type OrderAck, type VenueName } from '../../../src/contracts/index.js';
import type { VenueOrderClient } from '../../../src/venues/common/order-types.js';
import { clientFor, order, startSim } from './contract.js';

type Frame = (clientId: string, venueOrderId: string) => unknown;

/** Per venue: execution frames shaped like the venue's, each carrying one bad number. */
const BAD: Record<VenueName, Array<[string, Frame]>> = {
  binance: [
    [
      'cumulative qty NaN-ish',
      (c, i) => ({
        e: 'executionReport',
        x: 'TRADE',
        X: 'PARTIALLY_FILLED',
        c,
        i: Number(i),
        z: 'abc',
        Z: '100',
        l: '0.01',
        L: '49000',
        n: '0',
        r: 'NONE',
      }),
    ],
    [
      'last qty empty',
      (c, i) => ({
        e: 'executionReport',
        x: 'TRADE',
        X: 'PARTIALLY_FILLED',
        c,
        i: Number(i),
        z: '0.01',
        Z: '490',
        l: '',
        L: '49000',
        n: '0',
        r: 'NONE',
      }),
    ],
    [
      'price with exponent',
      (c, i) => ({
        e: 'executionReport',
        x: 'TRADE',
        X: 'PARTIALLY_FILLED',
        c,
        i: Number(i),
        z: '0.01',
        Z: '490',
        l: '0.01',
        L: '4.9e4',
        n: '0',
        r: 'NONE',
      }),
    ],
  ],
  okx: [
    [
      'accFillSz NaN-ish',
      (c, i) => ({
        arg: { channel: 'orders' },
        data: [
          {
            clOrdId: c,
            ordId: i,
            instId: 'BTC-USDT',
            state: 'partially_filled',
            sz: '0.1',
            px: '49000',
            accFillSz: 'NaN',
            avgPx: '49000',
            fee: '-0.01',
            fillSz: '0.01',
            fillPx: '49000',
            fillFee: '-0.01',
          },
        ],
      }),
    ],
    [
      'fillPx empty with a fill',
      (c, i) => ({
        arg: { channel: 'orders' },
        data: [
          {
            clOrdId: c,
            ordId: i,
            instId: 'BTC-USDT',
            state: 'partially_filled',
            sz: '0.1',
            px: '49000',
            accFillSz: '0.01',
            avgPx: '49000',
            fee: '-0.01',
            fillSz: '0.01',
            fillPx: '',
            fillFee: '-0.01',
          },
        ],
      }),
    ],
    [
      'negative fill size',
      (c, i) => ({
        arg: { channel: 'orders' },
        data: [
          {
            clOrdId: c,
            ordId: i,
            instId: 'BTC-USDT',
            state: 'partially_filled',
            sz: '0.1',
            px: '49000',
            accFillSz: '0.01',
            avgPx: '49000',
            fee: '-0.01',
            fillSz: '-0.01',
            fillPx: '49000',
            fillFee: '-0.01',
          },
        ],
      }),
    ],
  ],
  kraken: [
    [
      'last_qty null',
      (c, i) => ({
        channel: 'executions',
        type: 'update',
        data: [
          {
            cl_ord_id: c,
            order_id: i,
            exec_type: 'trade',
            order_status: 'partially_filled',
            cum_qty: 0.01,
            cum_cost: 490,
            last_qty: null,
            last_price: 49000,
            fees: [{ asset: 'USD', qty: 0.1 }],
          },
        ],
      }),
    ],
    [
      'cum_qty a word',
      (c, i) => ({
        channel: 'executions',
        type: 'update',
        data: [
          {
            cl_ord_id: c,
            order_id: i,
            exec_type: 'trade',
            order_status: 'partially_filled',
            cum_qty: 'lots',
            cum_cost: 490,
            last_qty: 0.01,
            last_price: 49000,
            fees: [],
          },
        ],
      }),
    ],
    [
      'fee negative infinity as a string',
      (c, i) => ({
        channel: 'executions',
        type: 'update',
        data: [
          {
            cl_ord_id: c,
            order_id: i,
            exec_type: 'trade',
            order_status: 'partially_filled',
            cum_qty: 0.01,
            cum_cost: 490,
            last_qty: 0.01,
            last_price: 49000,
            fees: [{ asset: 'USD', qty: '-Infinity' }],
          },
        ],
      }),
    ],
  ],
};

const finite = (a: OrderAck) => [a.filledQty, a.avgPrice, a.lastFillQty, a.lastFillPrice, a.fee].every((x) => Number.isFinite(x));

describe.each(['binance', 'okx', 'kraken'] as const)('%s: malformed fills are never applied', (venue) => {
  it.each(BAD[venue])('%s: counted, not applied, the venue is re-queried', async (_name, frame) => {
    const sim = await startSim(venue);
    const client: VenueOrderClient = clientFor(venue, sim);
    await client.connect();
    try {
      const req = order(venue);
      const placed = await client.place(req);
      expect(placed.status).toBe(OrderStatus.NEW);
      const seen: OrderAck[] = [];
      client.onUpdate((a) => {
        if (a.clientId === req.clientId) seen.push(a);
      });
      sim.injectFrame(JSON.stringify(frame(req.clientId, placed.venueOrderId)));
      // The re-query's answer arrives as an update: the venue's truth (resting, nothing filled).
      await expect.poll(() => seen.length, { timeout: 3000 }).toBeGreaterThan(0);
      for (const a of seen) {
        expect(
          finite(a),
          JSON.stringify(a, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
        ).toBe(true);
        expect(a.filledQty).toBe(0);
        expect(a.status).toBe(OrderStatus.NEW);
      }
      expect(client.stats!().protocolErrors).toBe(1);
    } finally {
      await client.close();
      await sim.stop();
    }
  });
});
