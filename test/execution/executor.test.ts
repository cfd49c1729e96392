import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { create, toBinary } from '@bufbuild/protobuf';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import * as C from '../../src/contracts/index.js';
import { RejectReason, Side, Urgency } from '../../src/contracts/index.js';
import { Executor, HaltClearError, type RejectEvent } from '../../src/execution/executor.js';
import { OrderState } from '../../src/execution/order.js';
import { type ExecSignal } from '../../src/execution/types.js';
import { systemClock } from '../../src/clock/clock.js';
import { StaticRiskGateway } from '../../src/risk/static-gateway.js';
import { CREDS, RULES, binanceSpec, startVenue, tmpDir, type TestVenue } from './harness.js';
import { until } from '../support/wait.js';
import { execSignal } from '../support/factories.js';

const signal = (over: Partial<ExecSignal> = {}): ExecSignal => execSignal({ size: 0.5, ...over }, 'trace');

describe('executor against the simulated venue', () => {
  let bus: InProcessBus;
  let venue: TestVenue;
  let risk: StaticRiskGateway;
  let dir: string;
  let ex: Executor;
  let rejects: RejectEvent[];

  beforeEach(async () => {
    bus = new InProcessBus();
    venue = await startVenue(bus);
    risk = new StaticRiskGateway(bus, { perSymbolNotional: 1e9, portfolioNotional: 1e10, maxOrderNotional: 1e8 }, 'live', {
      clock: systemClock,
    });
    risk.start();
    dir = tmpDir('kestrel-exec-');
    rejects = [];
  });

  afterEach(async () => {
    await ex?.close();
    risk.stop();
    await venue.stop();
    await bus.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function make(over: Partial<ConstructorParameters<typeof Executor>[1]> = {}): Promise<Executor> {
    ex = new Executor(
      { bus, clock: systemClock, venues: [binanceSpec()], market: venue.market, recon: { binance: venue.client } },
      { namespace: 'live', mode: 'live', walDir: dir, ...over },
    );
    ex.onReject((e) => rejects.push(e));
    await ex.start();
    await until(() => ex.risk.current !== undefined);
    return ex;
  }

  it('drain: closes the signal source, refuses a signal still handed over, and names orders open at the timeout', async () => {
    await make();
    let closed = 0;
    let deliver: ((s: ExecSignal) => void) | undefined;
    ex.attachSignals({
      onSignal: (cb) => {
        deliver = cb;
        return () => (deliver = undefined);
      },
      close: () => void closed++,
    });
    // The venue stops reading: the order sent now cannot finish before the drain's timeout.
    venue.sim.freezePrivate();
    deliver!(signal());
    await until(() => ex.counters.sent === 1);
    const r = await ex.drain(300);
    expect(closed).toBe(1);
    expect(deliver).toBeUndefined();
    expect(ex.isDraining).toBe(true);
    expect(r.drained).toBe(false);
    expect(r.open).toEqual([...ex.orders.values()].map((o) => o.clientId));
    ex.onSignal(signal({ traceId: 'after-drain' }));
    expect(rejects.at(-1)).toMatchObject({ reason: RejectReason.KILL_SWITCH, detail: 'executor draining' });
    expect(ex.counters.sent).toBe(1);
  });

  it('turns a signal into one filled order, rounded to tick and lot, with position and fees', async () => {
    await make();
    ex.onSignal(signal({ size: 0.50007 }));
    await until(() => ex.book.quantity('binance', 'BTC-USDT') > 0);
    const [o] = [...ex.orders.values()];
    expect(o!.size).toBe(0.5); // floored to the 0.0001 step
    expect(Math.round(o!.price * 100) / 100).toBe(o!.price); // on the 0.01 tick
    await until(() => o!.state === OrderState.FILLED);
    expect(ex.book.quantity('binance', 'BTC-USDT')).toBeCloseTo(0.5, 10);
    expect(ex.book.get('binance', 'BTC-USDT')!.fees).toBeGreaterThan(0);
    expect(venue.sim.snapshot().received[o!.clientId]!.place).toBe(1);
    expect(ex.counters.corrected).toBe(1);
  });

  it('refuses signals without an emit time or stamped beyond the clock-skew bound (counted), and judges TTL on the safe side of the skew', async () => {
    const { create, toBinary } = await import('@bufbuild/protobuf');
    const { BusSignalSource } = await import('../../src/execution/signal-source.js');
    await make({ maxClockSkewMs: 5 });
    // No emit time: the age is unknown, so the signal must not count as never expiring.
    ex.onSignal(signal({ emitTsNs: 0n, ttlMs: 50 }));
    expect(rejects.map((r) => r.reason)).toEqual([RejectReason.SIGNAL_BAD_TIMESTAMP]);
    expect(ex.counters.untimedSignals).toBe(1);
    // The same over the bus: a Signal without emit_ts_ns decodes to 0.
    const source = new BusSignalSource(bus, { namespace: 'live' });
    ex.attachSignals(source);
    const wire = create(C.SignalSchema, {
      strategyId: 'core',
      symbol: 'BTC-USDT',
      side: Side.BUY,
      size: 0.5,
      confidence: 0.9,
      ttlMs: 1000,
      maxSlippageBps: 50,
      traceId: 'untimed-bus',
    });
    bus.publish(C.subjects.signal('core', 'BTC-USDT', 'live'), toBinary(C.SignalSchema, wire));
    await until(() => rejects.length === 2);
    expect(rejects[1]).toMatchObject({ reason: RejectReason.SIGNAL_BAD_TIMESTAMP, detail: 'signal without emit_ts_ns' });
    expect(ex.counters.untimedSignals).toBe(2);
    source.close();
    // From the future beyond the skew bound: refused; within it: a clock difference, accepted.
    ex.onSignal(signal({ emitTsNs: systemClock.nowNs() + 20_000_000n }));
    expect(rejects[2]!.reason).toBe(RejectReason.SIGNAL_BAD_TIMESTAMP);
    expect(rejects[2]!.detail).toMatch(/in the future \(max clock skew 5 ms\)/);
    expect(ex.counters.futureSignals).toBe(1);
    // 47 ms old with a 50 ms TTL: within the TTL by this clock, but with 5 ms of possible skew it may be 52.
    ex.onSignal(signal({ emitTsNs: systemClock.nowNs() - 47_000_000n, ttlMs: 50 }));
    expect(rejects[3]!.reason).toBe(RejectReason.SIGNAL_EXPIRED);
    expect(ex.rejects.get(RejectReason.SIGNAL_BAD_TIMESTAMP)).toBe(3);
    ex.onSignal(signal({ emitTsNs: systemClock.nowNs() + 2_000_000n, size: 0.1 }));
    ex.onSignal(signal({ emitTsNs: systemClock.nowNs() - 30_000_000n, ttlMs: 50, size: 0.1 }));
    await until(() => ex.counters.fills === 2);
    expect(rejects).toHaveLength(4);
  });

  it('refuses a clock-skew bound that is not below the default TTL', () => {
    const bad = (maxClockSkewMs: number) => () =>
      new Executor(
        { bus, clock: systemClock, venues: [binanceSpec()], market: venue.market },
        { namespace: 'live', mode: 'live', walDir: dir, defaultTtlMs: 50, maxClockSkewMs },
      );
    expect(bad(50)).toThrow(/maxClockSkewMs must be in \[0, defaultTtlMs = 50\)/);
    expect(bad(-1)).toThrow(/maxClockSkewMs/);
    expect(bad(Number.NaN)).toThrow(/maxClockSkewMs/);
  });

  it('refuses expired, low-confidence, duplicate and unknown-symbol signals with their taxonomy reason', async () => {
    await make();
    const s = signal();
    ex.onSignal(signal({ emitTsNs: systemClock.nowNs() - 2_000_000_000n, ttlMs: 50 }));
    ex.onSignal(signal({ confidence: 0.1 }));
    ex.onSignal(s);
    ex.onSignal({ ...s });
    ex.onSignal(signal({ symbol: 'DOGE-USDT' }));
    expect(rejects.map((r) => r.reason)).toEqual([
      RejectReason.SIGNAL_EXPIRED,
      RejectReason.LOW_CONFIDENCE,
      RejectReason.DUPLICATE_ORDER,
      RejectReason.INVALID_SYMBOL,
    ]);
    await until(() => ex.counters.fills === 1);
    expect(ex.orders.size).toBe(1);
  });

  it('applies slippage cap, stale snapshot and min size guards', async () => {
    await make({ staleSnapshotMs: 200 });
    venue.setBook(100, 100.1);
    ex.onSignal(signal({ refPrice: 99, maxSlippageBps: 10 })); // ask 100.1 is ~111 bps above ref
    ex.onSignal(signal({ size: 0.00004 })); // floors to 0
    ex.onSignal(signal({ size: 150, minFillQty: 120 })); // clipped to the venue max 100 < 120
    expect(rejects.map((r) => r.reason)).toEqual([RejectReason.SLIPPAGE, RejectReason.MIN_SIZE, RejectReason.MIN_SIZE]);
    await new Promise((r) => setTimeout(r, 250));
    ex.onSignal(signal());
    expect(rejects[3]!.reason).toBe(RejectReason.STALE_SNAPSHOT);
  });

  it('refuses live orders to a shadow_only venue with VENUE_POLICY and sends shadow orders flagged', async () => {
    ex = new Executor(
      { bus, clock: systemClock, venues: [binanceSpec('shadow_only')], market: venue.market },
      { namespace: 'live', mode: 'live', walDir: dir },
    );
    ex.onReject((e) => rejects.push(e));
    await ex.start();
    ex.onSignal(signal());
    expect(rejects[0]!.reason).toBe(RejectReason.VENUE_POLICY);
    await ex.close();
    ex = new Executor(
      { bus, clock: systemClock, venues: [binanceSpec('shadow_only')], market: venue.market },
      { namespace: 'live', mode: 'shadow', walDir: dir },
    );
    const flags: boolean[] = [];
    ex.onSend((o) => flags.push(o.shadow));
    await ex.start();
    ex.onSignal(signal());
    await until(() => flags.length === 1);
    expect(flags).toEqual([true]);
  });

  it('holds the per-symbol cap, queues by priority lane and drains HIGH first', async () => {
    await make({ concurrency: { perSymbolMaxInflight: 1 } });
    venue.sim.faults.delayAckMs = 30;
    const sent: string[] = [];
    ex.onSend((o, s) => sent.push(s?.strategyId ?? ''));
    ex.onSignal(signal({ strategyId: 'first' }));
    ex.onSignal(signal({ strategyId: 'low', urgency: Urgency.LOW }));
    ex.onSignal(signal({ strategyId: 'high', urgency: Urgency.HIGH }));
    expect(ex.inflightCount).toBe(1);
    expect(ex.queuedCount).toBe(2);
    venue.sim.faults.delayAckMs = 0;
    await until(() => sent.length === 3, 5000);
    expect(sent).toEqual(['first', 'high', 'low']);
  });

  it('never resends an order whose reply timed out; the venue stream settles it', async () => {
    await make({ inDoubtCheckMs: 50 });
    venue.sim.faults.delayAckMs = 60; // reply after the 20 ms ord.req timeout
    ex.onSignal(signal());
    await until(() => [...ex.orders.values()][0]?.state === OrderState.FILLED);
    await new Promise((r) => setTimeout(r, 150));
    const o = [...ex.orders.values()][0]!;
    expect(venue.sim.snapshot().received[o.clientId]!.place).toBe(1);
    expect(ex.book.quantity('binance', 'BTC-USDT')).toBeCloseTo(0.5, 10);
  });

  it('keeps an order whose gateway lost the transport after the venue accepted it in doubt and resolves it by client id', async () => {
    const { OrderGateway } = await import('../../src/venues/order-gateway.js');
    const { VenueClientError } = await import('../../src/venues/common/order-types.js');
    // The gateway's link to the venue breaks right after the venue took the order: place() throws,
    // the gateway's own status queries fail and the fills of that order never reach its stream.
    // Only the executor's private channel (recon) can tell what happened.
    const { BinanceOrderClient } = await import('../../src/venues/binance/order-entry.js');
    await venue.gateway.stop(); // closes the harness client: the gateway under test gets its own
    const real = new BinanceOrderClient({
      clock: systemClock,
      wsUrl: venue.sim.wsUrl,
      credentials: CREDS,
      minLots: { 'BTC-USDT': RULES.minQty },
    });
    await real.connect();
    const lost = new Set<string>();
    const faulty: typeof real = Object.create(real) as typeof real;
    Object.assign(faulty, {
      connect: async () => undefined,
      close: async () => undefined,
      place: async (req: C.OrderRequest) => {
        lost.add(req.clientId);
        await real.place(req);
        throw new VenueClientError('binance', 'TIMEOUT', 'connection reset after send');
      },
      orderStatus: async () => {
        throw new VenueClientError('binance', 'DISCONNECTED', 'link down');
      },
      onUpdate: (cb: (a: C.OrderAck) => void) => real.onUpdate((a) => (lost.has(a.clientId) ? undefined : cb(a))),
      onConnectionChange: () => () => undefined,
    });
    Object.defineProperty(faulty, 'connected', { get: () => true });
    const gw = new OrderGateway({ clock: systemClock, bus, client: faulty, spec: binanceSpec(), healthIntervalMs: 0, namespace: 'live' });
    await gw.start();
    try {
      ex = new Executor(
        { bus, clock: systemClock, venues: [binanceSpec()], market: venue.market, recon: { binance: real } },
        { mode: 'live', namespace: 'live', walDir: dir, inDoubtCheckMs: 30 },
      );
      await ex.start();
      await until(() => ex.risk.current !== undefined);
      const breaker = ex.breakers.get('binance');
      ex.onSignal(signal());
      await until(() => [...ex.orders.values()][0]?.state === OrderState.FILLED, 3000);
      const o = [...ex.orders.values()][0]!;
      expect(o.inDoubt).toBe(false);
      expect(ex.counters.inDoubt).toBe(1);
      expect(ex.counters.inDoubtResolved).toBe(1);
      expect(breaker.failureCount).toBeGreaterThan(0); // unknown outcome is no breaker success
      expect(venue.sim.snapshot().received[o.clientId]!.place).toBe(1); // never resent
      expect(ex.book.quantity('binance', 'BTC-USDT')).toBeCloseTo(0.5, 10);
      expect(ex.inflightCount).toBe(0);
    } finally {
      await gw.stop().catch(() => undefined);
      await real.close();
    }
  });

  it('fails an order definitively when no gateway serves the venue (no responders)', async () => {
    await make();
    await venue.gateway.stop();
    ex.onSignal(signal());
    await until(() => rejects.length === 1);
    expect(rejects[0]!.reason).toBe(RejectReason.VENUE_UNAVAILABLE);
    expect([...ex.orders.values()][0]!.state).toBe(OrderState.FAILED);
    expect(ex.inflightCount).toBe(0);
  });

  it('recovers from the WAL: adopts what the venue has, fails what it never saw, cancels orphans', async () => {
    const { OrderJournal } = await import('../../src/execution/wal/order-journal.js');
    const { NonceManager } = await import('../../src/execution/nonce.js');
    const { orderFromRequest } = await import('../../src/execution/wal/order-journal.js');
    const { create, toBinary } = await import('@bufbuild/protobuf');
    const { loadOrCreateInstanceId } = await import('../../src/execution/instance-id.js');
    const { journal } = OrderJournal.open(dir);
    // The crashed executor's ids carry its instance id (kept in the WAL directory).
    const nm = new NonceManager(journal, { clock: systemClock, instanceId: loadOrCreateInstanceId(dir) });
    const mk = (tif: C.TimeInForce, price: number) => {
      const nonce = nm.next('binance');
      const req = create(C.OrderRequestSchema, {
        clientId: nm.clientId('binance', nonce),
        venue: 'binance',
        symbol: 'BTC-USDT',
        side: Side.BUY,
        size: 0.2,
        price,
        tif,
        orderType: C.OrderType.LIMIT,
        nonce,
      });
      return req;
    };
    const sentThenCrashed = mk(C.TimeInForce.IOC, 100.5); // intent durable, sent, no ack recorded
    const neverSent = mk(C.TimeInForce.IOC, 100.5); // intent durable, crash before send
    const orphan = mk(C.TimeInForce.GTC, 96); // at the venue, intent lost
    for (const r of [sentThenCrashed, neverSent]) {
      const o = orderFromRequest(toBinary(C.OrderRequestSchema, r));
      journal.state.orders.set(o.clientId, o);
      journal.intent(o);
    }
    journal.commit();
    journal.close();
    await venue.client.place(sentThenCrashed);
    await venue.client.place(orphan);
    expect((await venue.client.openOrders()).map((a) => a.clientId)).toEqual([orphan.clientId]);

    ex = new Executor(
      { bus, clock: systemClock, venues: [binanceSpec()], market: venue.market, recon: { binance: venue.client } },
      { namespace: 'live', mode: 'live', walDir: dir },
    );
    const report = await ex.start();
    expect(report).toMatchObject({ replayedOrders: 2, inDoubt: 2, adopted: 1, failed: 1, orphansCancelled: 1 });
    expect(ex.orders.get(sentThenCrashed.clientId)!.state).toBe(OrderState.FILLED);
    expect(ex.orders.get(neverSent.clientId)!.state).toBe(OrderState.FAILED);
    expect(ex.book.quantity('binance', 'BTC-USDT')).toBeCloseTo(0.2, 10);
    expect(await venue.client.openOrders()).toEqual([]);
    const received = venue.sim.snapshot().received;
    expect(received[neverSent.clientId]).toBeUndefined(); // never resent
    expect(received[sentThenCrashed.clientId]!.place).toBe(1);
    // New orders continue above every nonce the WAL knew.
    ex.onSignal(signal());
    await until(() => ex.orders.size === 3);
    const newest = [...ex.orders.values()].at(-1)!;
    expect(newest.nonce).toBeGreaterThan(orphan.nonce);
  });

  it('recovery keeps asking about an order the venue reports without a definite status', async () => {
    const { OrderJournal, orderFromRequest } = await import('../../src/execution/wal/order-journal.js');
    const { NonceManager } = await import('../../src/execution/nonce.js');
    const { loadOrCreateInstanceId } = await import('../../src/execution/instance-id.js');
    const { journal } = OrderJournal.open(dir);
    const nm = new NonceManager(journal, { clock: systemClock, instanceId: loadOrCreateInstanceId(dir) });
    const nonce = nm.next('binance');
    const req = create(C.OrderRequestSchema, {
      clientId: nm.clientId('binance', nonce),
      venue: 'binance',
      symbol: 'BTC-USDT',
      side: Side.BUY,
      size: 0.2,
      price: 100.5,
      tif: C.TimeInForce.IOC,
      orderType: C.OrderType.LIMIT,
      nonce,
    });
    const o0 = orderFromRequest(toBinary(C.OrderRequestSchema, req));
    journal.state.orders.set(o0.clientId, o0);
    journal.intent(o0);
    journal.commit();
    journal.close();
    await venue.client.place(req); // sent, then the crash
    let vague = 1; // the first status answer carries no status (e.g. one the client cannot map)
    const recon = Object.create(venue.client) as typeof venue.client;
    recon.orderStatus = async (id: string, symbol?: string) => {
      const a = await venue.client.orderStatus(id, symbol);
      if (a && vague-- > 0) return { ...a, status: C.OrderStatus.ORDER_STATUS_UNSPECIFIED, filledQty: 0, avgPrice: 0 };
      return a;
    };
    ex = new Executor(
      { bus, clock: systemClock, venues: [binanceSpec()], market: venue.market, recon: { binance: recon } },
      { mode: 'live', namespace: 'live', walDir: dir, inDoubtCheckMs: 20 },
    );
    const report = await ex.start();
    expect(report).toMatchObject({ inDoubt: 1, adopted: 0, unresolved: 1 });
    const o = ex.orders.get(req.clientId)!;
    await until(() => o.state === OrderState.FILLED);
    expect(o.inDoubt).toBe(false);
    expect(ex.book.quantity('binance', 'BTC-USDT')).toBeCloseTo(0.2, 10);
    expect(ex.inflightCount).toBe(0);
  });

  it('recovery cancels only its own orphans: another executor on the same venue keeps its open orders', async () => {
    const dirB = tmpDir('kestrel-exec-b-');
    const mkB = () =>
      new Executor(
        { bus, clock: systemClock, venues: [binanceSpec()], market: venue.market, recon: { binance: venue.client } },
        { mode: 'live', namespace: 'live', walDir: dirB, tif: C.TimeInForce.GTC },
      );
    let exB = mkB();
    try {
      const exA = await make({ tif: C.TimeInForce.GTC });
      await exB.start();
      exA.onSignal(signal({ refPrice: 99, maxSlippageBps: 10, size: 0.2 })); // rests below the touch
      exB.onSignal(signal({ refPrice: 98, maxSlippageBps: 10, size: 0.3 }));
      await until(() => [...exA.orders.values()][0]?.state === OrderState.ACKED && [...exB.orders.values()][0]?.state === OrderState.ACKED);
      const a = [...exA.orders.values()][0]!;
      const b = [...exB.orders.values()][0]!;
      // B dies; meanwhile an order of B's own (intent lost with the crash) rests at the venue.
      const idB = exB.instanceId;
      await exB.close();
      const orphanB = create(C.OrderRequestSchema, {
        clientId: `KS${idB}1${(BigInt(Date.now()) * 1000n + 7n).toString(36)}`,
        venue: 'binance',
        symbol: 'BTC-USDT',
        side: Side.BUY,
        size: 0.1,
        price: 97,
        tif: C.TimeInForce.GTC,
        orderType: C.OrderType.LIMIT,
      });
      await venue.client.place(orphanB);
      exB = mkB();
      const report = await exB.start();
      expect(exB.instanceId).toBe(idB); // kept in the WAL directory across restarts
      expect(report.orphansCancelled).toBe(1);
      const open = (await venue.client.openOrders()).map((o) => o.clientId).sort();
      expect(open).toEqual([a.clientId, b.clientId].sort()); // A's order untouched, B's adopted
      expect(a.state).toBe(OrderState.ACKED);
      expect(exB.orders.get(b.clientId)!.state).toBe(OrderState.ACKED);
      expect(exA.instanceId).toMatch(/^[0-9a-z]{4}$/);
      expect(exA.instanceId).not.toBe(exB.instanceId);
      expect(a.clientId.startsWith(`KS${exA.instanceId}`)).toBe(true);
      expect(fs.readFileSync(`${dirB}/instance-id`, 'utf8').trim()).toBe(exB.instanceId);
    } finally {
      await exB.close();
      fs.rmSync(dirB, { recursive: true, force: true });
    }
  });

  it('gets a boundary case decided by risk.check and rejects on a risk limit', async () => {
    risk.setLimits({ perSymbolNotional: 60, portfolioNotional: 1e9, maxOrderNotional: 1e9 });
    await until(() => ex === undefined || true);
    await make();
    await until(() => ex.risk.current?.perSymbolNotional === 60);
    ex.onSignal(signal({ size: 0.58 })); // ~58 of 60: near the limit → gateway
    ex.onSignal(signal({ size: 1 })); // 100 > 60: local reject
    expect(rejects.map((r) => r.reason)).toEqual([RejectReason.RISK_LIMIT]);
    await until(() => ex.counters.fills === 1);
    expect(ex.counters.riskChecks).toBe(1);
  });

  it('refuses a boundary case with RISK_TIMEOUT after riskCheckTimeoutMs (risk.check_timeout_ms), and waits longer when it is raised', async () => {
    risk.setLimits({ perSymbolNotional: 60, portfolioNotional: 1e9, maxOrderNotional: 1e9 });
    // The gateway's limits reach the local guard, then a slow gateway (40 ms) answers risk.check.
    const slowGateway = async (timeoutMs: number): Promise<Executor> => {
      const e = await make({ riskCheckTimeoutMs: timeoutMs });
      await until(() => e.risk.current?.perSymbolNotional === 60);
      return e;
    };
    const first = await slowGateway(20);
    risk.stop();
    const approved = toBinary(C.RiskCheckResponseSchema, create(C.RiskCheckResponseSchema, { approved: true }));
    bus.subscribe(C.subjects.riskCheck('live'), (m) => void setTimeout(() => m.respond(approved), 40));
    first.onSignal(signal({ size: 0.58 })); // near the limit → gateway
    await until(() => rejects.length === 1);
    expect(rejects[0]!.reason).toBe(RejectReason.RISK_TIMEOUT);
    await first.close();
    rejects = [];
    risk.start(); // publishes nothing until setLimits: give the second executor its limits again
    risk.setLimits({ perSymbolNotional: 60, portfolioNotional: 1e9, maxOrderNotional: 1e9 });
    const second = await slowGateway(500);
    risk.stop();
    second.onSignal(signal({ size: 0.58, traceId: 'trace-2' }));
    await until(() => second.counters.fills === 1);
    expect(rejects).toEqual([]);
  });

  it('holds an in-flight slot while risk.check is pending, so the caps stay exact', async () => {
    risk.setLimits({ perSymbolNotional: 60, portfolioNotional: 1e9, maxOrderNotional: 1e9 });
    await make({ concurrency: { globalMaxInflight: 1, perSymbolMaxInflight: 1, perVenueMaxInflight: { binance: 1 } } });
    await until(() => ex.risk.current?.perSymbolNotional === 60);
    ex.onSignal(signal({ size: 0.55 })); // near the limit: asks the gateway
    expect(ex.counters.riskChecks).toBe(1);
    expect(ex.orders.size).toBe(0); // no order yet ...
    expect(ex.inflightCount).toBe(1); // ... but its slot is taken
    ex.onSignal(signal({ side: Side.SELL, size: 0.01 }));
    expect(ex.queuedCount).toBe(1); // waits for the slot instead of exceeding the cap
    await until(() => ex.counters.fills === 2);
    expect(ex.inflightCount).toBe(0);
  });

  it('kill switch refuses signals until resumed; paused venue is not routed to', async () => {
    await make();
    await ex.kill('test');
    ex.onSignal(signal());
    expect(rejects[0]!.reason).toBe(RejectReason.KILL_SWITCH);
    ex.resume();
    ex.pauseVenue('binance');
    ex.onSignal(signal());
    expect(rejects[1]!.reason).toBe(RejectReason.KILL_SWITCH);
    ex.resumeVenue('binance');
    ex.onSignal(signal());
    await until(() => ex.counters.fills === 1);
  });

  it('stops routing to a venue whose private stream is reported down on venue.health', async () => {
    const { create, toBinary } = await import('@bufbuild/protobuf');
    await make();
    const health = (connected: boolean) =>
      bus.publish(
        C.subjects.venueHealth('binance', 'live'),
        toBinary(C.VenueHealthSchema, create(C.VenueHealthSchema, { venue: 'binance', privateWs: { connected } })),
      );
    health(false);
    await new Promise((r) => setTimeout(r, 5));
    // A public market-data health report (no privateWs) must not clear the private stream's outage.
    bus.publish(
      C.subjects.venueHealth('binance', 'live'),
      toBinary(C.VenueHealthSchema, create(C.VenueHealthSchema, { venue: 'binance', publicWs: { connected: true } })),
    );
    await new Promise((r) => setTimeout(r, 5));
    ex.onSignal(signal());
    expect(rejects.map((r) => r.reason)).toEqual([RejectReason.VENUE_UNAVAILABLE]);
    health(true);
    await new Promise((r) => setTimeout(r, 5));
    ex.onSignal(signal());
    await until(() => ex.counters.fills === 1);
  });

  it('keeps at most maxRetainedOrders finished orders in memory', async () => {
    await make({ maxRetainedOrders: 2 });
    for (let i = 0; i < 5; i++) {
      ex.onSignal(signal({ size: 0.01 }));
      await until(() => ex.counters.fills === i + 1);
    }
    expect(ex.orders.size).toBeLessThanOrEqual(3);
    expect(ex.book.quantity('binance', 'BTC-USDT')).toBeCloseTo(0.05, 12);
  });

  it('rests GTC orders below the touch, amends them (ord.replace.req) and cancels them (ord.cancel.req)', async () => {
    await make({ tif: C.TimeInForce.GTC });
    ex.onSignal(signal({ refPrice: 99, maxSlippageBps: 10, size: 0.2 })); // limit 99.09 < ask: rests
    await until(() => [...ex.orders.values()][0]?.state === OrderState.ACKED);
    const o = [...ex.orders.values()][0]!;
    expect(ex.inflightCount).toBe(1);
    const amended = await ex.replace(o, 99.5, 0.3);
    expect(amended?.status).not.toBe(C.OrderStatus.REJECTED);
    expect(o.size).toBe(0.3);
    const open = await venue.client.openOrders();
    expect(open.map((a) => a.clientId)).toEqual([o.clientId]);
    await ex.cancel(o, 'test');
    await until(() => o.state === OrderState.CANCELLED);
    expect(ex.inflightCount).toBe(0);
    expect(await venue.client.openOrders()).toEqual([]);
  });

  it('kill switch stops intents of the same turn from leaving; flatten still goes out while killed', async () => {
    await make();
    ex.onSignal(signal({ size: 0.2 }));
    await until(() => ex.counters.fills === 1);
    ex.onSignal(signal()); // intent queued for this turn's commit
    void ex.kill('test');
    await until(() => ex.inflightCount === 0);
    const last = [...ex.orders.values()].at(-1)!;
    expect(last.state).toBe(OrderState.FAILED);
    expect(venue.sim.snapshot().received[last.clientId]).toBeUndefined();
    await ex.flatten('while killed');
    await until(() => Math.abs(ex.book.quantity('binance', 'BTC-USDT')) < 1e-12);
  });

  it('halts instead of sending when the WAL cannot be written, and refuses malformed signals', async () => {
    await make();
    // Fault injection: the disk under the WAL fails (EIO on write/fdatasync).
    const log = ex.journal.log;
    const real = log.commit.bind(log);
    const realDurable = log.commitDurable.bind(log);
    const eio = (): Error => Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    // Both ways to the device: the synchronous commit and the group commit on the pool.
    log.commit = () => {
      throw eio();
    };
    log.commitDurable = (cb) => cb(eio());
    ex.onSignal(signal());
    await until(() => rejects.length === 1);
    const o = [...ex.orders.values()][0]!;
    expect(o.state).toBe(OrderState.FAILED);
    expect(venue.sim.snapshot().received[o.clientId]).toBeUndefined();
    expect(ex.isHalted).toBe(true);
    ex.onSignal(signal());
    expect(rejects.at(-1)!.detail).toMatch(/WAL write failed/);
    // A routine resume must not re-open trading on a broken WAL; clearing it is explicit and only
    // succeeds once the journal commits again.
    expect(() => ex.resume()).toThrow(HaltClearError);
    expect(ex.isHalted).toBe(true);
    expect(() => ex.clearHalt('wal')).toThrow(/WAL still failing/);
    expect(ex.isHalted).toBe(true);
    log.commit = real;
    log.commitDurable = realDurable;
    ex.clearHalt('wal');
    expect(ex.isHalted).toBe(false);
    ex.onSignal({ ...signal(), emitTsNs: 5 as unknown as bigint });
    expect(rejects.at(-1)!.reason).toBe(RejectReason.UNKNOWN);
    ex.onSignal(signal());
    await until(() => ex.counters.fills === 1);
  });

  it('flattens positions with opposite orders', async () => {
    await make();
    ex.onSignal(signal({ size: 0.3 }));
    await until(() => ex.book.quantity('binance', 'BTC-USDT') > 0.29);
    await ex.flatten('test');
    await until(() => Math.abs(ex.book.quantity('binance', 'BTC-USDT')) < 1e-12);
    expect(ex.book.get('binance', 'BTC-USDT')!.realizedGross).toBeLessThan(0); // bought at ask, sold at bid
  });

  it('holds the local order-rate limits (risk.rate_limits) with RATE_LIMIT rejects; flatten orders are exempt', async () => {
    await make({ rateLimits: { ordersPerSecond: 100, perVenue: { binance: 3 } } });
    for (let i = 0; i < 5; i++) ex.onSignal(signal({ size: 0.01 }));
    await until(() => ex.counters.orders + rejects.length >= 5);
    expect(ex.counters.orders).toBe(3);
    expect(rejects.map((r) => r.reason)).toEqual([RejectReason.RATE_LIMIT, RejectReason.RATE_LIMIT]);
    expect(rejects[0]!.detail).toBe('binance order rate limit 3/s');
    await until(() => ex.inflightCount === 0 && ex.book.quantity('binance', 'BTC-USDT') > 0.029);
    await ex.flatten('test'); // the bucket is empty, the flatten order still goes out
    await until(() => Math.abs(ex.book.quantity('binance', 'BTC-USDT')) < 1e-12);
    await new Promise((r) => setTimeout(r, 400)); // refills at 3/s: one more token
    ex.onSignal(signal({ size: 0.01 }));
    await until(() => ex.counters.orders === 5);
  });

  it('exports counters, rejects, breaker states and signal → order latency to the metrics registry', async () => {
    const { exportExecutorMetrics } = await import('../../src/execution/metrics.js');
    const { registry } = await import('../../src/observability/metrics.js');
    await make();
    const stop = exportExecutorMetrics(ex, 10);
    ex.onSignal(signal());
    ex.onSignal(signal({ confidence: 0 }));
    await until(() => ex.counters.fills === 1);
    await new Promise((r) => setTimeout(r, 30));
    const text = await registry.metrics();
    stop();
    expect(text).toMatch(/kestrel_executor_events_total\{event="fills"\} 1/);
    expect(text).toMatch(/kestrel_executor_rejects_total\{reason="LOW_CONFIDENCE"\} 1/);
    expect(text).toMatch(/kestrel_circuit_state\{venue="binance"\} 0/);
    expect(text).toMatch(/kestrel_executor_signal_to_wire_seconds_count [1-9]/);
  });

  it('positions agree with the venue balances', async () => {
    const baseline = { binance: { BTC: 1000 } };
    await make();
    for (let i = 0; i < 5; i++) ex.onSignal(signal({ side: i % 2 ? Side.SELL : Side.BUY, size: 0.1 * (i + 1) }));
    await until(() => ex.counters.fills === 5);
    expect(await ex.reconcileBalances(baseline)).toEqual([]);
  });
});
