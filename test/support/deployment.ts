/**
 * The distributed deployment as real OS processes on this machine, for the equivalence and chaos
 * tests (test/session/distributed-*.test.ts): the simulated private venues in their own process,
 * then one `kestrel run <service>` process per service — a gateway per venue, risk, positions, the
 * executor (its gateways remote), the engine — over a NATS server of the test's own, all in bus
 * namespace replay, and `kestrel run md --data` replaying recordings into it.
 *
 * `startDistributed` runs them all as `kestrel start --distributed` (the product's supervisor, used
 * by the chaos test); `Supervised` is the test's own, one process each (the equivalence test, which
 * reads each process's output): a process that exits without being asked to (SIGKILL,
 * crash) is started again with the same arguments, as systemd or Kubernetes would restart it, and
 * every incarnation is kept for its output. One-shot processes (md --data) are restarted only when
 * they did not exit 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { TEST_CREDENTIALS } from '../../src/simulators/private/venues.js';
import { sharedDataFile } from '../../src/simulators/recordings.js';
import { kestrel, repoRoot, type KestrelProcess } from './processes.js';
import { LOOSE_RISK, privateEndpoints, writeServiceConfig } from './service-config.js';

/** The venues of the deployment: one gateway process each. */
export const DEPLOYED_VENUES = ['binance', 'kraken'] as const;
export type DeployedVenue = (typeof DEPLOYED_VENUES)[number];

/**
 * The bundled recordings of the deployed venues. OKX's BTC-USDT recording is left out on purpose:
 * with two venues quoting BTC-USDT the router reads the other venue's top of book, whose age is
 * recorded time in a backtest (years old: refused as stale) but wall time in a deployment (seconds).
 */
export const DEPLOYED_DATA = [
  sharedDataFile('binance', 'hftbacktest_spot_btcusdt_20240808.gz'),
  sharedDataFile('kraken', 'python-kraken-sdk_orderbook-v2_btcusd_20230730.json'),
];
export const DEPLOYED_SYMBOLS = 'BTC-USDT,BTC-USD';

/** Secrets of the simulated accounts, as a deployment's environment gives them. */
export const VENUE_ENV: NodeJS.ProcessEnv = {
  KESTREL_BINANCE_API_KEY: TEST_CREDENTIALS.binance.apiKey,
  KESTREL_BINANCE_API_SECRET: TEST_CREDENTIALS.binance.apiSecret,
  KESTREL_KRAKEN_API_KEY: TEST_CREDENTIALS.kraken.apiKey,
  KESTREL_KRAKEN_API_SECRET: TEST_CREDENTIALS.kraken.apiSecret,
};

export interface VenueUrls {
  ws: string;
  rest: string;
  control: string;
}

/** The simulated private venues in their own process (they outlive every service restart). */
export interface Venues {
  urls: Record<DeployedVenue, VenueUrls>;
  stop(): Promise<void>;
}

/**
 * `src/simulators/private/main.ts`: the venues' books are fed from the Binance capture (as fast as
 * it reads), so an order at the recording's prices finds liquidity to fill against.
 */
