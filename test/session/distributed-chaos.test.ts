/**
 * Chaos on the distributed deployment (issue 14 item 5): the processes of the equivalence test
 * (test/support/deployment.ts: a gateway per venue, risk, positions, executor with remote gateways,
 * engine, md --data) over a real NATS, and SIGKILL, in turn, the engine, the executor, the Binance
 * gateway and the md process while the recording replays. The harness's supervisor starts each one
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
  startVenues,
  Supervised,
  writeDeploymentConfig,
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
const services: Supervised[] = [];

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
    for (const s of services) await s.stop();
    await bus?.close();
    await venues?.stop();
    await nats?.stop();
  });

  it('SIGKILL engine, executor, a gateway and md in turn: each comes back, no order lost or doubled, positions = venues', async () => {
    const run = (name: string, args: string[], opts: ConstructorParameters<typeof Supervised>[2] = {}) => {
      const s = new Supervised(name, ['run', ...args, '--config', cfg], opts);
      services.push(s);
      return s;
    };
    const gateways = Object.fromEntries(DEPLOYED_VENUES.map((v) => [v, run(`gateway-${v}`, ['gateway', '--venue', v])])) as Record<
      DeployedVenue,
      Supervised
    >;
    const risk = run('risk', ['risk']);
    const positions = run('positions', ['positions']);
    for (const s of [...Object.values(gateways), risk, positions]) await s.ready();
    const executor = run('executor', ['executor']);
    const engine = run('engine', ['engine']);
    await Promise.all([executor.ready(), engine.ready()]);
    const startBtc = Object.fromEntries(
      await Promise.all(DEPLOYED_VENUES.map(async (v) => [v, btcOf(await venueState(v))] as const)),
    ) as Record<DeployedVenue, number>;

    let signals = 0;
    const sub = bus!.subscribe('replay.sig.>', () => void signals++);
    // One replay, paced so that it outlasts the four kills and restarts.
    const md = run('md', ['md', ...dataFlags, '--rate', String(RATE_PER_S)], { oneShot: true });
    const victims: Array<[string, Supervised]> = [
      ['engine', engine],
      ['executor', executor],
      ['gateway-binance', gateways.binance],
      ['md', md],
    ];
    // Mid-run: the first signal is out (a fifth of the recording is behind it).
    await until(() => signals > 0, 120_000, 'the first signal', 50);
    const downMs: Record<string, number> = {};
    for (const [name, victim] of victims) {
      // Each victim dies while the first replay is still publishing.
      expect(md.restarts === 0 && md.current.child.exitCode === null, `${name} killed after the replay ended`).toBe(true);
      const t0 = performance.now();
      await victim.kill();
      downMs[name] = Math.round(performance.now() - t0);
    }
    // The restarted md replays the recording from the start; the deployment keeps trading until it ends.
    await until(() => md.current.child.exitCode === 0, 180_000, 'the replay done', 100);
    // The last orders are answered before everything stops.
    await until(
      () => {
        const c = executorCounters(executor.current)?.counters;
        return c !== undefined && (c.acks ?? 0) >= (c.sent ?? 0);
      },
      30_000,
      'every order of the last executor answered',
      50,
    );
    sub.unsubscribe();
    for (const [name, victim] of victims) expect(victim.restarts, name).toBe(1);
    for (const s of [risk, positions, gateways.kraken]) expect(s.restarts, s.name).toBe(0);
    expect(await engine.stop()).toBe(0);
    expect(await executor.stop()).toBe(0);
    const sentByIncarnation = executor.incarnations.map((p) => executorCounters(p)?.counters.sent ?? 0);
    const duplicatesRefused = executor.incarnations.reduce((n, p) => n + (executorCounters(p)?.counters.duplicates ?? 0), 0);

    // The account's WAL, settled with the venues through the gateways still running.
    const reporter = kestrel(['run', 'executor', '--config', cfg, '--report']);
    expect(await reporter.exited, reporter.stderr().slice(-2000)).toBe(0);
    const report = eventLine<Report>(reporter, 'report');
    const states = Object.fromEntries(await Promise.all(DEPLOYED_VENUES.map(async (v) => [v, await venueState(v)] as const))) as Record<
      DeployedVenue,
      VenueState
    >;

    // Not vacuous: orders went out, before and after the executor's restart.
    expect(report.orders.length).toBeGreaterThan(5);
    expect(sentByIncarnation[0]).toBeGreaterThan(0);
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
      `chaos: ${signals} signals on the bus, ${report.orders.length} orders (${filled} filled), sent per executor incarnation ` +
        `[${sentByIncarnation.join(', ')}], replayed signals refused as duplicates ${duplicatesRefused}; ` +
        `kill→ready ms ${JSON.stringify(downMs)}; positions ${JSON.stringify(report.positions.map((p) => [p.venue, p.quantity]))}`,
    );
    expect(fs.existsSync(path.join(dir, 'wal'))).toBe(true);
  }, 300_000);
});
