/**
 * Venue simulators as a standalone process, for out-of-process use (another process's adapters, a
 * manual session, chaos drills). Prints one JSON line per simulator with its URLs, then serves until
 * SIGINT/SIGTERM; faults go to `POST {controlUrl}/fault`.
 *
 *   tsx src/simulators/main.ts --venues kraken,okx --pace accelerated --speed 10 [--okx-protocol seqid-only] [--no-wait]
 *       [--ports BASE] [--private]
 *
 * `--ports BASE` binds fixed ports: public binance BASE, kraken BASE+1, okx BASE+2 and, with
 * `--private`, the private (order-entry) venues binance BASE+3, kraken BASE+4, okx BASE+5, so another
 * process (`kestrel start --mode paper --set venues.binance.endpoints.public_ws=...`) can be pointed
 * at known URLs. `--private` also starts the simulated private venues and prints their URLs.
 */
import { probeServer } from '../admin/server.js';
import { isVenue, type VenueName } from '../contracts/market.js';
import { scrapedGauge } from '../observability/metrics.js';
import { BinanceSimulator } from '../venues/binance/simulator/market-data.js';
import type { Pace, VenueSimulator } from './common/simulator.js';
import { KrakenSimulator } from '../venues/kraken/simulator/market-data.js';
import { OkxSimulator, type OkxProtocol } from '../venues/okx/simulator/market-data.js';
import { startPrivateVenues, type PrivateVenues } from './private/venues.js';
import { replayCaptures } from './private/replay.js';
import { UsageError, type FlagValues } from '../cli/args.js';
import { parseServiceFlags, runAsEntryPoint, serviceMain } from '../cli/entry.js';
import { simulatorsService } from '../cli/services.js';

/** A bad simulator option value: a usage error (exit 2, one line). */
export class SimulatorArgsError extends UsageError {
  override readonly name = 'SimulatorArgsError';
}

export interface SimulatorArgs {
  venues: VenueName[];
  pace: Pace;
  speed: number | undefined;
  okxProtocol: OkxProtocol;
  waitForSubscriber: boolean;
  /** /health/live, /health/ready, /metrics: host and port (0 = a free port, printed as adminUrl). */
  adminHost: string;
  adminPort: number;
  /** Fixed ports from this base (0 = ephemeral ports, announced on stdout). */
  portBase: number;
  /** Also serve the private (order-entry) venues. */
  withPrivate: boolean;
}

const PORT_OFFSET: Record<VenueName, number> = { binance: 0, kraken: 1, okx: 2 };

/** Flags (simulatorsService, src/cli/services.ts) → checked SimulatorArgs; the test of deploy/ reads container args with it. */
export function parseSimulatorArgs(argv: readonly string[]): SimulatorArgs {
  return simulatorArgsFrom(parseServiceFlags(simulatorsService, argv));
}

export function simulatorArgsFrom(flags: FlagValues): SimulatorArgs {
  const out: SimulatorArgs = {
    venues: ['binance', 'kraken', 'okx'],
    pace: 'original',
    speed: undefined,
    okxProtocol: 'legacy',
    waitForSubscriber: flags['no-wait'] !== true,
    adminHost: typeof flags['admin-host'] === 'string' ? flags['admin-host'] : '127.0.0.1',
    adminPort: 0,
    portBase: 0,
    withPrivate: flags.private === true,
  };
  const str = (name: string): string | undefined => (typeof flags[name] === 'string' ? (flags[name] as string) : undefined);
  const venues = str('venues');
  if (venues !== undefined) {
    const vs = venues.split(',').filter((v) => v.length > 0);
    const bad = vs.filter((v) => !isVenue(v));
    if (bad.length > 0 || vs.length === 0)
      throw new SimulatorArgsError(`--venues: unknown venue(s) ${bad.join(', ') || '(none given)'}; expected binance, kraken, okx`);
    out.venues = vs as VenueName[];
  }
  const pace = str('pace');
  if (pace !== undefined) {
    if (pace !== 'original' && pace !== 'accelerated' && pace !== 'instant')
      throw new SimulatorArgsError(`--pace must be original, accelerated or instant, not ${pace}`);
    out.pace = pace;
  }
  const speed = str('speed');
  if (speed !== undefined) {
    const s = Number(speed);
    if (!Number.isFinite(s) || s <= 0 || s > 1e6) throw new SimulatorArgsError('--speed must be a number in (0, 1e6]');
    out.speed = s;
  }
  const okx = str('okx-protocol');
  if (okx !== undefined) {
    if (okx !== 'legacy' && okx !== 'seqid-only') throw new SimulatorArgsError(`--okx-protocol must be legacy or seqid-only, not ${okx}`);
    out.okxProtocol = okx;
  }
  const adminPort = str('admin-port');
  if (adminPort !== undefined) {
    const p = Number(adminPort);
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw new SimulatorArgsError('--admin-port must be an integer in [0, 65535]');
    out.adminPort = p;
  }
  const ports = str('ports');
  if (ports !== undefined) {
    const p = Number(ports);
    if (!Number.isInteger(p) || p < 1024 || p > 65530)
      throw new SimulatorArgsError('--ports must be a base port in [1024, 65530] (six consecutive ports are used)');
    out.portBase = p;
  }
  return out;
}

