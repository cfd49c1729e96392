/**
 * Chaos on the distributed deployment (issue 14 item 5): `kestrel start --distributed` (its
 * supervisor, src/cli/supervisor.ts) runs the processes of the equivalence test — a gateway per
 * venue, risk, positions, the executor with remote gateways, the engine, md --data — over a real
 * NATS, and the test SIGKILLs, in turn, the engine, the executor, the Binance gateway and the md
 * process while the recording replays. The supervisor starts each one
 * again. md replays at a pace (--rate) so that one replay outlasts the four kill → ready cycles:
 * the first victim dies when the first signal is on the bus, each next one once its predecessor's
 * successor is ready, all while the replay is still publishing.
 *
 * The killed md's successor replays the recording from the start, so ticks the engine already saw
 * come again (the engine's trace ids are strategy, symbol and tick sequence: a signal repeated from
 * them would carry the trace id of one already executed, which the executor refuses from its WAL;
 * in the runs so far the restarted engine, whose state is past those ticks, repeated none — the
 * count is printed). Signals published while the engine or the executor was down are lost by
 * design (core NATS, the TTL): they never were accepted. At the end:
 *  - no client id reached a venue twice, and no signal (trace id) became two orders;
 *  - none lost: every order any executor incarnation wrote is known to the final report, terminal
 *    and not in doubt; every order a venue received is one of them; FAILED ones never reached it;
 *  - positions (from the WAL) equal each venue's balance change.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsBus } from '../../src/bus/nats-bus.js';
import { kestrel } from '../support/processes.js';
import { startOwnNats, type OwnNats } from '../support/nats-server.js';
import { tmpDir } from '../support/tmp.js';
import { until } from '../support/wait.js';
import {
  DEPLOYED_DATA,
  DEPLOYED_SYMBOLS,
  DEPLOYED_VENUES,
  DEPLOYMENT_RISK,
  DEPLOYMENT_TIMING,
  eventLine,
  executorCounters,
  startDistributed,
  startVenues,
  writeDeploymentConfig,
  type Distributed,
  type DeployedVenue,
  type Venues,
} from '../support/deployment.js';

/** md's pace: 38 000 ticks in ~48 s, the signals from ~10 s on: four kill → ready cycles (2-4 s each at load 10 on 2 vCPUs) fit in it with room. */
const RATE_PER_S = 800;
const dataFlags = [...DEPLOYED_DATA.flatMap((f) => ['--data', f]), '--symbols', DEPLOYED_SYMBOLS];
/** Base asset per venue of the deployment: BTC-USDT on Binance, BTC-USD on Kraken. */
const SYMBOL_OF: Record<DeployedVenue, string> = { binance: 'BTC-USDT', kraken: 'BTC-USD' };

interface VenueState {
  received: Record<string, { place: number }>;
  duplicates: string[];
  balances: Record<string, { free: number; locked: number }>;
}
interface Report {
  orders: Array<{ clientId: string; traceId: string; venue: string; state: string; inDoubt: boolean }>;
  positions: Array<{ venue: string; symbol: string; quantity: number }>;
  counters: Record<string, number>;
}

let nats: OwnNats | undefined;
let venues: Venues | undefined;
let bus: NatsBus | undefined;
let running: Distributed | undefined;

const enabled = await startOwnNats().then((n) => ((nats = n), n !== undefined));

async function venueState(v: DeployedVenue): Promise<VenueState> {
  return (await (await fetch(venues!.urls[v].control)).json()) as VenueState;
}
const btcOf = (s: VenueState) => s.balances['BTC']!.free + s.balances['BTC']!.locked;

