/**
 * Replay isolation on one real NATS server (issue 10 item 5): a live stack and a replay stack, each
 * with its own connection, venue, order gateway, executor, control plane, position service and risk
 * gateway. A stop-loss flatten or a venue.health report of one stack must never act on the other,
 * and neither stack may publish, request or subscribe outside its own namespace.
 */
import fs from 'node:fs';
import { create, toBinary } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsBus } from '../../src/bus/nats-bus.js';
import type { Bus } from '../../src/bus/bus.js';
import { RejectReason, Side, Urgency, VenueHealthSchema, subjects, type Namespace } from '../../src/contracts/index.js';
import { ControlPlane } from '../../src/control/control-plane.js';
import { Executor, type RejectEvent } from '../../src/execution/executor.js';
import { type ExecSignal } from '../../src/execution/types.js';
import { systemClock } from '../../src/clock/clock.js';
import { PositionService } from '../../src/positions/service.js';
import { StaticRiskGateway } from '../../src/risk/static-gateway.js';
import { NATS_URL, requireServer } from '../support/servers.js';
import { binanceSpec, startVenue, tmpDir, type TestVenue } from '../execution/harness.js';
import { until } from '../support/wait.js';

const available = await requireServer('NATS', NATS_URL.replace('nats:', 'http:'));

interface Stack {
  ns: Namespace;
  bus: NatsBus;
  venue: TestVenue;
  risk: StaticRiskGateway;
  ex: Executor;
  plane: ControlPlane;
  positions: PositionService;
  dir: string;
  rejects: RejectEvent[];
  /** Every subject this stack's connection published, requested or subscribed to. */
  touched: Set<string>;
}

/** Records the subjects a stack uses, at the Bus interface every component goes through. */
function recordSubjects(bus: Bus, touched: Set<string>): void {
  const { publish, subscribe, request } = bus;
  bus.publish = (subject, data, opts) => (touched.add(subject), publish.call(bus, subject, data, opts));
  bus.subscribe = (pattern, handler, opts) => (touched.add(pattern), subscribe.call(bus, pattern, handler, opts));
  bus.request = (subject, data, opts) => (touched.add(subject), request.call(bus, subject, data, opts));
}

let seq = 0;
function signal(): ExecSignal {
  seq++;
  return {
    strategyId: 'core',
    symbol: 'BTC-USDT',
    side: Side.BUY,
    size: 0.5,
    confidence: 0.9,
    ttlMs: 5000,
    maxSlippageBps: 50,
    minFillQty: 0,
    urgency: Urgency.NORMAL,
    traceId: `iso-${seq}-${Math.random().toString(36).slice(2)}`,
    sourceSequence: BigInt(seq),
    emitTsNs: systemClock.nowNs(),
    refPrice: 0,
  };
}

const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

async function startStack(ns: Namespace): Promise<Stack> {
  const bus = await NatsBus.connect({ servers: NATS_URL, name: `kestrel-iso-${ns}`, onHandlerError: () => {} });
  const touched = new Set<string>();
  recordSubjects(bus, touched);
  // No periodic health: the only venue.health reports are the ones this test sends.
  const venue = await startVenue(bus, { namespace: ns, healthIntervalMs: 0 });
  const risk = new StaticRiskGateway(
    bus,
    { perSymbolNotional: 1e9, portfolioNotional: 1e10, maxOrderNotional: 1e8, publishIntervalMs: 50, stopLossPct: 0.02 },
    ns,
    { clock: systemClock },
  );
  risk.start();
  const dir = tmpDir(`kestrel-iso-${ns}-`);
  const ex = new Executor(
    { bus, clock: systemClock, venues: [binanceSpec()], market: venue.market, recon: { binance: venue.client } },
    { namespace: ns, mode: 'live', walDir: dir },
  );
  const rejects: RejectEvent[] = [];
  ex.onReject((e) => rejects.push(e));
  await ex.start();
  await until(() => ex.risk.current !== undefined, 5000, `${ns} executor has risk limits`);
  const plane = new ControlPlane(bus, ex, ns);
  plane.start();
  const positions = new PositionService(bus, {
    clock: systemClock,
    namespace: ns,
    book: ex.book,
    throttleMs: 10,
    heartbeatMs: 50,
    mark: (v, s) => {
      const snap = venue.market.get(v, s);
      return snap ? (snap.bid + snap.ask) / 2 : undefined;
    },
  });
  positions.start();
  ex.onFill(() => positions.markDirty());
  await bus.flush();
  return { ns, bus, venue, risk, ex, plane, positions, dir, rejects, touched };
}

async function stopStack(s: Stack): Promise<void> {
  s.positions.stop();
  s.plane.stop();
  await s.ex.close();
  s.risk.stop();
  await s.venue.stop();
  await s.bus.close();
  fs.rmSync(s.dir, { recursive: true, force: true });
}

