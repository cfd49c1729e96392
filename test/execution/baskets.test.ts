import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock/clock.js';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { RejectReason, Side } from '../../src/contracts/index.js';
import { Executor } from '../../src/execution/executor.js';
import { StaticRiskGateway } from '../../src/risk/static-gateway.js';
import { binanceSpec, startVenue, tmpDir, type TestVenue } from './harness.js';

describe('order groups (baskets)', () => {
  let bus: InProcessBus;
  let venue: TestVenue;
  let risk: StaticRiskGateway;
  let dir: string;
  let ex: Executor;

  beforeEach(async () => {
    bus = new InProcessBus();
    venue = await startVenue(bus);
    risk = new StaticRiskGateway(bus, { perSymbolNotional: 1e9, portfolioNotional: 1e10, maxOrderNotional: 1e8 }, 'live', {
      clock: systemClock,
    });
    risk.start();
    dir = tmpDir('kestrel-basket-');
    ex = new Executor(
      { bus, clock: systemClock, venues: [binanceSpec()], market: venue.market, recon: { binance: venue.client } },
      { namespace: 'live', mode: 'live', walDir: dir },
    );
    await ex.start();
  });

  afterEach(async () => {
    await ex.close();
    risk.stop();
    await venue.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const legs = [
    { venue: 'binance', symbol: 'BTC-USDT', side: Side.BUY, size: 0.1, limitPrice: 100.1 },
    { venue: 'binance', symbol: 'BTC-USDT', side: Side.BUY, size: 0.3, limitPrice: 100.1 },
  ];

  it('basket legs pass the risk guard: a leg over a limit never goes out (it used to bypass every risk check)', async () => {
    risk.setLimits({ perSymbolNotional: 1e9, portfolioNotional: 1e10, maxOrderNotional: 20 });
    const end = Date.now() + 2000;
    while (ex.risk.current?.maxOrderNotional !== 20 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    const reasons: RejectReason[] = [];
    ex.onReject((e) => reasons.push(e.reason));
    const r = await ex.submitGroup('g-risk', 'BEST_EFFORT', legs); // leg 2: 0.3 × 100.1 ≈ 30 > 20
    expect(reasons).toContain(RejectReason.RISK_LIMIT);
    expect(r.legs).toHaveLength(1);
    expect(r.outcome).toBe('ACCEPTED_PARTIAL');
    expect([...ex.orders.values()].some((o) => o.size === 0.3)).toBe(false); // never created, never sent
  });

  it('completes when every leg fills', async () => {
    const r = await ex.submitGroup('g-ok', 'ATOMIC', legs);
    expect(r.outcome).toBe('COMPLETE');
    expect(r.completionPct).toBeCloseTo(100, 9);
    expect(ex.book.quantity('binance', 'BTC-USDT')).toBeCloseTo(0.4, 12);
  });

  it('ATOMIC: one leg refused by the venue → the filled leg is unwound', async () => {
    venue.sim.faults.rejectNext = { count: 1, code: 'INSUFFICIENT_BALANCE' };
    const r = await ex.submitGroup('g-atomic', 'ATOMIC', legs);
    expect(r.outcome).toBe('UNWOUND');
    expect(r.unwindClientIds).toHaveLength(1);
    await new Promise((res) => setTimeout(res, 200));
    expect(Math.abs(ex.book.quantity('binance', 'BTC-USDT'))).toBeLessThan(1e-12);
  });

  it('PERCENTAGE: keeps a basket above the minimum completion, unwinds one below it', async () => {
    venue.sim.faults.rejectNext = { count: 1, code: 'INSUFFICIENT_BALANCE' }; // the 0.1 leg fails: 75 % filled
    const keep = await ex.submitGroup('g-pct-keep', 'PERCENTAGE', legs, 60);
    expect(keep.outcome).toBe('ACCEPTED_PARTIAL');
    expect(keep.completionPct).toBeCloseTo(75, 9);
    venue.sim.faults.rejectNext = { count: 1, code: 'INSUFFICIENT_BALANCE' };
    const unwind = await ex.submitGroup('g-pct-unwind', 'PERCENTAGE', legs, 80);
    expect(unwind.outcome).toBe('UNWOUND');
    await new Promise((res) => setTimeout(res, 200));
    expect(ex.book.quantity('binance', 'BTC-USDT')).toBeCloseTo(0.3, 12);
  });

  it('BEST_EFFORT keeps whatever filled', async () => {
    venue.sim.faults.rejectNext = { count: 1, code: 'INSUFFICIENT_BALANCE' };
    const r = await ex.submitGroup('g-be', 'BEST_EFFORT', legs);
    expect(r.outcome).toBe('ACCEPTED_PARTIAL');
    expect(r.unwindClientIds).toEqual([]);
    expect(ex.book.quantity('binance', 'BTC-USDT')).toBeCloseTo(0.3, 12);
  });

  describe('weighted baskets: completion is the weight-averaged filled share of the legs', () => {
    // By quantity the small leg is 25 % of the basket; by weight it is 80 %.
    const legs = [
      { venue: 'binance', symbol: 'BTC-USDT', side: Side.BUY, size: 0.1, limitPrice: 100.1, weight: 0.8 },
      { venue: 'binance', symbol: 'BTC-USDT', side: Side.BUY, size: 0.3, limitPrice: 100.1, weight: 0.2 },
    ];

    it('PERCENTAGE unwinds when the heavy leg fails, although most of the quantity filled', async () => {
      venue.sim.faults.rejectNext = { count: 1, code: 'INSUFFICIENT_BALANCE' }; // the first (0.1, weight 0.8) leg fails
      const r = await ex.submitGroup('g-w-unwind', 'PERCENTAGE', legs, 60);
      expect(r.completionPct).toBeCloseTo(20, 9); // by quantity it would be 75 and kept
      expect(r.outcome).toBe('UNWOUND');
      expect(r.legs.map((l) => l.weight)).toEqual([0.8, 0.2]);
      await new Promise((res) => setTimeout(res, 200));
      expect(Math.abs(ex.book.quantity('binance', 'BTC-USDT'))).toBeLessThan(1e-12);
    });

    it('PERCENTAGE keeps the basket when only the light leg fails', async () => {
      venue.sim.faults.rejectNext = { count: 1, code: 'INSUFFICIENT_BALANCE' };
      const r = await ex.submitGroup('g-w-keep', 'PERCENTAGE', [legs[1]!, legs[0]!], 60); // now the light leg goes first and fails
      expect(r.completionPct).toBeCloseTo(80, 9); // by quantity it would be 25 and unwound
      expect(r.outcome).toBe('ACCEPTED_PARTIAL');
      expect(ex.book.quantity('binance', 'BTC-USDT')).toBeCloseTo(0.1, 12);
    });
  });
});
