/**
 * Test venue for the executor: the real Binance private simulator (matching engine, paper fills),
 * the real BinanceOrderClient over its WebSocket, and the real OrderGateway on the given bus.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { create } from '@bufbuild/protobuf';
import { SymbolSpecSchema, VenueSpecSchema, type Namespace, type VenueSpec } from '../../src/contracts/index.js';
import type { Bus } from '../../src/bus/bus.js';
import { BinancePrivateSim } from '../../src/venues/binance/simulator/order-entry.js';
import { BinanceOrderClient } from '../../src/venues/binance/order-entry.js';
import { OrderGateway } from '../../src/venues/order-gateway.js';
import { SnapshotStore } from '../../src/execution/types.js';
import { systemClock } from '../../src/clock/clock.js';

export const CREDS = { apiKey: 'test-key', apiSecret: 'test-secret' };
export const RULES = {
  symbol: 'BTC-USDT',
  base: 'BTC',
  quote: 'USDT',
  tickSize: 0.01,
  lotStep: 0.0001,
  minQty: 0.0001,
  maxQty: 100,
  priceBandBps: 500,
  makerFee: 0.001,
  takerFee: 0.001,
};

export function binanceSpec(policy = 'production'): VenueSpec {
  return create(VenueSpecSchema, {
    venue: 'binance',
    hasPrivateWs: true,
    venuePolicy: policy,
    symbols: [
      create(SymbolSpecSchema, {
        symbol: 'BTC-USDT',
        minTick: RULES.tickSize,
        minLot: RULES.minQty,
        lotStep: RULES.lotStep,
        maxOrderSize: RULES.maxQty,
        priceBandBps: RULES.priceBandBps,
        makerFee: RULES.makerFee,
        takerFee: RULES.takerFee,
        venueSymbol: 'BTCUSDT',
      }),
    ],
  });
}

export interface TestVenue {
  sim: BinancePrivateSim;
  client: BinanceOrderClient;
  gateway: OrderGateway;
  market: SnapshotStore;
  setBook(bid: number, ask: number, size?: number): void;
  stop(): Promise<void>;
}

export async function startVenue(
  bus: Bus,
  opts: { balances?: Record<string, number>; namespace?: Namespace; healthIntervalMs?: number } = {},
): Promise<TestVenue> {
  const sim = await new BinancePrivateSim({
    symbols: [RULES],
    balances: opts.balances ?? { USDT: 10_000_000, BTC: 1000 },
    credentials: CREDS,
    rateLimit: { limit: 0, windowMs: 1000 },
  }).start();
  const client = new BinanceOrderClient({
    clock: systemClock,
    wsUrl: sim.wsUrl,
    credentials: CREDS,
    minLots: { 'BTC-USDT': RULES.minQty },
  });
  const gateway = new OrderGateway({
    clock: systemClock,
    namespace: opts.namespace ?? 'live',
    bus,
    client,
    spec: binanceSpec(),
    shadowClient: undefined,
    ...(opts.healthIntervalMs !== undefined ? { healthIntervalMs: opts.healthIntervalMs } : {}),
  });
  await gateway.start();
  const market = new SnapshotStore();
  const setBook = (bid: number, ask: number, size = 50) => {
    sim.feedBook('BTC-USDT', [[bid, size]], [[ask, size]]);
    market.update('binance', 'BTC-USDT', bid, ask, size, size, systemClock.nowNs());
  };
  setBook(100, 100.1);
  return {
    sim,
    client,
    gateway,
    market,
    setBook,
    stop: async () => {
      await gateway.stop();
      await sim.stop();
    },
  };
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
