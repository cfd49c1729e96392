import { systemClock } from '../../src/clock/clock.js';
import { describe, expect, it } from 'vitest';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import {
  ControlCommandSchema,
  OrderRequestSchema,
  PortfolioStateSchema,
  PositionSchema,
  RejectReason,
  RiskCheckRequestSchema,
  RiskBreachSchema,
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
  const req = create(RiskCheckRequestSchema, {
    venue: 'binance',
    proposedOrder: create(OrderRequestSchema, { symbol, side, size, price }),
  });
  return bus
    .request(subjects.riskCheck('live'), toBinary(RiskCheckRequestSchema, req), { timeoutMs: timeouts.riskCheckMs })
    .then((m) => fromBinary(RiskCheckResponseSchema, m.data));
}

describe('static risk gateway', () => {
  it('answers risk.check inside the 10 ms contract: approve, reduce to fit, reject', async () => {
    const gw = new StaticRiskGateway(
      bus,
      {
        perSymbolNotional: 1000,
        portfolioNotional: 1500,
        maxOrderNotional: 800,
        symbols: { 'ETH-USDT': { maxPosition: 2, maxOrderSize: 1 } },
      },
      'live',
      { clock: systemClock },
    );
    gw.start();
    const ok = await check('BTC-USDT', Side.BUY, 5, 100);
    expect(ok).toMatchObject({ approved: true, adjustedSize: 5 });
    const reduced = await check('BTC-USDT', Side.BUY, 10, 100); // 1000 > max order 800 → 8
    expect(reduced).toMatchObject({ approved: true, adjustedSize: 8 });
    bus.publish(
      subjects.posCurrent('live'),
      toBinary(
        PortfolioStateSchema,
        create(PortfolioStateSchema, {
          positions: [create(PositionSchema, { venue: 'binance', symbol: 'BTC-USDT', quantity: 10, avgPrice: 100 })],
        }),
      ),
    );
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
    const sub = bus.subscribe(subjects.riskLimits('live'), (m) => {
      got.push(fromBinary(RiskLimitsSchema, m.data).version);
    });
    guard.subscribe(bus, () => 0n, 'live');
    const gw = new StaticRiskGateway(
      bus,
      { perSymbolNotional: 1000, portfolioNotional: 5000, maxOrderNotional: 500, publishIntervalMs: 20 },
      'live',
      { clock: systemClock },
    );
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
    const gw = new StaticRiskGateway(
      b,
      {
        perSymbolNotional: 1e9,
        portfolioNotional: 1e9,
        maxOrderNotional: 1e9,
        // Three bars only: trust the volatility from two returns (the default needs MIN_VAR_BARS).
        var: { confidence: 0.95, maxVar: 100, lambda: 0.9, barMs: 3_600_000, minBars: 2 },
      },
      'live',
      { clock: systemClock },
    );
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
      b.publish(
        subjects.posCurrent('live'),
        toBinary(
          PortfolioStateSchema,
          create(PortfolioStateSchema, {
            positions: [create(PositionSchema, { venue: 'binance', symbol: 'BTC-USDT', quantity: qty, avgPrice: 100 })],
          }),
        ),
      );
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
    const buy = gw.evaluate(
      create(RiskCheckRequestSchema, {
        proposedOrder: create(OrderRequestSchema, { symbol: 'BTC-USDT', side: Side.BUY, size: 1, price: 103 }),
      }),
    );
    expect(buy).toMatchObject({ approved: false, reason: RejectReason.RISK_LIMIT });
    expect(buy.rejectReason).toMatch(/VaR/);
    const sell = gw.evaluate(
      create(RiskCheckRequestSchema, {
        proposedOrder: create(OrderRequestSchema, { symbol: 'BTC-USDT', side: Side.SELL, size: 10, price: 103 }),
      }),
    );
    expect(sell.approved).toBe(true);
    gw.stop();
  });
});

