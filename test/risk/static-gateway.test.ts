import { describe, expect, it } from 'vitest';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import {
  OrderRequestSchema,
  PortfolioStateSchema,
  PositionSchema,
  RejectReason,
  RiskCheckRequestSchema,
  RiskCheckResponseSchema,
  RiskLimitsSchema,
  Side,
  subjects,
  timeouts,
} from '../../src/contracts/index.js';
import { StaticRiskGateway } from '../../src/risk/static-gateway.js';
import { LocalRiskGuard, RiskDecision } from '../../src/execution/risk-guard.js';

const bus = new InProcessBus();

function check(symbol: string, side: Side, size: number, price: number) {
  const req = create(RiskCheckRequestSchema, { venue: 'binance', proposedOrder: create(OrderRequestSchema, { symbol, side, size, price }) });
  return bus.request(subjects.riskCheck(), toBinary(RiskCheckRequestSchema, req), { timeoutMs: timeouts.riskCheckMs }).then((m) => fromBinary(RiskCheckResponseSchema, m.data));
}

describe('static risk gateway', () => {
  it('answers risk.check inside the 10 ms contract: approve, reduce to fit, reject', async () => {
    const gw = new StaticRiskGateway(bus, { perSymbolNotional: 1000, portfolioNotional: 1500, maxOrderNotional: 800, symbols: { 'ETH-USDT': { maxPosition: 2, maxOrderSize: 1 } } });
    gw.start();
    const ok = await check('BTC-USDT', Side.BUY, 5, 100);
    expect(ok).toMatchObject({ approved: true, adjustedSize: 5 });
    const reduced = await check('BTC-USDT', Side.BUY, 10, 100); // 1000 > max order 800 → 8
    expect(reduced).toMatchObject({ approved: true, adjustedSize: 8 });
    bus.publish(subjects.posCurrent(), toBinary(PortfolioStateSchema, create(PortfolioStateSchema, {
      positions: [create(PositionSchema, { venue: 'binance', symbol: 'BTC-USDT', quantity: 10, avgPrice: 100 })],
    })));
    await new Promise((r) => setTimeout(r, 1));
    const full = await check('BTC-USDT', Side.BUY, 1, 100);
    expect(full).toMatchObject({ approved: false, reason: RejectReason.RISK_LIMIT });
    const reducing = await check('BTC-USDT', Side.SELL, 3, 100);
    expect(reducing.approved).toBe(true);
    const eth = await check('ETH-USDT', Side.BUY, 3, 10); // per-symbol max order 1
    expect(eth).toMatchObject({ approved: true, adjustedSize: 1 });
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) await check('BTC-USDT', Side.SELL, 1, 100);
    expect((performance.now() - t0) / 100).toBeLessThan(timeouts.riskCheckMs);
    gw.stop();
  });

  it('publishes versioned limits on risk.limits that a local guard mirrors', async () => {
    const got: bigint[] = [];
    const guard = new LocalRiskGuard(1_000_000_000n, 0.9);
    const sub = bus.subscribe(subjects.riskLimits(), (m) => {
      got.push(fromBinary(RiskLimitsSchema, m.data).version);
    });
    guard.subscribe(bus, () => 0n);
    const gw = new StaticRiskGateway(bus, { perSymbolNotional: 1000, portfolioNotional: 5000, maxOrderNotional: 500, publishIntervalMs: 20 });
    gw.start();
    await new Promise((r) => setTimeout(r, 70));
    gw.stop();
    sub.unsubscribe();
    expect(got.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < got.length; i++) expect(got[i]! > got[i - 1]!).toBe(true);
    const exp = { symbolQty: 0, grossNotional: 0 };
    expect(guard.check('BTC-USDT', 1, 100, exp, 0n)).toBe(RiskDecision.APPROVED);
    expect(guard.check('BTC-USDT', 4.6, 100, exp, 0n)).toBe(RiskDecision.BOUNDARY); // 460 of 500
    expect(guard.check('BTC-USDT', 6, 100, exp, 0n)).toBe(RiskDecision.REJECTED);
    expect(guard.check('BTC-USDT', 1, 100, exp, 2_000_000_000n)).toBe(RiskDecision.BOUNDARY); // stale cache
    guard.close();
  });
});

