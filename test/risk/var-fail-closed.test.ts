/**
 * Issue 10 item 3: VaR gates ordinary orders (the local guard enforces the headroom the gateway
 * publishes) and fails closed: bars on event time, no VaR before enough bars, stale marks or a
 * symbol without volatility tighten the static caps instead of switching VaR off.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { create, toBinary } from '@bufbuild/protobuf';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import {
  OrderRequestSchema,
  PortfolioStateSchema,
  PositionSchema,
  RejectReason,
  RiskCheckRequestSchema,
  Side,
  TickSchema,
  subjects,
} from '../../src/contracts/index.js';
import { VirtualClock, systemClock } from '../../src/clock/clock.js';
import { Executor, type RejectEvent } from '../../src/execution/executor.js';
import { LocalRiskGuard, RiskDecision } from '../../src/execution/risk-guard.js';
import { SnapshotStore, Urgency } from '../../src/execution/types.js';
import { binanceSpec, tmpDir } from '../execution/harness.js';
import { MIN_VAR_BARS, StaticRiskGateway, type StaticLimitsConfig } from '../../src/risk/static-gateway.js';

const T0 = 1_700_000_000_000_000_000n;
const SEC = 1_000_000_000n;
const tick = () => new Promise((r) => setTimeout(r, 1));

function setup(over: Partial<StaticLimitsConfig> = {}, publishIntervalMs = 60_000) {
  const bus = new InProcessBus();
  const clock = new VirtualClock(T0);
  const gw = new StaticRiskGateway(
    bus,
    {
      perSymbolNotional: 1e6,
      portfolioNotional: 1e7,
      maxOrderNotional: 1e6,
      publishIntervalMs,
      var: { confidence: 0.95, maxVar: 1000, lambda: 0.94 },
      ...over,
    },
    'live',
    { clock },
  );
  gw.start();
  const positions = async (...ps: Array<{ symbol: string; quantity: number; avgPrice: number }>) => {
    bus.publish(
      subjects.posCurrent('live'),
      toBinary(
        PortfolioStateSchema,
        create(PortfolioStateSchema, { positions: ps.map((p) => create(PositionSchema, { venue: 'binance', ...p })) }),
      ),
    );
    await tick();
  };
  const md = (symbol: string, mid: number, tsNs: bigint) =>
    bus.publish(
      subjects.mdNorm('binance', symbol, 'live'),
      toBinary(
        TickSchema,
        create(TickSchema, { venue: 'binance', symbol, bid: mid - 0.5, ask: mid + 0.5, recvTsNs: tsNs, exchTsNs: tsNs }),
      ),
    );
  /** `n` one-second bars of a symbol alternating ±1 % (σ ≈ 1 %), in event time, clock following. */
  let t = T0;
  const bars = async (n: number, ...symbols: string[]) => {
    for (let i = 0; i <= n; i++) {
      t += SEC;
      clock.set(t);
      for (const s of symbols) md(s, i % 2 === 0 ? 100 : 101, t);
    }
    // One more mark in the next bar closes the last one.
    t += SEC;
    clock.set(t);
    for (const s of symbols) md(s, 100, t);
    await tick();
  };
  const evaluate = (symbol: string, side: Side, size: number, price: number) =>
    gw.evaluate(create(RiskCheckRequestSchema, { proposedOrder: create(OrderRequestSchema, { symbol, side, size, price }) }));
  return { bus, clock, gw, positions, md, bars, evaluate, now: () => t };
}

describe('VaR in risk.limits: the local guard enforces it on every order', () => {
  it('publishes max_var, the book VaR and per-symbol VaR per notional; the guard refuses what would exceed it', async () => {
    const { gw, positions, bars, now } = setup();
    await bars(MIN_VAR_BARS + 5, 'BTC-USDT');
    await positions({ symbol: 'BTC-USDT', quantity: 400, avgPrice: 100 }); // ~40k notional
    const l = gw.limits();
    expect(l.maxVar).toBe(1000);
    const k = l.varPerNotional['BTC-USDT']!;
    expect(k).toBeGreaterThan(0.01); // z·σ ≈ 1.645 × ~1 %
    expect(l.var).toBeCloseTo(40_000 * k, 0);
    expect(l.var).toBeLessThan(1000);
    expect(l.varDegraded).toBe(false);
    const guard = new LocalRiskGuard(SEC, 0.9);
    guard.update(l, now());
    // Caps are far away; only VaR binds. Headroom (1000 − var) / k of notional.
    const headroom = (1000 - l.var) / k;
    expect(guard.check('BTC-USDT', (headroom * 1.2) / 100, 100, { symbolQty: 400, grossNotional: 40_000 }, now())).toBe(
      RiskDecision.REJECTED,
    );
    expect(guard.reason).toBe(RejectReason.RISK_LIMIT);
    expect(guard.detail).toMatch(/VaR/);
    expect(guard.check('BTC-USDT', (headroom * 0.3) / 100, 100, { symbolQty: 400, grossNotional: 40_000 }, now())).toBe(
      RiskDecision.APPROVED,
    );
    // Orders in flight use up headroom too.
    expect(
      guard.check(
        'BTC-USDT',
        (headroom * 0.3) / 100,
        100,
        { symbolQty: 400, grossNotional: 40_000, inflightNotional: headroom * 0.8 },
        now(),
      ),
    ).toBe(RiskDecision.REJECTED);
    // Reducing passes whatever the VaR.
    expect(guard.check('BTC-USDT', -100, 100, { symbolQty: 400, grossNotional: 40_000 }, now())).toBe(RiskDecision.APPROVED);
    gw.stop();
  });
});