describe('drawdown limits', () => {
  const DAY = 86_400_000_000_000n;
  const pnl = (totalPnl: number, tsNs: bigint) =>
    bus.publish(subjects.posPnl('live'), toBinary(PortfolioStateSchema, create(PortfolioStateSchema, { totalPnl, tsNs })));
  const tick = () => new Promise((r) => setTimeout(r, 1));
  /** Caps out of the way, 100,000 capital, only the drawdown limits apply. */
  const drawdownGateway = (maxDaily: number, maxTotal: number) =>
    new StaticRiskGateway(
      bus,
      {
        perSymbolNotional: 1e9,
        portfolioNotional: 1e9,
        maxOrderNotional: 1e9,
        publishIntervalMs: 60_000,
        capital: 100_000,
        drawdown: { maxDaily, maxTotal },
      },
      'live',
      { clock: systemClock },
    );

  it('turns reduce-only past max_daily: executors see it in risk.limits, the gateway refuses risk-increasing orders, one breach is published', async () => {
    const breaches: { limit: string; value: number; threshold: number }[] = [];
    const limits: { reduceOnly: boolean; reason: string }[] = [];
    const subs = [
      bus.subscribe(subjects.riskBreach('live'), (m) => void breaches.push(fromBinary(RiskBreachSchema, m.data))),
      bus.subscribe(subjects.riskLimits('live'), (m) => {
        const l = fromBinary(RiskLimitsSchema, m.data);
        limits.push({ reduceOnly: l.reduceOnly, reason: l.reduceOnlyReason });
      }),
    ];
    const guard = new LocalRiskGuard(1_000_000_000n, 0.9);
    guard.subscribe(bus, () => 0n, 'live');
    const gw = drawdownGateway(0.05, 0.15);
    gw.start();
    bus.publish(
      subjects.posCurrent('live'),
      toBinary(
        PortfolioStateSchema,
        create(PortfolioStateSchema, {
          positions: [create(PositionSchema, { venue: 'binance', symbol: 'BTC-USDT', quantity: 2, avgPrice: 100 })],
        }),
      ),
    );
    const day1 = 20_000n * DAY;
    pnl(2_000, day1); // peak 102,000
    pnl(-2_000, day1 + 1n); // 3.9% down: still open
    await tick();
    expect(gw.reduceOnlyReason).toBeUndefined();
    expect((await check('BTC-USDT', Side.BUY, 1, 100)).approved).toBe(true);
    pnl(-3_000, day1 + 2n); // 4.9% ... and then 5.9% down
    pnl(-4_000, day1 + 3n);
    await tick();
    expect(gw.reduceOnlyReason).toMatch(/daily drawdown 5\.88% >= 5\.00%/);
    expect(breaches).toHaveLength(1);
    expect(breaches[0]).toMatchObject({ limit: 'drawdown.max_daily', threshold: 0.05 });
    expect(limits.at(-1)).toEqual({ reduceOnly: true, reason: gw.reduceOnlyReason });
    // Gateway: more risk refused, reducing the long allowed.
    expect(await check('BTC-USDT', Side.BUY, 1, 100)).toMatchObject({ approved: false, reason: RejectReason.RISK_LIMIT });
    expect((await check('BTC-USDT', Side.SELL, 1, 100)).approved).toBe(true);
    // Local guard: the same without a round trip.
    const exp = { symbolQty: 2, grossNotional: 200 };
    expect(guard.check('BTC-USDT', 1, 100, exp, 0n)).toBe(RiskDecision.REJECTED);
    expect(guard.detail).toMatch(/reduce-only: daily drawdown/);
    expect(guard.check('BTC-USDT', -1, 100, exp, 0n)).toBe(RiskDecision.APPROVED);
    pnl(-4_500, day1 + 4n); // deeper: no second breach message while it holds
    await tick();
    expect(breaches).toHaveLength(1);
    // Next UTC day: the daily limit starts over from that day's first equity.
    pnl(-4_500, day1 + DAY);
    await tick();
    expect(gw.reduceOnlyReason).toBeUndefined();
    expect(limits.at(-1)).toEqual({ reduceOnly: false, reason: '' });
    expect((await check('BTC-USDT', Side.BUY, 1, 100)).approved).toBe(true);
    gw.stop();
    guard.close();
    for (const s of subs) s.unsubscribe();
  });

  it('holds a total-drawdown breach across days until an operator resets it', async () => {
    const gw = drawdownGateway(0.5, 0.1);
    gw.start();
    const day1 = 20_100n * DAY;
    pnl(0, day1);
    pnl(-6_000, day1 + DAY); // 6% total
    pnl(-11_000, day1 + 2n * DAY); // 11% below the first peak
    await tick();
    expect(gw.reduceOnlyReason).toMatch(/total drawdown 11\.00% >= 10\.00%/);
    pnl(-10_000, day1 + 3n * DAY); // recovers a little, a new day: still held
    await tick();
    expect(gw.reduceOnlyReason).toMatch(/total drawdown/);
    expect(gw.stats.breaches).toBe(1);
    // The operator re-arms it over the bus; the executor's control plane leaves ctl.risk alone.
    const { sendControl, ControlPlane } = await import('../../src/control/control-plane.js');
    const refused: string[] = [];
    const cp = new ControlPlane(
      bus,
      {
        kill: async () => void refused.push('kill'),
        resume: () => void refused.push('resume'),
        clearHalt: () => void refused.push('clear_halt'),
        pauseVenue: () => void refused.push('pause'),
        resumeVenue: () => void refused.push('resume_venue'),
        flatten: async () => (refused.push('flatten'), []),
        breakers: { get: () => ({ setOverride: () => void refused.push('override') }) },
      },
      'live',
    );
    cp.start();
    const unknown = await bus.request(
      subjects.control('risk', 'live'),
      toBinary(ControlCommandSchema, create(ControlCommandSchema, { command: 'reset_all' })),
      { timeoutMs: 1000 },
    );
    expect(fromBinary(ControlCommandSchema, unknown.data)).toMatchObject({ command: 'error', reason: 'unknown risk command "reset_all"' });
    expect(gw.reduceOnlyReason).toMatch(/total drawdown/);
    const echo = await sendControl(bus, 'live', { command: 'reset_drawdown', operator: 'ops', reason: 'reviewed' }, systemClock);
    expect(echo.command).toBe('reset_drawdown');
    expect(gw.reduceOnlyReason).toBeUndefined();
    await new Promise((r) => setTimeout(r, 5));
    expect(cp.applied).toHaveLength(0); // ctl.risk is not the executor's
    expect(refused).toEqual([]);
    cp.stop();
    pnl(-10_500, day1 + 3n * DAY + 1n); // 0.6% below the new peak
    await tick();
    expect(gw.reduceOnlyReason).toBeUndefined();
    gw.stop();
  });
});