describe('EWMA VaR limit', () => {
  it('matches the RiskMetrics recursion (Hull 5.2) and the normal VaR/ES multipliers, and enforces max VaR', async () => {
    const b = new InProcessBus();
    const gw = new StaticRiskGateway(b, {
      perSymbolNotional: 1e9,
      portfolioNotional: 1e9,
      maxOrderNotional: 1e9,
      var: { confidence: 0.95, maxVar: 100, lambda: 0.9, barMs: 3_600_000 },
    });
    gw.start();
    // Bars: 100 → 101 → 103.02 gives log returns r1 = ln(1.01), r2 = ln(1.02).
    gw.onMark('BTC-USDT', 100);
    gw.onBar();
    gw.onMark('BTC-USDT', 101);
    gw.onBar();
    gw.onMark('BTC-USDT', 103.02);
    gw.onBar();
    const r1 = Math.log(1.01);
    const r2 = Math.log(1.02);
    const variance = 0.9 * r1 * r1 + 0.1 * r2 * r2; // Hull 5.2 shape: seed r1², then one recursion step
    const sigma = Math.sqrt(variance);
    expect(gw.varOf().degraded).toBe(false);
    const pos = (qty: number) =>
      b.publish(subjects.posCurrent(), toBinary(PortfolioStateSchema, create(PortfolioStateSchema, { positions: [create(PositionSchema, { venue: 'binance', symbol: 'BTC-USDT', quantity: qty, avgPrice: 100 })] })));
    pos(60);
    await new Promise((r) => setTimeout(r, 1));
    const v = gw.varOf();
    const exposure = 60 * 103.02;
    expect(v.var).toBeCloseTo(exposure * sigma * 1.644854, 3);
    expect(v.cvar).toBeCloseTo(exposure * sigma * 2.062713, 3);
    // The Hull worked example itself: λ = 0.9, σ = 1 %, u = 2 % → σ = 1.140175 %.
    const { EwmaVolatility } = await import('../../src/risk/analytics/ewma.js');
    const h = new EwmaVolatility(0.9, 0.0001);
    h.update(0.02);
    expect(h.sigma * 100).toBeCloseTo(1.140175, 6);
    // 60 BTC ≈ VaR 115 > 100: more buying is refused, selling (reducing) passes.
    const buy = gw.evaluate(create(RiskCheckRequestSchema, { proposedOrder: create(OrderRequestSchema, { symbol: 'BTC-USDT', side: Side.BUY, size: 1, price: 103 }) }));
    expect(buy).toMatchObject({ approved: false, reason: RejectReason.RISK_LIMIT });
    expect(buy.rejectReason).toMatch(/VaR/);
    const sell = gw.evaluate(create(RiskCheckRequestSchema, { proposedOrder: create(OrderRequestSchema, { symbol: 'BTC-USDT', side: Side.SELL, size: 10, price: 103 }) }));
    expect(sell.approved).toBe(true);
    gw.stop();
  });
});

describe('risk process config', () => {
  it('refuses bad configs with a typed error naming the field', async () => {
    const { parseRiskConfig, RiskConfigError } = await import('../../src/risk/main.js');
    expect(() => parseRiskConfig('nope')).toThrow(RiskConfigError);
    expect(() => parseRiskConfig('{"limits":{}}')).toThrow(/nats/);
    expect(() => parseRiskConfig('{"nats":"n","limits":{"perSymbolNotional":-1,"portfolioNotional":1,"maxOrderNotional":1}}')).toThrow(/limits/);
    expect(parseRiskConfig('{"nats":"n","limits":{"perSymbolNotional":1,"portfolioNotional":1,"maxOrderNotional":1}}').nats).toBe('n');
  });
});
