/**
 * The executor's timers run on the injected scheduler (issue 11 item 6): with a VirtualScheduler an
 * order whose reply never came stays in doubt, however much wall time passes, until event time
 * reaches the in-doubt check; then the venue is asked (never resent). This is what makes a backtest
 * in instant mode independent of the machine's speed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { VirtualClock } from '../../src/clock/clock.js';
import { VirtualScheduler } from '../../src/clock/scheduler.js';
import { RejectReason, Side, Urgency, subjects } from '../../src/contracts/index.js';
import { Executor } from '../../src/execution/executor.js';
import { OrderState } from '../../src/execution/order.js';
import { SnapshotStore } from '../../src/execution/types.js';
import { StaticRiskGateway } from '../../src/risk/static-gateway.js';
import { MatchingVenueClient } from '../../src/venues/matching-client.js';
import { RULES, binanceSpec } from './harness.js';

const T0 = 1_700_000_000_000_000_000n;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('executor timers on a VirtualScheduler', () => {
  it('an unanswered order waits for event time, not wall time, before the venue is asked', async () => {
    const clock = new VirtualClock(T0);
    const scheduler = new VirtualScheduler(clock);
    const bus = new InProcessBus();
    const dir = mkdtempSync(path.join(tmpdir(), 'kestrel-vt-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // A gateway that takes requests and never answers: every ord.req times out (20 ms, wall time).
    const silent = bus.subscribe(subjects.orderReq('binance', 'live'), () => undefined);
    cleanups.push(() => silent.unsubscribe());
    const risk = new StaticRiskGateway(bus, { perSymbolNotional: 1e9, portfolioNotional: 1e9, maxOrderNotional: 1e9 }, 'live', {
      clock,
      scheduler,
    });
    const market = new SnapshotStore();
    market.update('binance', 'BTC-USDT', 100, 100.1, 5, 5, clock.nowNs());
    const venue = new MatchingVenueClient({ venue: 'binance', mode: 'paper', symbols: [RULES], balances: { USDT: 1e6, BTC: 10 }, clock });
    const ex = new Executor(
      { bus, clock, scheduler, venues: [binanceSpec()], market, recon: { binance: venue } },
      { mode: 'live', namespace: 'live', walDir: dir, walSync: false, inDoubtCheckMs: 500 },
    );
    cleanups.push(() => ex.close());
    // Subscribed first, then the gateway's first risk.limits reaches it (the kernel's start order).
    const starting = ex.start();
    risk.start();
    cleanups.push(() => risk.stop());
    await starting;
    const rejects: RejectReason[] = [];
    ex.onReject((e) => rejects.push(e.reason));
    ex.onSignal({
      strategyId: 's',
      symbol: 'BTC-USDT',
      side: Side.BUY,
      size: 0.01,
      confidence: 0.9,
      ttlMs: 1000,
      maxSlippageBps: 10,
      minFillQty: 0,
      urgency: Urgency.NORMAL,
      traceId: 't1',
      sourceSequence: 1n,
      emitTsNs: clock.nowNs(),
      refPrice: 100.05,
    });
    await new Promise((r) => setImmediate(r)); // the WAL group commit, then the send
    expect(ex.counters.sent).toBe(1);
    const o = [...ex.orders.values()][0]!;
    // Ten times the in-doubt check in wall time: still in doubt, nobody asked.
    await new Promise((r) => setTimeout(r, 100));
    expect(o.inDoubt).toBe(true);
    expect(ex.counters.inDoubt).toBe(1);
    expect(ex.counters.inDoubtResolved).toBe(0);
    // Event time passes the check: the venue (which never saw the order) is asked; FAILED, not resent.
    scheduler.advanceTo(T0 + 499_000_000n);
    await new Promise((r) => setImmediate(r));
    expect(ex.counters.inDoubtResolved).toBe(0);
    scheduler.advanceTo(T0 + 500_000_000n);
    await new Promise((r) => setImmediate(r));
    expect(ex.counters.inDoubtResolved).toBe(1);
    expect(o.state).toBe(OrderState.FAILED);
    expect(rejects).toEqual([RejectReason.UNKNOWN]);
    expect(ex.counters.sent).toBe(1);
  });
});