describe('max_position_pct and stop loss', () => {
  const tick = () => new Promise((r) => setTimeout(r, 1));
  const positions = (...ps: { symbol: string; quantity: number; avgPrice: number; unrealizedPnl: number }[]) =>
    bus.publish(
      subjects.posCurrent('live'),
      toBinary(
        PortfolioStateSchema,
        create(PortfolioStateSchema, {
          positions: ps.map((p) => create(PositionSchema, { venue: 'binance', ...p })),
        }),
      ),
    );

  it('caps each symbol at max_position_pct of equity, following equity, in risk.limits and in risk.check', async () => {
    const gw = new StaticRiskGateway(
      bus,
      {
        perSymbolNotional: 100_000,
        portfolioNotional: 1e9,
        maxOrderNotional: 1e9,
        publishIntervalMs: 60_000,
        capital: 100_000,
        maxPositionPct: 0.05,
      },
      'live',
      { clock: systemClock },
    );
    gw.start();
    expect(gw.limits().perSymbolNotional).toBe(5_000);
    expect(await check('BTC-USDT', Side.BUY, 100, 100)).toMatchObject({ approved: true, adjustedSize: 50 }); // 5,000 / 100
    bus.publish(subjects.posPnl('live'), toBinary(PortfolioStateSchema, create(PortfolioStateSchema, { totalPnl: -20_000, tsNs: 1n })));
    await tick();
    expect(gw.limits().perSymbolNotional).toBe(4_000); // 5% of 80,000
    gw.stop();
  });

  it('flattens a symbol once its unrealized loss reaches stop_loss_pct of the entry, once per position', async () => {
    const flattens: { symbol: string; reason: string; operator: string }[] = [];
    const breaches: string[] = [];
    const subs = [
      bus.subscribe(subjects.control('flatten', 'live'), (m) => void flattens.push(fromBinary(ControlCommandSchema, m.data))),
      bus.subscribe(subjects.riskBreach('live'), (m) => void breaches.push(fromBinary(RiskBreachSchema, m.data).limit)),
    ];
    const gw = new StaticRiskGateway(
      bus,
      { perSymbolNotional: 1e9, portfolioNotional: 1e9, maxOrderNotional: 1e9, publishIntervalMs: 60_000, stopLossPct: 0.02 },
      'live',
      { clock: systemClock },
    );
    gw.start();
    positions(
      { symbol: 'BTC-USDT', quantity: 1, avgPrice: 100, unrealizedPnl: -1.9 },
      { symbol: 'ETH-USDT', quantity: -10, avgPrice: 10, unrealizedPnl: 5 },
    );
    await tick();
    expect(flattens).toEqual([]);
    positions(
      { symbol: 'BTC-USDT', quantity: 1, avgPrice: 100, unrealizedPnl: -2.1 },
      { symbol: 'ETH-USDT', quantity: -10, avgPrice: 10, unrealizedPnl: 5 },
    );
    positions({ symbol: 'BTC-USDT', quantity: 1, avgPrice: 100, unrealizedPnl: -2.5 }); // still losing: no second command
    await tick();
    expect(flattens).toHaveLength(1);
    expect(flattens[0]).toMatchObject({
      command: 'flatten',
      symbol: 'BTC-USDT',
      operator: 'risk-gateway',
      reason: 'stop loss BTC-USDT: 2.10% >= 2.00%',
    });
    expect(breaches).toEqual(['stop_loss']);
    positions(); // flat: the stop re-arms
    positions({ symbol: 'BTC-USDT', quantity: -2, avgPrice: 100, unrealizedPnl: -5 }); // a new short, 2.5% down
    await tick();
    expect(flattens).toHaveLength(2);
    expect(gw.stats.stops).toBe(2);
    gw.stop();
    for (const x of subs) x.unsubscribe();
  });
});

