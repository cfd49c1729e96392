/**
 * The trading components follow the Clock they are given, not the wall clock: an executor, its
 * circuit breakers and the positions service on a VirtualClock set years in the past. Wall time
 * passing changes nothing; virtual time passing expires signals and half-opens breakers at once.
 */
import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fromBinary } from '@bufbuild/protobuf';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { VirtualClock, systemClock } from '../../src/clock/clock.js';
import { CircuitStateSchema, PortfolioStateSchema, RejectReason, Side, Urgency, subjects } from '../../src/contracts/index.js';
import { Executor, type RejectEvent } from '../../src/execution/executor.js';
import { OrderState } from '../../src/execution/order.js';
import type { ExecSignal } from '../../src/execution/types.js';
import { PositionService } from '../../src/positions/service.js';
import { StaticRiskGateway } from '../../src/risk/static-gateway.js';
import { binanceSpec, startVenue, tmpDir, type TestVenue } from '../execution/harness.js';
import { until } from '../support/wait.js';

const MS = 1_000_000n;
/** 2023-11-14T22:13:20Z: far from any wall time this test runs at. */
const START_NS = 1_700_000_000_000n * MS;

let seq = 0;
function signal(emitTsNs: bigint, over: Partial<ExecSignal> = {}): ExecSignal {
  seq++;
  return {
    strategyId: 'core',
    symbol: 'BTC-USDT',
    side: Side.BUY,
    size: 0.1,
    confidence: 0.9,
    ttlMs: 50,
    maxSlippageBps: 50,
    minFillQty: 0,
    urgency: Urgency.NORMAL,
    traceId: `virtual-${seq}`,
    sourceSequence: BigInt(seq),
    emitTsNs,
    refPrice: 0,
    ...over,
  };
}

/** Real-time wait for asynchronous effects (socket round trips); never used as the trading clock. */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('components on a virtual clock', () => {
  let bus: InProcessBus;
  let venue: TestVenue;
  let risk: StaticRiskGateway;
  let dir: string;
  let ex: Executor;
  let clock: VirtualClock;
  let rejects: RejectEvent[];

  beforeEach(async () => {
    clock = new VirtualClock(START_NS);
    bus = new InProcessBus();
    venue = await startVenue(bus);
    // The book as the executor sees it, stamped in virtual time.
    venue.market.update('binance', 'BTC-USDT', 100, 100.1, 50, 50, clock.nowNs());
    risk = new StaticRiskGateway(bus, { perSymbolNotional: 1e9, portfolioNotional: 1e10, maxOrderNotional: 1e8 }, 'live', { clock });
    risk.start();
    dir = tmpDir('kestrel-virtual-');
    rejects = [];
    ex = new Executor(
      { bus, clock, venues: [binanceSpec()], market: venue.market, recon: { binance: venue.client } },
      {
        namespace: 'live',
        mode: 'live',
        walDir: dir,
        maxClockSkewMs: 1,
        riskStalenessMs: 60_000,
        circuit: { default: { errorThreshold: 2, timeoutMs: 50, halfOpenRequests: 1 } },
      },
    );
    ex.onReject((e) => rejects.push(e));
    await ex.start();
    await until(() => ex.risk.current !== undefined);
  });

  afterEach(async () => {
    await ex.close();
    risk.stop();
    await venue.stop();
    await bus.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('judges signal TTL by the virtual clock: wall time passing expires nothing, virtual time passing does', async () => {
    // Emitted now (virtual), 50 ms TTL; 120 ms of wall time go by, virtual time stands still: still fresh.
    const fresh = signal(clock.nowNs());
    await sleep(120);
    ex.onSignal(fresh);
    await until(() => ex.counters.fills === 1);
    expect(rejects).toEqual([]);
    const [o] = [...ex.orders.values()];
    await until(() => o!.state === OrderState.FILLED);
    // Intent and send are stamped in virtual time; the nonce floor is virtual microseconds.
    expect(o!.createdTsNs).toBe(START_NS);
    expect(o!.sentTsNs).toBe(START_NS);
    expect(o!.nonce >= START_NS / 1000n && o!.nonce < START_NS / 1000n + 1_000_000n).toBe(true);

    // 60 ms of virtual time and no wall time: the same kind of signal is refused as expired at once.
    const stale = signal(clock.nowNs());
    clock.advance(60n * MS);
    ex.onSignal(stale);
    expect(rejects.map((r) => r.reason)).toEqual([RejectReason.SIGNAL_EXPIRED]);

    // A signal stamped with the wall clock lies decades ahead of this executor's time.
    ex.onSignal(signal(systemClock.nowNs()));
    expect(rejects.map((r) => r.reason)).toEqual([RejectReason.SIGNAL_EXPIRED, RejectReason.SIGNAL_BAD_TIMESTAMP]);
  });

  it('half-opens a breaker after its timeout in virtual time, and not after the same wall time', async () => {
    const states: Array<{ state: string; tsNs: bigint }> = [];
    bus.subscribe(subjects.circuit('binance', 'live'), (m) => {
      const s = fromBinary(CircuitStateSchema, m.data);
      states.push({ state: s.state, tsNs: s.tsNs });
    });
    const b = ex.breakers.get('binance');
    b.onFailure();
    b.onFailure();
    expect(b.state).toBe('OPEN');
    await sleep(120); // over twice the 50 ms timeout, in wall time
    expect(b.state).toBe('OPEN');
    expect(b.allow()).toBe(false);
    clock.advance(49n * MS);
    expect(b.state).toBe('OPEN');
    clock.advance(1n * MS);
    expect(b.state).toBe('HALF_OPEN');
    await bus.flush();
    expect(states).toEqual([
      { state: 'OPEN', tsNs: START_NS },
      { state: 'HALF_OPEN', tsNs: START_NS + 50n * MS },
    ]);
  });

  it('stamps portfolio state with the virtual clock', async () => {
    const seen: bigint[] = [];
    bus.subscribe(subjects.posCurrent('live'), (m) => void seen.push(fromBinary(PortfolioStateSchema, m.data).tsNs));
    const positions = new PositionService(bus, { clock, book: ex.book, namespace: 'live', throttleMs: 5, heartbeatMs: 10 });
    clock.advance(7n * MS);
    positions.publish();
    await bus.flush();
    expect(seen).toEqual([START_NS + 7n * MS]);
  });
});
