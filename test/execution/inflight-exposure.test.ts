/**
 * Issue 10 item 4: the portfolio cap counts orders in flight (sent, not yet filled), in the local
 * guard and in risk.check; before, only filled positions counted, so a burst of orders could go out
 * far beyond the cap before the first fill.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import {
  OrderRequestSchema,
  RejectReason,
  RiskCheckRequestSchema,
  RiskCheckResponseSchema,
  RiskLimitsSchema,
  Side,
  Urgency,
  subjects,
  timeouts,
} from '../../src/contracts/index.js';
import { Executor, type RejectEvent } from '../../src/execution/executor.js';
import { SnapshotStore, type ExecSignal } from '../../src/execution/types.js';
import { systemClock } from '../../src/clock/clock.js';
import { StaticRiskGateway } from '../../src/risk/static-gateway.js';
import { binanceSpec, tmpDir } from './harness.js';

let seq = 0;
const buy = (size: number): ExecSignal => ({
  strategyId: 'core',
  symbol: 'BTC-USDT',
  side: Side.BUY,
  size,
  confidence: 0.9,
  ttlMs: 1000,
  maxSlippageBps: 50,
  minFillQty: 0,
  urgency: Urgency.NORMAL,
  traceId: `inflight-${++seq}`,
  sourceSequence: BigInt(seq),
  emitTsNs: systemClock.nowNs(),
  refPrice: 0,
});

describe('in-flight orders count against the portfolio cap', () => {
  let bus: InProcessBus;
  let ex: Executor | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await ex?.close();
    await bus?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('local guard: a second order that would take sent-but-unfilled exposure past the cap is refused', async () => {
    bus = new InProcessBus();
    // An order gateway that takes requests and never answers: the orders stay in flight.
    const requests: Uint8Array[] = [];
    bus.subscribe(subjects.orderReq('binance', 'live'), (m) => void requests.push(m.data));
    const market = new SnapshotStore();
    market.update('binance', 'BTC-USDT', 100, 100.1, 50, 50, systemClock.nowNs());
    dir = tmpDir('kestrel-inflight-');
    const rejects: RejectEvent[] = [];
    ex = new Executor(
      { bus, clock: systemClock, venues: [binanceSpec()], market },
      { mode: 'live', namespace: 'live', walDir: dir, awaitRiskLimitsMs: 0, inDoubtCheckMs: 60_000 },
    );
    ex.onReject((e) => rejects.push(e));
    await ex.start();
    ex.risk.update(
      create(RiskLimitsSchema, {
        epoch: 1n,
        version: 1n,
        tradingEnabled: true,
        portfolioNotional: 1000,
        perSymbolNotional: 1e9,
        maxOrderNotional: 1e9,
      }),
      systemClock.nowNs(),
    );
    ex.onSignal(buy(6)); // ~600 of 1000
    await new Promise((r) => setTimeout(r, 20));
    expect(requests.length).toBe(1);
    ex.onSignal(buy(6)); // 600 in flight + 600 > 1000
    expect(rejects.map((r) => r.reason)).toEqual([RejectReason.RISK_LIMIT]);
    expect(rejects[0]!.detail).toMatch(/portfolio notional/);
    expect(ex.inflightNotional).toBeGreaterThan(600);
    await new Promise((r) => setTimeout(r, 20));
    expect(requests.length).toBe(1);
  });

  it('risk.check: the gateway counts the in-flight notional and quantity the executor sends with it', async () => {
    bus = new InProcessBus();
    const gw = new StaticRiskGateway(bus, { perSymbolNotional: 700, portfolioNotional: 1000, maxOrderNotional: 1e9 }, 'live', {
      clock: systemClock,
    });
    gw.start();
    try {
      const ask = async (inflightGrossNotional: number, inflightSymbolQty: number) => {
        const req = create(RiskCheckRequestSchema, {
          venue: 'binance',
          proposedOrder: create(OrderRequestSchema, { symbol: 'BTC-USDT', side: Side.BUY, size: 2, price: 100 }),
          inflightGrossNotional,
          inflightSymbolQty,
        });
        const m = await bus.request(subjects.riskCheck('live'), toBinary(RiskCheckRequestSchema, req), { timeoutMs: timeouts.riskCheckMs });
        return fromBinary(RiskCheckResponseSchema, m.data);
      };
      expect(await ask(0, 0)).toMatchObject({ approved: true, adjustedSize: 2 });
      // 900 in flight elsewhere: room for 100 of notional → 1 unit.
      expect((await ask(900, 0)).adjustedSize).toBeCloseTo(1, 9);
      // 6 units of this symbol in flight: 700 cap leaves 1 unit.
      expect((await ask(600, 6)).adjustedSize).toBeCloseTo(1, 9);
      expect(await ask(1000, 0)).toMatchObject({ approved: false, reason: RejectReason.RISK_LIMIT });
    } finally {
      gw.stop();
    }
  });
});