describe('executor: VaR gates an ordinary order without a risk.check', () => {
  it('refuses locally an order whose VaR would exceed the published headroom', async () => {
    const { bus, gw, positions, bars } = setup({}, 10);
    await bars(MIN_VAR_BARS + 2, 'BTC-USDT');
    // ~54k of BTC: VaR ≈ 890 of 1,000, headroom below the venue's 100 BTC order maximum.
    await positions({ symbol: 'BTC-USDT', quantity: 540, avgPrice: 100 });
    const market = new SnapshotStore();
    market.update('binance', 'BTC-USDT', 100, 100.1, 5000, 5000, systemClock.nowNs());
    bus.subscribe(subjects.orderReq('binance', 'live'), () => undefined); // never answers: orders stay in flight
    const dir = tmpDir('kestrel-var-');
    const ex = new Executor(
      { bus, clock: systemClock, venues: [binanceSpec()], market },
      { mode: 'live', namespace: 'live', walDir: dir, awaitRiskLimitsMs: 0, inDoubtCheckMs: 60_000, riskBoundaryPct: 0.99 },
    );
    const rejects: RejectEvent[] = [];
    ex.onReject((e) => rejects.push(e));
    try {
      await ex.start();
      const end = Date.now() + 2000;
      while (!ex.risk.current?.varPerNotional['BTC-USDT'] && Date.now() < end) await tick();
      const l = ex.risk.current!;
      const headroomQty = (l.maxVar - l.var) / l.varPerNotional['BTC-USDT']! / 100;
      const signal = (size: number, id: string) => ({
        strategyId: 'core',
        symbol: 'BTC-USDT',
        side: Side.BUY,
        size,
        confidence: 0.9,
        ttlMs: 1000,
        maxSlippageBps: 50,
        minFillQty: 0,
        urgency: Urgency.NORMAL,
        traceId: id,
        sourceSequence: 1n,
        emitTsNs: systemClock.nowNs(),
        refPrice: 0,
      });
      expect(headroomQty).toBeGreaterThan(10);
      expect(headroomQty).toBeLessThan(80);
      ex.onSignal(signal(Math.floor(headroomQty * 1.2), 'var-big'));
      expect(rejects.map((r) => r.reason)).toEqual([RejectReason.RISK_LIMIT]);
      expect(rejects[0]!.detail).toMatch(/VaR/);
      expect(ex.counters.riskChecks).toBe(0);
      ex.onSignal(signal(Math.floor(headroomQty * 0.1), 'var-small'));
      expect(ex.counters.riskChecks).toBe(0);
      expect(ex.orders.size).toBe(1);
    } finally {
      await ex.close();
      gw.stop();
      await bus.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('VaR fails closed', () => {
  it('a first flat bar does not give VaR 0 = unlimited: untrusted until enough bars, caps tightened', async () => {
    const { gw, positions, md, evaluate } = setup({ perSymbolNotional: 10_000 });
    md('BTC-USDT', 100, T0 + SEC);
    md('BTC-USDT', 100, T0 + 2n * SEC); // closes bar 1 (no return yet)
    md('BTC-USDT', 100, T0 + 3n * SEC); // closes bar 2: one flat return, σ = 0
    await tick();
    await positions({ symbol: 'BTC-USDT', quantity: 50, avgPrice: 100 }); // 5,000 of the 10,000 cap
    const l = gw.limits();
    expect(l.varPerNotional['BTC-USDT']).toBeUndefined();
    expect(l.varDegraded).toBe(true);
    expect(l.perSymbolNotional).toBe(5_000); // 10,000 × 0.5
    // The guard cannot value the order's VaR: the gateway decides.
    const guard = new LocalRiskGuard(SEC, 0.9);
    guard.update(l, T0 + 3n * SEC);
    expect(guard.check('BTC-USDT', 0.01, 100, { symbolQty: 0, grossNotional: 0 }, T0 + 3n * SEC)).toBe(RiskDecision.BOUNDARY);
    // ... and the gateway has no room left under the tightened cap (5,000 held).
    expect(evaluate('BTC-USDT', Side.BUY, 10, 100)).toMatchObject({ approved: false, reason: RejectReason.RISK_LIMIT });
    expect(gw.bars('BTC-USDT')).toBe(1);
    gw.stop();
  });

  it('bars close on event time: a feed outage closes no bar (no VaR decay) and turns the marks stale', async () => {
    const { gw, clock, positions, bars, now } = setup();
    await bars(MIN_VAR_BARS + 2, 'BTC-USDT');
    const n = gw.bars('BTC-USDT');
    expect(n).toBeGreaterThanOrEqual(MIN_VAR_BARS);
    await positions({ symbol: 'BTC-USDT', quantity: 10, avgPrice: 100 });
    const before = gw.limits();
    expect(before.varDegraded).toBe(false);
    // The feed goes silent for 1.2 s of real time: no bar closes, the VaR does not decay.
    await new Promise((r) => setTimeout(r, 1200));
    expect(gw.bars('BTC-USDT')).toBe(n);
    expect(gw.limits().var).toBeCloseTo(before.var, 9);
    // 6 s of clock time without a mark: stale. The leg keeps its last σ, the caps tighten.
    clock.set(now() + 6n * SEC);
    const after = gw.limits();
    expect(after.var).toBeCloseTo(before.var, 9);
    expect(after.varDegraded).toBe(true);
    expect(after.varDegradedReason).toMatch(/stale/);
    expect(after.varPerNotional['BTC-USDT']).toBeUndefined();
    expect(after.perSymbolNotional).toBe(before.perSymbolNotional * 0.5);
    expect(after.portfolioNotional).toBe(before.portfolioNotional * 0.5);
    expect(after.maxOrderNotional).toBe(before.maxOrderNotional * 0.5);
    gw.stop();
  });

  it('one symbol without volatility does not switch VaR off for the rest of the book', async () => {
    const { gw, positions, bars, md, now, evaluate } = setup();
    await bars(MIN_VAR_BARS + 2, 'BTC-USDT');
    md('ETH-USDT', 10, now()); // ETH has a mark but no bars
    await tick();
    await positions({ symbol: 'BTC-USDT', quantity: 800, avgPrice: 100 }, { symbol: 'ETH-USDT', quantity: 1, avgPrice: 10 });
    const v = gw.varOf();
    expect(v.degraded).toBe(true);
    expect(v.var).toBeGreaterThan(1000); // 80k of BTC at ~1.6 % is over the 1,000 limit
    // More BTC is refused for VaR although the book is degraded ...
    const r = evaluate('BTC-USDT', Side.BUY, 1, 100);
    expect(r).toMatchObject({ approved: false, reason: RejectReason.RISK_LIMIT });
    expect(r.rejectReason).toMatch(/VaR/);
    // ... and the published caps are tightened, the VaR still published.
    const l = gw.limits();
    expect(l.varDegraded).toBe(true);
    expect(l.varDegradedReason).toMatch(/ETH-USDT/);
    expect(l.perSymbolNotional).toBe(500_000);
    expect(l.var).toBeGreaterThan(1000);
    gw.stop();
  });
});

describe('risk process config', () => {
  it('refuses VaR settings given in percent or out of range instead of running with a dead limit', async () => {
    const { loadConfig } = await import('../../src/config/load.js');
    const { riskLimitsOf } = await import('../../src/config/live.js');
    const cfg = (v: object) => loadConfig({ env: {}, overrides: { risk: { var_limits: v } } });
    expect(riskLimitsOf(cfg({ min_bars: 20, stale_mark_ms: 5000, degraded_cap_fraction: 0.5, bar_ms: 100 })).var).toMatchObject({
      minBars: 20,
      staleMarkMs: 5000,
      degradedCapFraction: 0.5,
      barMs: 100,
    });
    expect(() => cfg({ confidence: 95 })).toThrow(/confidence/);
    expect(() => cfg({ max_var: 0 })).toThrow(/max_var/);
    expect(() => cfg({ ewma_lambda: 94 })).toThrow(/ewma_lambda/);
    expect(() => cfg({ min_bars: 0 })).toThrow(/min_bars/);
    expect(() => cfg({ degraded_cap_fraction: 50 })).toThrow(/degraded_cap_fraction/);
  });
});
