/**
 * Issue 10 item 1: the price band has one unit (basis points, named in the field) from the reference
 * data to every consumer. The seed said 5 (percent) and the guards read a fraction: a SELL with a
 * 9,000 bps slippage cap went out at 6,000 against a 60,000 market.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { RejectReason, RiskLimitsSchema, Side, Urgency, type VenueSpec } from '../../src/contracts/index.js';
import { Executor, type RejectEvent } from '../../src/execution/executor.js';
import { PrecisionGuard } from '../../src/execution/precision.js';
import { SnapshotStore, type ExecSignal } from '../../src/execution/types.js';
import { systemClock } from '../../src/clock/clock.js';
import { MemoryRefData } from '../../src/refdata/index.js';
import { MatchingEngine } from '../../src/simulators/matching/engine.js';
import { tmpDir } from './harness.js';

async function seedSpec(): Promise<VenueSpec> {
  const spec = await new MemoryRefData().venueSpec('binance');
  if (!spec) throw new Error('binance missing from the seed');
  return spec;
}

function market(bid: number, ask: number): SnapshotStore {
  const m = new SnapshotStore();
  m.update('binance', 'BTC-USDT', bid, ask, 10, 10, systemClock.nowNs());
  return m;
}

describe('price band in basis points (seed → guard → engine)', () => {
  it('the seeded 5 % band refuses a SELL whose 9,000 bps slippage cap puts its limit at 6,000 against 60,000', async () => {
    const m = market(59_999.99, 60_000.01);
    const guard = new PrecisionGuard([await seedSpec()], 1_000_000_000n, 10);
    const r = guard.check('binance', 'BTC-USDT', Side.SELL, 0.01, 60_000, 9_000, m.get('binance', 'BTC-USDT'), systemClock.nowNs(), false);
    expect(r.ok).toBe(false);
    expect(r.reason).toBe(RejectReason.PRICE_BANDS);
    // Inside the band (400 bps → limit 57,600, 4 % from mid) the same order passes.
    const ok = guard.check('binance', 'BTC-USDT', Side.SELL, 0.01, 60_000, 400, m.get('binance', 'BTC-USDT'), systemClock.nowNs(), false);
    expect(ok.ok).toBe(true);
    expect(ok.price).toBe(57_600);
  });

  it('the simulated venue applies the same band in basis points', () => {
    const rules = {
      symbol: 'BTC-USDT',
      base: 'BTC',
      quote: 'USDT',
      tickSize: 0.01,
      lotStep: 0.00001,
      minQty: 0.00001,
      maxQty: 100,
      priceBandBps: 500,
      makerFee: 0,
      takerFee: 0,
    };
    const engine = new MatchingEngine({ clock: systemClock, mode: 'paper', symbols: [rules], balances: { a: { BTC: 10, USDT: 1e7 } } });
    engine.onBook('BTC-USDT', [[59_999.99, 5]], [[60_000.01, 5]]);
    expect(() =>
      engine.submit('a', { clientId: 'c1', symbol: 'BTC-USDT', side: 'sell', type: 'limit', qty: 0.01, price: 6_000, tif: 'IOC' }),
    ).toThrow(/band/);
    // 4 % away is inside the band: accepted (rests: nothing to match at that price on the bid side).
    expect(
      engine.submit('a', { clientId: 'c2', symbol: 'BTC-USDT', side: 'sell', type: 'limit', qty: 0.01, price: 62_400, tif: 'GTC' }).state,
    ).toBe('new');
  });
});

describe('local risk guard values an order at the worse of its limit and mid', () => {
  let ex: Executor | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await ex?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a deep SELL limit inside the band does not understate its notional', async () => {
    const bus = new InProcessBus();
    dir = tmpDir('kestrel-band-');
    const rejects: RejectEvent[] = [];
    ex = new Executor(
      { bus, clock: systemClock, venues: [await seedSpec()], market: market(59_999.99, 60_000.01) },
      { mode: 'live', namespace: 'live', walDir: dir, awaitRiskLimitsMs: 0, riskBoundaryPct: 0.99 },
    );
    ex.onReject((e) => rejects.push(e));
    await ex.start();
    ex.risk.update(create(RiskLimitsSchema, { version: 1n, tradingEnabled: true, maxOrderNotional: 59_000 }), systemClock.nowNs());
    const s: ExecSignal = {
      strategyId: 'core',
      symbol: 'BTC-USDT',
      side: Side.SELL,
      size: 1,
      confidence: 0.9,
      ttlMs: 1000,
      // 450 bps: limit 57,300, inside the 5 % band; worth ~60,000 when it fills at the touch.
      maxSlippageBps: 450,
      minFillQty: 0,
      urgency: Urgency.NORMAL,
      traceId: 'band-1',
      sourceSequence: 1n,
      emitTsNs: systemClock.nowNs(),
      refPrice: 60_000,
    };
    ex.onSignal(s);
    expect(rejects.map((r) => r.reason)).toEqual([RejectReason.RISK_LIMIT]);
    expect(rejects[0]!.detail).toMatch(/60000/);
    expect(ex.orders.size).toBe(0);
    await bus.close();
  });
});