describe('correlation limit', () => {
  it('refuses exposure that moves with a held position above max_correlation; hedges pass; executors are told to ask', async () => {
    const gw = new StaticRiskGateway(
      bus,
      { perSymbolNotional: 1e9, portfolioNotional: 1e9, maxOrderNotional: 1e9, publishIntervalMs: 60_000, maxCorrelation: 0.7 },
      'live',
      { clock: systemClock },
    );
    gw.start();
    // Bars of marks: BTC and ETH move together (ρ ≈ 0.98), SOL independently.
    let btc = 100,
      eth = 10,
      sol = 50;
    let seed = 7;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
    for (let i = 0; i <= 30; i++) {
      const common = rnd() * 0.01;
      btc *= Math.exp(common + rnd() * 0.001);
      eth *= Math.exp(common + rnd() * 0.001);
      sol *= Math.exp(rnd() * 0.01);
      gw.onMark('BTC-USDT', btc);
      gw.onMark('ETH-USDT', eth);
      gw.onMark('SOL-USDT', sol);
      gw.onBar();
    }
    expect(gw.correlation('BTC-USDT', 'ETH-USDT')).toBeGreaterThan(0.9);
    expect(Math.abs(gw.correlation('BTC-USDT', 'SOL-USDT'))).toBeLessThan(0.7);
    bus.publish(
      subjects.posCurrent('live'),
      toBinary(
        PortfolioStateSchema,
        create(PortfolioStateSchema, {
          positions: [create(PositionSchema, { venue: 'binance', symbol: 'BTC-USDT', quantity: 1, avgPrice: 100 })],
        }),
      ),
    );
    await new Promise((r) => setTimeout(r, 1));
    const long = await check('ETH-USDT', Side.BUY, 1, 10);
    expect(long).toMatchObject({ approved: false, reason: RejectReason.RISK_LIMIT });
    expect(long.rejectReason).toMatch(/^correlation ETH-USDT~BTC-USDT 0\.9\d > 0\.7$/);
    expect((await check('ETH-USDT', Side.SELL, 1, 10)).approved).toBe(true); // a hedge
    expect((await check('SOL-USDT', Side.BUY, 1, 50)).approved).toBe(true); // uncorrelated
    // Executors learn which symbols to send to risk.check.
    const l = gw.limits();
    expect(l.checkSymbols).toContain('ETH-USDT');
    expect(l.checkSymbols).not.toContain('SOL-USDT');
    const guard = new LocalRiskGuard(1_000_000_000n, 0.9);
    guard.update(l, 0n);
    expect(guard.check('ETH-USDT', 1, 10, { symbolQty: 0, grossNotional: 100 }, 0n)).toBe(RiskDecision.BOUNDARY);
    expect(guard.check('SOL-USDT', 1, 50, { symbolQty: 0, grossNotional: 100 }, 0n)).toBe(RiskDecision.APPROVED);
    gw.stop();
  });
});