export async function startVenues(journalDir: string): Promise<Venues> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/simulators/private/main.ts',
      '--mode',
      'paper',
      '--journal-dir',
      journalDir,
      '--no-rate-limit',
      '--replay',
      '0',
      '--speed',
      '0',
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const info = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`venue simulators exited early (${code})`)));
  });
  const all = JSON.parse(info) as Record<string, VenueUrls>;
  const exited = new Promise((r) => child.once('exit', r));
  return {
    urls: { binance: all.binance!, kraken: all.kraken! },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The one config every service process reads (--config): the deployment's venues and symbols, the
 * NATS server, namespace replay (where `run md --data` publishes), the executor's gateways remote,
 * risk in its own process, and the test's risk and slippage settings (`extra`, merged last).
 */
export function writeDeploymentConfig(
  file: string,
  opts: { natsUrl: string; walDir: string; venues: Record<DeployedVenue, VenueUrls>; clientIdPrefix: string },
  ...extra: Array<Record<string, unknown>>
): string {
  return writeServiceConfig(
    file,
    privateEndpoints('binance', opts.venues.binance.ws, opts.venues.binance.rest),
    privateEndpoints('kraken', opts.venues.kraken.ws, opts.venues.kraken.rest),
    {
      session: { venues: [...DEPLOYED_VENUES], symbols: DEPLOYED_SYMBOLS.split(',') },
      bus: { nats_url: opts.natsUrl, namespace: 'replay' },
      execution: { wal_dir: opts.walDir, client_id_prefix: opts.clientIdPrefix },
      services: { executor: { remote_gateways: [...DEPLOYED_VENUES], embedded_risk: false, reconcile_interval_ms: 0 } },
    },
    ...extra,
  );
}

/** Limits no order of the recording reaches: the risk decisions do not depend on fills (see the tests' headers). */
export const DEPLOYMENT_RISK = LOOSE_RISK;

/**
 * Wall-time budgets a loaded 2-vCPU host can keep (the defaults are latency targets of a tuned
 * host): a signal's lifetime from the engine process to the executor's intake (default 50 ms), the
 * risk.check round trip to the risk process (default 10 ms), and a slippage cap wide enough for the
 * ticks md publishes between a signal's tick and its arrival. A backtest on the event clock never
 * reaches any of them, so with these a refusal means the same in both.
 */
export const DEPLOYMENT_TIMING: Record<string, unknown> = {
  strategy: { signal_ttl_ms: 5000 },
  risk: { check_timeout_ms: 2000 },
  execution: { max_slippage_bps: 100 },
};

/** One supervised service: restarted with the same arguments whenever it exits unasked. */
export class Supervised {
  /** Every incarnation, oldest first; the last is the current one. */
  readonly incarnations: KestrelProcess[] = [];
  private stopping = false;
  private readonly readyRe: RegExp;

  constructor(
    readonly name: string,
    private readonly args: readonly string[],
    private readonly opts: { env?: NodeJS.ProcessEnv; ready?: RegExp; oneShot?: boolean } = {},
  ) {
    this.readyRe = opts.ready ?? /"event":"ready"/;
    this.spawn();
  }

  get current(): KestrelProcess {
    return this.incarnations[this.incarnations.length - 1]!;
  }

  get restarts(): number {
    return this.incarnations.length - 1;
  }

  /** The current incarnation's ready line. */
  ready(timeoutMs = 120_000): Promise<RegExpExecArray> {
    return this.current.line(this.readyRe, timeoutMs);
  }

  /** SIGKILL the current incarnation; resolves once the supervisor's next one is ready. */
  async kill(timeoutMs = 120_000): Promise<void> {
    const victim = this.current;
    victim.child.kill('SIGKILL');
    await victim.exited;
    // The exit handler spawned the successor synchronously on exit.
    if (this.current === victim) throw new Error(`${this.name}: no restart after SIGKILL`);
    await this.ready(timeoutMs);
  }

  /** SIGTERM (a clean stop, not restarted); resolves with the exit code. */
  async stop(): Promise<number | null> {
    this.stopping = true;
    const p = this.current;
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    return p.exited;
  }

  private spawn(): void {
    const p = kestrel([...this.args], { ...VENUE_ENV, KESTREL_EXECUTOR_STATS: '1', ...this.opts.env });
    this.incarnations.push(p);
    p.child.once('exit', (code) => {
      if (this.stopping) return;
      if (this.opts.oneShot && code === 0) return;
      this.spawn();
    });
  }
}

/** The last executor counters line an incarnation printed on stderr (KESTREL_EXECUTOR_STATS). */
export function executorCounters(p: KestrelProcess): { counters: Record<string, number>; rejects: Record<string, number> } | undefined {
  const lines = p.stderr().split('\n');
  for (let i = lines.length - 1; i >= 0; i--)
    if (lines[i]!.startsWith('{"counters"')) {
      try {
        return JSON.parse(lines[i]!) as { counters: Record<string, number>; rejects: Record<string, number> };
      } catch {
        // a line cut by the kill
      }
    }
  return undefined;
}

/** The JSON of the first stdout line of `p` with "event":"<event>". */
export function eventLine<T>(p: KestrelProcess, event: string): T {
  const l = p.stdout.find((x) => x.includes(`"event":"${event}"`));
  if (l === undefined) throw new Error(`no ${event} line; stdout: ${p.stdout.join('\n')}; stderr: ${p.stderr().slice(-1500)}`);
  return JSON.parse(l) as T;
}

export const journalFile = (dir: string, venue: DeployedVenue) => path.join(dir, `${venue}-requests.jsonl`);

/**
 * `kestrel start --distributed` (src/cli/supervisor.ts) as one process: its supervisor events and the
 * children's wrapped stdout lines, read per service.
 */
export interface Distributed {
  readonly process: KestrelProcess;
  /** pids of every incarnation of `service`, oldest first. */
  pids(service: string): number[];
  /** stdout lines of `service` (every incarnation). */
  lines(service: string): string[];
  /** Resolves once the incarnation with `pid` printed its ready line (md: or it exited 0). */
  ready(service: string, pid: number, timeoutMs?: number): Promise<void>;
  /** SIGKILL the current incarnation of `service`; resolves with the pid of its successor once ready. */
  kill(service: string, timeoutMs?: number): Promise<number>;
}

export function startDistributed(args: readonly string[]): Distributed {
  const p = kestrel(['start', '--distributed', ...args], { ...VENUE_ENV, KESTREL_EXECUTOR_STATS: '1' });
  const events = () =>
    p.stdout.flatMap((l) => {
      try {
        return [JSON.parse(l) as { event?: string; service?: string; pid?: number; line?: string }];
      } catch {
        return [];
      }
    });
  const pids = (service: string) =>
    events()
      .filter((e) => e.event === 'spawned' && e.service === service)
      .map((e) => e.pid!);
  const lines = (service: string) =>
    events()
      .filter((e) => e.line !== undefined && e.service === service)
      .map((e) => e.line!);
  const readyOf = (service: string, pid: number) =>
    events().some(
      (e) =>
        e.service === service &&
        e.pid === pid &&
        ((e.line !== undefined && e.line.includes('"event":"ready"')) || (e.event === 'exited' && (e as { code?: number }).code === 0)),
    );
  const poll = async (cond: () => boolean, timeoutMs: number, what: string) => {
    const end = performance.now() + timeoutMs;
    while (!cond()) {
      if (p.child.exitCode !== null)
        throw new Error(`start --distributed exited while waiting for ${what}; stderr: ${p.stderr().slice(-1500)}`);
      if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return {
    process: p,
    pids,
    lines,
    ready: (service, pid, timeoutMs = 120_000) => poll(() => readyOf(service, pid), timeoutMs, `${service} ${pid} ready`),
    kill: async (service, timeoutMs = 120_000) => {
      const before = pids(service);
      const victim = before[before.length - 1]!;
      process.kill(victim, 'SIGKILL');
      await poll(() => pids(service).length > before.length, timeoutMs, `${service} restarted`);
      const next = pids(service)[before.length]!;
      await poll(() => readyOf(service, next), timeoutMs, `${service} ${next} ready`);
      return next;
    },
  };
}