describe.skipIf(!enabled)('chaos on the distributed deployment', () => {
  let dir: string;
  let cfg: string;

  beforeAll(async () => {
    dir = tmpDir('dist-chaos');
    venues = await startVenues(path.join(dir, 'venues'));
    cfg = writeDeploymentConfig(
      path.join(dir, 'kestrel.yaml'),
      { natsUrl: nats!.url, walDir: path.join(dir, 'wal'), venues: venues.urls, clientIdPrefix: 'CH' },
      DEPLOYMENT_RISK,
      DEPLOYMENT_TIMING,
    );
    bus = await NatsBus.connect({ servers: nats!.url });
  }, 60_000);

  afterAll(async () => {
    await running?.process.stop();
    await bus?.close();
    await venues?.stop();
    await nats?.stop();
  });

  it('SIGKILL engine, executor, a gateway and md in turn: each comes back, no order lost or doubled, positions = venues', async () => {
    const startBtc = Object.fromEntries(
      await Promise.all(DEPLOYED_VENUES.map(async (v) => [v, btcOf(await venueState(v))] as const)),
    ) as Record<DeployedVenue, number>;
    let signals = 0;
    const sub = bus!.subscribe('replay.sig.>', () => void signals++);
    // The product's supervisor: one paced replay that outlasts the four kills and restarts.
    const d = startDistributed(['--config', cfg, ...dataFlags, '--rate', String(RATE_PER_S)]);
    running = d;
    await d.process.line(/"event":"ready","service":"distributed"/, 180_000);
    const services = ['gateway-binance', 'gateway-kraken', 'risk', 'positions', 'executor', 'engine', 'md'];
    for (const s of services) expect(d.pids(s), s).toHaveLength(1);
    const victims = ['engine', 'executor', 'gateway-binance', 'md'];
    const mdRunning = () => d.pids('md').length === 1 && !d.process.stdout.some((l) => l.includes('"event":"exited","service":"md"'));
    // Mid-run: the first signal is out (a fifth of the recording is behind it).
    await until(() => signals > 0, 120_000, 'the first signal', 50);
    const downMs: Record<string, number> = {};
    for (const name of victims) {
      // Each victim dies while the first replay is still publishing.
      expect(mdRunning(), `${name} killed after the replay ended`).toBe(true);
      const t0 = performance.now();
      await d.kill(name);
      downMs[name] = Math.round(performance.now() - t0);
    }
    // The restarted md replays the recording from the start; the deployment trades until it ends.
    await d.process.line(/"event":"exited","service":"md","pid":\d+,"code":0/, 180_000);
    // The last orders are answered before everything stops.
    await until(
      () => {
        const c = executorCounters(d.process)?.counters;
        return c !== undefined && (c.acks ?? 0) >= (c.sent ?? 0);
      },
      30_000,
      'every order of the last executor answered',
      50,
    );
    sub.unsubscribe();
    for (const s of services) expect(d.pids(s), s).toHaveLength(victims.includes(s) ? 2 : 1);
    // SIGTERM: the supervisor stops md, engine, executor, positions, risk, gateways in turn, each drained.
    d.process.child.kill('SIGTERM');
    expect(await d.process.exited, d.process.stderr().slice(-2000)).toBe(0);
    const stopped = JSON.parse(d.lines('executor').find((l) => l.includes('"event":"stopped"'))!) as { counters: Record<string, number> };

    // The account's WAL, settled: every order of every executor incarnation.
    const reporter = kestrel(['run', 'executor', '--config', cfg, '--report']);
    expect(await reporter.exited, reporter.stderr().slice(-2000)).toBe(0);
    const report = eventLine<Report>(reporter, 'report');
    const states = Object.fromEntries(await Promise.all(DEPLOYED_VENUES.map(async (v) => [v, await venueState(v)] as const))) as Record<
      DeployedVenue,
      VenueState
    >;

    // Not vacuous: orders went out, before and after the executor's restart.
    expect(report.orders.length).toBeGreaterThan(5);
    const byId = new Map(report.orders.map((o) => [o.clientId, o]));
    for (const v of DEPLOYED_VENUES) {
      const s = states[v];
      // 1. No client id reached the venue twice.
      expect(s.duplicates, v).toEqual([]);
      for (const [id, c] of Object.entries(s.received)) {
        if (c.place === 0) continue;
        expect(c.place, id).toBe(1);
        // 2. Every order the venue received is one the executor knows.
        expect(byId.get(id), `${v} order ${id} unknown to the executor`).toBeDefined();
      }
    }
    // 3. No signal became two orders (one venue per symbol: the router never splits here).
    const traces = report.orders.map((o) => o.traceId).filter((t) => t !== '');
    expect(new Set(traces).size).toBe(traces.length);
    // 4. None lost: every order terminal and settled; FAILED ones never reached the venue.
    for (const o of report.orders) {
      expect(o.inDoubt, o.clientId).toBe(false);
      expect(['FILLED', 'CANCELLED', 'REJECTED', 'FAILED'], `${o.clientId} ${o.state}`).toContain(o.state);
      if (o.state === 'FAILED') expect(states[o.venue as DeployedVenue].received[o.clientId], o.clientId).toBeUndefined();
    }
    // 5. Positions equal each venue's balance change.
    for (const v of DEPLOYED_VENUES) {
      const ours = report.positions.filter((p) => p.venue === v && p.symbol === SYMBOL_OF[v]).reduce((a, p) => a + p.quantity, 0);
      expect(ours, v).toBeCloseTo(btcOf(states[v]) - startBtc[v], 9);
    }
    const filled = report.orders.filter((o) => o.state === 'FILLED').length;
    console.log(
      `chaos: ${signals} signals on the bus, ${report.orders.length} orders (${filled} filled), sent by the last executor ` +
        `${stopped.counters.sent}, replayed signals it refused as duplicates ${stopped.counters.duplicates}; ` +
        `kill→ready ms ${JSON.stringify(downMs)}; positions ${JSON.stringify(report.positions.map((p) => [p.venue, p.quantity]))}`,
    );
    expect(fs.existsSync(path.join(dir, 'wal'))).toBe(true);
  }, 300_000);
});