describe('diversified VaR', () => {
  it('uses the EWMA correlations once trusted: a hedged book has less VaR than the undiversified bound', async () => {
    const gw = new StaticRiskGateway(
      bus,
      {
        perSymbolNotional: 1e9,
        portfolioNotional: 1e9,
        maxOrderNotional: 1e9,
        publishIntervalMs: 60_000,
        var: { confidence: 0.95, maxVar: 1e9, lambda: 0.94, minBars: 5 },
      },
      'live',
      { clock: systemClock },
    );
    gw.start();
    bus.publish(
      subjects.posCurrent('live'),
      toBinary(
        PortfolioStateSchema,
        create(PortfolioStateSchema, {
          positions: [
            create(PositionSchema, { venue: 'binance', symbol: 'BTC-USDT', quantity: 1, avgPrice: 100 }),
            create(PositionSchema, { venue: 'binance', symbol: 'ETH-USDT', quantity: 10, avgPrice: 10 }),
          ],
        }),
      ),
    );
    await new Promise((r) => setTimeout(r, 1));
    // BTC and ETH move exactly opposite: long both is a hedge.
    let btc = 100,
      eth = 10,
      seed = 3;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
    const bar = () => {
      const r = rnd() * 0.01;
      btc *= Math.exp(r);
      eth *= Math.exp(-r);
      gw.onMark('BTC-USDT', btc);
      gw.onMark('ETH-USDT', eth);
      gw.onBar();
    };
    for (let i = 0; i < 10; i++) bar();
    const early = gw.varOf();
    expect(early.diversified).toBe(false); // 9 joint returns: not trusted yet → undiversified bound
    for (let i = 0; i < 30; i++) bar();
    const v = gw.varOf();
    expect(v.diversified).toBe(true);
    expect(gw.correlation('BTC-USDT', 'ETH-USDT')).toBeCloseTo(-1, 6);
    // Nearly equal σ·exposure on both legs and ρ = −1: the risk nearly cancels, where the
    // undiversified bound adds the legs (what remains is the drift between the two exposures).
    expect(v.var).toBeLessThan(0.25 * early.var);
    gw.stop();
  });
});

describe('risk process config', () => {
  it('takes its limits from the one config and refuses bad ones naming the key', async () => {
    const { loadConfig } = await import('../../src/config/load.js');
    const { riskLimitsOf } = await import('../../src/config/live.js');
    const l = riskLimitsOf(loadConfig({ env: {}, overrides: { risk: { position_limits: { per_symbol: 5 }, stop_loss_pct: 0.1 } } }));
    expect(l).toMatchObject({ perSymbolNotional: 5, stopLossPct: 0.1, capital: 100000, drawdown: { maxDaily: 0.05, maxTotal: 0.15 } });
    expect(() => loadConfig({ env: {}, overrides: { risk: { position_limits: { per_symbol: -1 } } } })).toThrow(
      /risk\.position_limits\.per_symbol/,
    );
    expect(() => loadConfig({ env: {}, overrides: { risk: { drawdown: { max_daily: 5 } } } })).toThrow(/risk\.drawdown\.max_daily/);
    expect(() => loadConfig({ env: {}, overrides: { risk: { stop_loss_pct: 2 } } })).toThrow(/risk\.stop_loss_pct/);
  });
});