/** `kestrel run simulators` and `node src/simulators/main.js`: serve until SIGINT/SIGTERM. */
export function main(argv: readonly string[]): Promise<number> {
  return serviceMain(simulatorsService, argv, run);
}

export async function run(flags: FlagValues): Promise<number> {
  const stop = await runSimulators(simulatorArgsFrom(flags), (l) => process.stdout.write(`${l}\n`));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stop();
  return 0;
}

export async function runSimulators(args: SimulatorArgs, print: (line: string) => void): Promise<() => Promise<void>> {
  const sims: Array<VenueSimulator<unknown>> = [];
  const portOf = (venue: VenueName, shift: number) => (args.portBase > 0 ? { port: args.portBase + PORT_OFFSET[venue] + shift } : {});
  for (const venue of args.venues) {
    const sim =
      venue === 'binance'
        ? await BinanceSimulator.create(portOf(venue, 0))
        : venue === 'kraken'
          ? await KrakenSimulator.create(portOf(venue, 0))
          : await OkxSimulator.create({ protocol: args.okxProtocol, ...portOf(venue, 0) });
    sims.push(sim as unknown as VenueSimulator<unknown>);
    print(JSON.stringify({ venue, wsUrl: sim.wsUrl, restUrl: sim.restUrl, controlUrl: sim.controlUrl }));
  }
  let priv: PrivateVenues | undefined;
  if (args.withPrivate) {
    priv = await startPrivateVenues({
      ...(args.portBase > 0 ? { ports: { binance: args.portBase + 3, kraken: args.portBase + 4, okx: args.portBase + 5 } } : {}),
    });
    for (const v of priv.all)
      print(JSON.stringify({ venue: v.venue, private: true, wsUrl: v.wsUrl, restUrl: v.url, stateUrl: `${v.url}/__sim/state` }));
  }
  let started = false;
  const probes = probeServer();
  probes.addReadinessCheck('simulators', () => started);
  const stopMetrics = scrapedGauge('simulator_clients', 'WebSocket clients connected to each simulated venue', ['venue'], (g) => {
    for (const s of sims) g.set({ venue: s.venue }, s.clientCount);
  });
  const adminUrl = await probes.listen(args.adminPort, args.adminHost);
  for (const s of sims) {
    await s.start({
      pace: args.pace,
      waitForSubscriber: args.waitForSubscriber,
      ...(args.speed !== undefined ? { speed: args.speed } : {}),
    });
  }
  started = true;
  // The private venues' books follow each venue's own recording at the public feed's pace, so an
  // order sent there meets the book the public feed shows.
  let stopping = false;
  const replayed = priv
    ? replayCaptures(
        priv,
        { speed: args.pace === 'instant' ? 0 : args.pace === 'original' ? 1 : (args.speed ?? 10), source: 'per-venue' },
        () => stopping,
      ).catch(() => 0)
    : Promise.resolve(0);
  print(JSON.stringify({ service: 'simulators', adminUrl }));
  return async () => {
    await probes.close();
    stopMetrics();
    for (const s of sims) await s.stop();
    stopping = true;
    await replayed;
    await priv?.stop();
  };
}

runAsEntryPoint(import.meta.url, 'simulators failed', main);
