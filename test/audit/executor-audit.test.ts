import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.js';
import { attachExecutorAudit } from '../../src/audit/order-audit.js';
import { GENESIS_HASH } from '../../src/audit/chain.js';
import type { AuditSink } from '../../src/audit/sinks.js';
import { orderHistory, verifyEvents } from '../../src/audit/verify.js';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { systemClock } from '../../src/clock/clock.js';
import * as C from '../../src/contracts/index.js';
import { type AuditEvent } from '../../src/contracts/index.js';
import { Executor } from '../../src/execution/executor.js';
import { OrderState } from '../../src/execution/order.js';
import type { ExecSignal } from '../../src/execution/types.js';
import { StaticRiskGateway } from '../../src/risk/static-gateway.js';
import { binanceSpec, startVenue, tmpDir, type TestVenue } from '../execution/harness.js';
import { until } from '../support/wait.js';
import { execSignal } from '../support/factories.js';

class MemorySink implements AuditSink {
  stored: AuditEvent[] = [];
  async append(e: AuditEvent): Promise<void> {
    this.stored.push(e);
  }
  async appendBatch(events: readonly AuditEvent[]): Promise<void> {
    this.stored.push(...events);
  }
  async head(): Promise<string> {
    return this.stored.at(-1)?.hash ?? GENESIS_HASH;
  }
  async close(): Promise<void> {}
}

const signal = (over: Partial<ExecSignal> = {}): ExecSignal => execSignal({ size: 0.2, ...over }, 'audit');

describe('executor lifecycle in the audit trail', () => {
  let bus: InProcessBus;
  let venue: TestVenue;
  let risk: StaticRiskGateway;
  let dir: string;
  let ex: Executor;
  let sink: MemorySink;
  let log: AuditLog;

  beforeEach(async () => {
    bus = new InProcessBus();
    venue = await startVenue(bus);
    risk = new StaticRiskGateway(bus, { perSymbolNotional: 1e9, portfolioNotional: 1e10, maxOrderNotional: 1e8 }, 'live', {
      clock: systemClock,
    });
    risk.start();
    dir = tmpDir('kestrel-exec-audit-');
    sink = new MemorySink();
    log = await AuditLog.open(sink, { service: 'test', replay: false, clock: systemClock });
    ex = new Executor(
      { bus, clock: systemClock, venues: [binanceSpec()], market: venue.market, recon: { binance: venue.client } },
      { namespace: 'live', mode: 'live', walDir: dir, tif: C.TimeInForce.GTC },
    );
    attachExecutorAudit(ex, log);
    await ex.start();
    await until(() => ex.risk.current !== undefined);
  });

  afterEach(async () => {
    await ex.close();
    await log.close();
    risk.stop();
    await venue.stop();
    await bus.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('records intent, send, ack, cancel request and confirmation of a resting order, in order', async () => {
    ex.onSignal(signal({ refPrice: 99, maxSlippageBps: 10 })); // limit below the ask: rests
    await until(() => [...ex.orders.values()][0]?.state === OrderState.ACKED);
    const o = [...ex.orders.values()][0]!;
    await ex.cancel(o, 'operator test');
    await until(() => o.state === OrderState.CANCELLED);
    await log.flush();
    const h = orderHistory(sink.stored, o.clientId);
    expect(h.map((e) => e.eventType)).toEqual([
      'risk_decision',
      'order_intent',
      'order_send',
      'order_ack',
      'order_cancel',
      'order_cancelled',
    ]);
    expect(h[0]!.metadata.decision).toBe('approved');
    expect(h[1]!.metadata).toMatchObject({ venue: 'binance', symbol: 'BTC-USDT', side: 'buy', qty: '0.2' });
    // The intent's payload is the exact request sent.
    expect(Buffer.from(h[1]!.payload!.value).equals(Buffer.from(o.requestBytes))).toBe(true);
    expect(h[4]!.metadata.reason).toBe('operator test');
    expect(verifyEvents(sink.stored).ok).toBe(true);
  });

  it('records a refused signal with its reason, and an order failed locally with its client id', async () => {
    ex.onSignal(signal({ confidence: 0.1 }));
    ex.onSignal(signal());
    void ex.kill('audit test'); // the second signal's intent is queued in this turn: failed, never sent
    await until(() => ex.inflightCount === 0);
    await log.flush();
    const rejects = sink.stored.filter((e) => e.eventType === 'order_reject');
    expect(rejects.map((e) => e.metadata.reason)).toEqual(['LOW_CONFIDENCE', 'KILL_SWITCH']);
    expect(rejects[0]!.metadata.client_id).toBeUndefined();
    const failed = [...ex.orders.values()].at(-1)!;
    expect(rejects[1]!.metadata.client_id).toBe(failed.clientId);
    expect(orderHistory(sink.stored, failed.clientId).map((e) => e.eventType)).toEqual(['risk_decision', 'order_intent', 'order_reject']);
  });
});
