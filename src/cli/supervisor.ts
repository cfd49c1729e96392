/**
 * `kestrel start --distributed`: every service of the one config as its own OS process on this
 * machine (`kestrel run <service> --config FILE`), started in dependency order and kept up by a
 * supervisor, as systemd or Kubernetes would on a real deployment (docs/OPERATIONS.md "The whole
 * deployment as processes").
 *
 *   gateways (services.executor.remote_gateways), risk (unless services.executor.embedded_risk),
 *   positions → executor, engine → md (venue feeds, or --data recordings with --rate)
 *
 * Each stage waits for the previous one's ready lines: an executor whose gateways are not answering
 * yet would time its first orders out, and an engine that subscribes after md started publishing
 * misses ticks (core NATS keeps nothing). A process that exits without being asked to is started
 * again after a backoff (200 ms doubling to 5 s, reset once it stayed up 10 s); md replaying --data
 * is done when it exits 0. stdout: one JSON line per supervisor event ("spawned", "exited",
 * "ready" of the whole deployment, "stopped") and every child stdout line wrapped as
 * {"service","pid","line"}; children's stderr (their JSON logs) passes through. SIGTERM/SIGINT stop
 * the services in reverse order, each drained by its own SIGTERM; exit 0 when all exited 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Config } from '../config/schema.js';
import { monotonicMs } from '../clock/monotonic.js';

export interface ServiceCommand {
  /** Unique name: the service, and the venue for a gateway (gateway-binance). */
  readonly name: string;
  /** Arguments after `kestrel`. */
  readonly args: readonly string[];
  /** Done when it exits 0 (md replaying recordings): not restarted then. */
  readonly oneShot?: boolean;
}

/** The services of `config`, in start stages: a stage starts once every process of the one before is ready. */
export function distributedPlan(
  config: Config,
  common: readonly string[],
  md: { data?: readonly string[]; rate?: number; symbols?: readonly string[] } = {},
): ServiceCommand[][] {
  const svc = config.services.executor;
  const first: ServiceCommand[] = svc.remote_gateways.map((v) => ({
    name: `gateway-${v}`,
    args: ['run', 'gateway', '--venue', v, ...common],
  }));
  if (!svc.embedded_risk) first.push({ name: 'risk', args: ['run', 'risk', ...common] });
  first.push({ name: 'positions', args: ['run', 'positions', ...common] });
  const mdArgs = ['run', 'md', ...common];
  for (const f of md.data ?? []) mdArgs.push('--data', f);
  if (md.symbols && md.symbols.length > 0) mdArgs.push('--symbols', md.symbols.join(','));
  if (md.rate !== undefined) mdArgs.push('--rate', String(md.rate));
  return [
    first,
    [
      { name: 'executor', args: ['run', 'executor', ...common] },
      { name: 'engine', args: ['run', 'engine', ...common] },
    ],
    [{ name: 'md', args: mdArgs, ...(md.data && md.data.length > 0 ? { oneShot: true } : {}) }],
  ];
}

const BACKOFF_MIN_MS = 200;
const BACKOFF_MAX_MS = 5000;
/** Up this long, a process's next crash starts the backoff over. */
const STABLE_MS = 10_000;

type Emit = (event: Record<string, unknown>) => void;

class Supervised {
  child: ChildProcess | undefined;
  incarnation = 0;
  private stopping = false;
  private backoffMs = BACKOFF_MIN_MS;
  private startedAt = 0;
  private readyWaiters: Array<() => void> = [];
  private isReady = false;
  private exitWaiters: Array<(code: number | null) => void> = [];
  done = false;
  lastCode: number | null = null;

  constructor(
    readonly cmd: ServiceCommand,
    private readonly launch: (args: readonly string[]) => ChildProcess,
    private readonly emit: Emit,
  ) {}

  start(): void {
    this.isReady = false;
    const child = this.launch(this.cmd.args);
    this.child = child;
    this.incarnation++;
    this.startedAt = monotonicMs();
    const pid = child.pid;
    this.emit({ event: 'spawned', service: this.cmd.name, pid, incarnation: this.incarnation });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      process.stdout.write(JSON.stringify({ service: this.cmd.name, pid, line }) + '\n');
      if (!this.isReady && line.includes('"event":"ready"')) {
        this.isReady = true;
        for (const w of this.readyWaiters.splice(0)) w();
      }
    });
    child.once('exit', (code, signal) => {
      this.lastCode = code;
      const oneShotDone = this.cmd.oneShot === true && code === 0;
      const restart = !this.stopping && !oneShotDone;
      if (oneShotDone) {
        this.done = true;
        for (const w of this.readyWaiters.splice(0)) w();
      }
      const upMs = monotonicMs() - this.startedAt;
      if (upMs >= STABLE_MS) this.backoffMs = BACKOFF_MIN_MS;
      const delayMs = restart ? this.backoffMs : 0;
      this.emit({ event: 'exited', service: this.cmd.name, pid, code, signal, restartInMs: restart ? delayMs : null });
      if (restart) {
        this.backoffMs = Math.min(BACKOFF_MAX_MS, this.backoffMs * 2);
        setTimeout(() => {
          if (!this.stopping) this.start();
        }, delayMs);
      } else for (const w of this.exitWaiters.splice(0)) w(code);
    });
  }

  /** Resolves once the current (or a later) incarnation printed its ready line, or a one-shot finished. */
  ready(): Promise<void> {
    if (this.isReady || this.done) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** SIGTERM, no restart; resolves with the exit code. */
  stop(): Promise<number | null> {
    this.stopping = true;
    const c = this.child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return Promise.resolve(this.lastCode);
    const exited = new Promise<number | null>((resolve) => this.exitWaiters.push(resolve));
    c.kill('SIGTERM');
    return exited;
  }
}

/** `kestrel` itself, the way this process was started: node with its loader flags, the same entry point. */
export function kestrelLauncher(entry: string): (args: readonly string[]) => ChildProcess {
  return (args) => spawn(process.execPath, [...process.execArgv, entry, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
}

export async function superviseDistributed(
  stages: ServiceCommand[][],
  opts: { launch: (args: readonly string[]) => ChildProcess; stopSignal: Promise<unknown> },
): Promise<number> {
  const emit: Emit = (e) => process.stdout.write(JSON.stringify(e) + '\n');
  const launch = opts.launch;
  const started: Supervised[] = [];
  let stopping = false;
  void opts.stopSignal.then(() => (stopping = true));
  for (const stage of stages) {
    if (stopping) break;
    const procs = stage.map((cmd) => new Supervised(cmd, launch, emit));
    for (const p of procs) {
      p.start();
      started.push(p);
    }
    await Promise.race([Promise.all(procs.map((p) => p.ready())), opts.stopSignal]);
  }
  if (!stopping) emit({ event: 'ready', service: 'distributed', services: started.map((p) => p.cmd.name) });
  await opts.stopSignal;
  let ok = true;
  for (const p of [...started].reverse()) {
    const code = await p.stop();
    if (code !== 0) ok = false;
  }
  emit({
    event: 'stopped',
    services: Object.fromEntries(started.map((p) => [p.cmd.name, { code: p.lastCode, incarnations: p.incarnation }])),
  });
  return ok ? 0 : 1;
}