function reportPrivateStream(s: Stack, connected: boolean): void {
  s.bus.publish(
    subjects.venueHealth('binance', s.ns),
    toBinary(VenueHealthSchema, create(VenueHealthSchema, { venue: 'binance', privateWs: { connected } })),
  );
}

const qty = (s: Stack) => s.ex.book.quantity('binance', 'BTC-USDT');

/** Each test stands alone: a stack holds a 0.5 BTC long before the stop-loss scenario. */
async function ensureLong(s: Stack): Promise<void> {
  if (qty(s) > 0.49) return;
  reportPrivateStream(s, true);
  await s.bus.flush();
  await settle(100);
  const fills = s.ex.counters.fills;
  s.ex.onSignal(signal());
  await until(() => s.ex.counters.fills > fills && qty(s) > 0.49, 5000, `${s.ns} long position`);
}

describe.skipIf(!available)('replay and live stacks on one NATS server', () => {
  let live: Stack;
  let replay: Stack;

  beforeAll(async () => {
    live = await startStack('live');
    replay = await startStack('replay');
  }, 30_000);

  afterAll(async () => {
    if (replay) await stopStack(replay);
    if (live) await stopStack(live);
  });

  it("a replay venue.health outage never halts the live executor's routing, and vice versa", async () => {
    reportPrivateStream(replay, false);
    await replay.bus.flush();
    await settle(100);
    replay.ex.onSignal(signal());
    expect(replay.rejects.map((r) => r.reason)).toEqual([RejectReason.VENUE_UNAVAILABLE]);
    live.ex.onSignal(signal());
    await until(() => live.ex.counters.fills === 1, 5000, 'live fill despite the replay outage');
    expect(live.rejects).toEqual([]);

    reportPrivateStream(replay, true);
    reportPrivateStream(live, false);
    await Promise.all([replay.bus.flush(), live.bus.flush()]);
    await settle(100);
    live.ex.onSignal(signal());
    expect(live.rejects.map((r) => r.reason)).toEqual([RejectReason.VENUE_UNAVAILABLE]);
    replay.ex.onSignal(signal());
    await until(() => replay.ex.counters.fills === 1, 5000, 'replay fill despite the live outage');
    reportPrivateStream(live, true);
    await live.bus.flush();
    await settle(100);
    expect(qty(live)).toBeCloseTo(0.5, 9);
    expect(qty(replay)).toBeCloseTo(0.5, 9);
  });

  it("a replay risk gateway's stop-loss flattens the replay book only, and a live one the live book only", async () => {
    await ensureLong(live);
    await ensureLong(replay);
    // Replay's market falls 10%: its gateway's stop-loss sends a flatten in the replay namespace.
    replay.venue.setBook(90, 90.1);
    await until(() => replay.risk.stats.stops === 1, 5000, 'replay stop-loss fired');
    await until(() => Math.abs(qty(replay)) < 1e-9, 5000, 'replay position flattened');
    expect(replay.plane.applied.map((c) => [c.command, c.symbol, c.operator])).toEqual([['flatten', 'BTC-USDT', 'risk-gateway']]);
    await settle();
    expect(live.plane.applied).toEqual([]);
    expect(live.risk.stats.stops).toBe(0);
    expect(qty(live)).toBeCloseTo(0.5, 9);

    // Now the live market falls: only the live book is flattened, the replay plane hears nothing.
    live.venue.setBook(90, 90.1);
    await until(() => live.risk.stats.stops === 1, 5000, 'live stop-loss fired');
    await until(() => Math.abs(qty(live)) < 1e-9, 5000, 'live position flattened');
    expect(live.plane.applied.map((c) => [c.command, c.symbol])).toEqual([['flatten', 'BTC-USDT']]);
    await settle();
    expect(replay.plane.applied).toHaveLength(1);
    expect(replay.risk.stats.stops).toBe(1);
  });

  it('neither stack touches a subject outside its namespace', () => {
    const inbox = (s: string) => s.startsWith('_INBOX.');
    const replaySubjects = [...replay.touched].filter((s) => !inbox(s));
    const liveSubjects = [...live.touched].filter((s) => !inbox(s));
    // Both stacks did real work: orders, acks, limits, positions, control, health.
    for (const family of ['ord.req.', 'ord.ack.', 'risk.limits', 'pos.current', 'ctl.', 'venue.health.', 'risk.breach']) {
      expect(
        liveSubjects.some((s) => s.startsWith(family)),
        `live used ${family}`,
      ).toBe(true);
      expect(
        replaySubjects.some((s) => s.startsWith(`replay.${family}`)),
        `replay used ${family}`,
      ).toBe(true);
    }
    expect(replaySubjects.filter((s) => !s.startsWith('replay.'))).toEqual([]);
    expect(liveSubjects.filter((s) => s.startsWith('replay.'))).toEqual([]);
  });
});
