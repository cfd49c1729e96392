/**
 * Smart order routing across two real simulated venues (Binance and OKX private simulators with
 * their real clients and order gateways): a signal larger than the best venue's displayed size is
 * split by price net of fees, both slices fill, positions are kept per venue and netted.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { Side, SymbolSpecSchema, Urgency, VenueSpecSchema } from '../../src/contracts/index.js';
import { Executor } from '../../src/execution/executor.js';
import { OrderState } from '../../src/execution/order.js';
import { systemClock } from '../../src/clock/clock.js';
import { StaticRiskGateway } from '../../src/risk/static-gateway.js';
import { OkxPrivateSim } from '../../src/venues/okx/simulator/order-entry.js';
import { OkxOrderClient } from '../../src/venues/okx/order-entry.js';
import { OrderGateway } from '../../src/venues/order-gateway.js';
import { RULES, startVenue, tmpDir, binanceSpec, type TestVenue } from './harness.js';

const OKX_CREDS = { apiKey: 'okx-key', apiSecret: 'okx-secret', passphrase: 'okx-pass' };

function okxSpecOf() {
  return create(VenueSpecSchema, {
    venue: 'okx',
    hasPrivateWs: true,
    venuePolicy: 'production',
    symbols: [
      create(SymbolSpecSchema, {
        symbol: 'BTC-USDT',
        minTick: 0.01,
        minLot: 0.0001,
        lotStep: 0.0001,
        maxOrderSize: 100,
        priceBandBps: 500,
        takerFee: 0.0005,
      }),
    ],
  });
}

describe('routing across venues', () => {
  let bus: InProcessBus;
  let binance: TestVenue;
  let okxSim: OkxPrivateSim;
  let okxClient: OkxOrderClient;
  let okxGw: OrderGateway;
  let risk: StaticRiskGateway;
  let ex: Executor;
  let dir: string;

  beforeAll(async () => {
    bus = new InProcessBus();
    binance = await startVenue(bus);
    okxSim = await new OkxPrivateSim({
      symbols: [{ ...RULES, takerFee: 0.0005 }],
      balances: { USDT: 1e7, BTC: 1000 },
      credentials: OKX_CREDS,
      rateLimit: { limit: 0, windowMs: 1000 },
    }).start();
    okxClient = new OkxOrderClient({ clock: systemClock, wsUrl: okxSim.wsUrl, credentials: OKX_CREDS });
    const okxSpec = okxSpecOf();
    okxGw = new OrderGateway({ clock: systemClock, namespace: 'live', bus, client: okxClient, spec: okxSpec });
    await okxGw.start();
    risk = new StaticRiskGateway(bus, { perSymbolNotional: 1e9, portfolioNotional: 1e10, maxOrderNotional: 1e8 }, 'live', {
      clock: systemClock,
    });
    risk.start();
    dir = tmpDir('kestrel-sor-');
    ex = new Executor(
      {
        bus,
        clock: systemClock,
        venues: [binanceSpec(), okxSpec],
        market: binance.market,
        recon: { binance: binance.client, okx: okxClient },
      },
      { namespace: 'live', mode: 'live', walDir: dir },
    );
    await ex.start();
  });

  /** Binance ask 100.10 (fee 0.1 %) vs OKX ask 100.12 (fee 0.05 %): OKX is cheaper net, shows 0.3. */
  function setBooks(): void {
    binance.setBook(100, 100.1, 5);
    okxSim.feedBook('BTC-USDT', [[100, 0.3]], [[100.12, 0.3]]);
    binance.market.update('okx', 'BTC-USDT', 100, 100.12, 0.3, 0.3, systemClock.nowNs());
  }

  /** A signal to buy 1 BTC: more than the cheaper venue shows, so it splits. */
  function buyOne(traceId: string, sourceSequence: bigint) {
    return {
      strategyId: 'sor',
      symbol: 'BTC-USDT',
      side: Side.BUY,
      size: 1,
      confidence: 0.9,
      ttlMs: 1000,
      maxSlippageBps: 50,
      minFillQty: 0,
      urgency: Urgency.HIGH,
      traceId,
      sourceSequence,
      emitTsNs: systemClock.nowNs(),
      refPrice: 0,
    };
  }

  afterAll(async () => {
    await ex.close();
    risk.stop();
    await okxGw.stop();
    await okxSim.stop();
    await binance.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('splits by net price and displayed size, fills on both venues, nets positions', async () => {
    setBooks();
    ex.onSignal(buyOne('sor-1', 1n));
    const orders = [...ex.orders.values()];
    expect(orders.map((o) => [o.venue, o.size])).toEqual([
      ['okx', 0.3],
      ['binance', 0.7],
    ]);
    const end = Date.now() + 3000;
    while (orders.some((o) => o.state !== OrderState.FILLED) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    expect(orders.map((o) => OrderState[o.state])).toEqual(['FILLED', 'FILLED']);
    expect(ex.book.quantity('okx', 'BTC-USDT')).toBeCloseTo(0.3, 12);
    expect(ex.book.quantity('binance', 'BTC-USDT')).toBeCloseTo(0.7, 12);
    expect(ex.book.net('BTC-USDT')).toBeCloseTo(1, 12);
    expect(await ex.reconcileBalances({ binance: { BTC: 1000 }, okx: { BTC: 1000 } })).toEqual([]);
  });

  it('never exceeds the global in-flight cap with a split signal: slices beyond it are refused', async () => {
    const capDir = tmpDir('kestrel-sor-cap-');
    const capped = new Executor(
      {
        bus,
        clock: systemClock,
        venues: [binanceSpec(), okxSpecOf()],
        market: binance.market,
        recon: { binance: binance.client, okx: okxClient },
      },
      {
        namespace: 'live',
        mode: 'live',
        walDir: capDir,
        clientIdPrefix: 'CP',
        concurrency: { globalMaxInflight: 1, perSymbolMaxInflight: 8, perVenueMaxInflight: { default: 8 } },
      },
    );
    const refused: string[] = [];
    capped.onReject((e) => refused.push(`${e.venue}: ${e.detail}`));
    await capped.start();
    setBooks();
    capped.onSignal(buyOne('sor-cap', 2n));
    expect([...capped.orders.values()].map((o) => [o.venue, o.size])).toEqual([['okx', 0.3]]);
    expect(capped.inflightCount).toBe(1);
    expect(refused).toEqual(['binance: slice 2 of 2 dropped: in-flight caps reached']);
    const end = Date.now() + 3000;
    while (capped.inflightCount > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    expect(capped.inflightCount).toBe(0);
    await capped.close();
    fs.rmSync(capDir, { recursive: true, force: true });
  });
});
