#!/usr/bin/env node
/**
 * kestrel: the one command-line entry point. `start` runs the default paper session on bundled real
 * data with embedded defaults; other subcommands run backtests, check config, or run one service.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Bus } from '../bus/bus.js';
import { InProcessBus } from '../bus/in-process-bus.js';
import { NatsBus } from '../bus/nats-bus.js';
import { natsSecurityFrom } from '../bus/nats-security.js';
import { maskUrlCredentials } from '../observability/redact.js';
import { systemClock } from '../clock/clock.js';
import { monotonicMs } from '../clock/monotonic.js';
import { ConfigError, loadConfig, projectRoot, type Config } from '../config/index.js';
import { formatConfigSetReply, parseAssignments, requestConfigSet } from '../config/live.js';
import { BusTimeoutError, NoRespondersError } from '../bus/bus.js';
import { toJson } from '@bufbuild/protobuf';
import { GroupOutcome, OrderGroupAckSchema } from '../contracts/index.js';
import { BasketError, basketFromJson, formatBasketAck, requestBasket } from '../execution/basket-service.js';
import { setLogLevel } from '../observability/logger.js';
import { errorText, formatStatus, openTerminal, verboseRequested } from '../observability/terminal.js';
import { LiveRefusedError } from '../session/modes.js';
import { SecretError } from '../config/secrets.js';
import { NativeError } from '../native/errors.js';
import { runTradingSession, type SessionSummary } from '../session/trading-session.js';
import { BacktestError, runBacktest, type BacktestData, type BacktestProgress, type BacktestReport } from '../replay/backtest.js';
import { parseTimeArg } from '../replay/data/clickhouse.js';
import { DataError } from '../replay/data/inputs.js';
import { formatHelp, parseFlags, setToOverride, UsageError, type FlagSpec, type FlagValues } from './args.js';
import { isUsageError, runAsEntryPoint, serviceMain } from './entry.js';
import {
  auditService,
  executorService,
  engineService,
  gatewayService,
  mdService,
  positionsService,
  recorderService,
  riskService,
  simulatorsService,
  type ServiceSpec,
} from './services.js';
import { JuliaStrategyError, NativeEngineError, juliaRuntimeInfo, loadAddon } from '../native/index.js';

const commonFlags: FlagSpec[] = [
  { name: 'config', kind: 'string', metavar: 'FILE', help: 'YAML overlay merged over config/default.yaml' },
  { name: 'set', kind: 'repeat', metavar: 'KEY=VALUE', help: 'override one key, e.g. --set strategy.kelly_fraction=0.1' },
  { name: 'help', kind: 'boolean', help: 'show help for this command' },
  { name: 'verbose', kind: 'boolean', help: 'stack traces on errors (or KESTREL_VERBOSE=1)' },
];

const sessionFlags: FlagSpec[] = [
  ...commonFlags,
  { name: 'max-ticks', kind: 'integer', metavar: 'N', help: 'stop after N ticks (0 = whole recording)' },
  { name: 'bus', kind: 'string', metavar: 'KIND', help: 'in-process (default) or nats' },
  { name: 'json', kind: 'boolean', help: 'print the summary as JSON' },
];

export interface Command {
  summary: string;
  flags: FlagSpec[];
  /** The words accepted as its first operand (`config set`, `run executor`), when it has any. */
  subcommands?: readonly string[];
  run(flags: FlagValues, positionals: string[]): Promise<number>;
}

/** Every `kestrel <command>`: help, dispatch, and the checks of deploy/ manifests (test/deploy) and docs/OPERATIONS.md (test/docs). */
export const commands: Record<string, Command> = {
  start: {
    summary:
      "run the default paper-trading session on bundled real data; --mode paper|live trades on the venues' endpoints (venues.<venue> in config)",
    flags: [
      ...sessionFlags,
      {
        name: 'mode',
        kind: 'string',
        metavar: 'MODE',
        help: 'paper (venue market data, fills from the local matching engine, nothing sent) or live (real orders)',
      },
      { name: 'venues', kind: 'string', metavar: 'LIST', help: 'venues to trade, e.g. binance,kraken,okx (session.venues)' },
      { name: 'symbols', kind: 'string', metavar: 'LIST', help: 'canonical symbols, e.g. BTC-USDT,BTC-USD (session.symbols)' },
      { name: 'i-understand-live', kind: 'boolean', help: 'consent to live mode sending real orders (or session.i_understand_live: true)' },
      {
        name: 'distributed',
        kind: 'boolean',
        help: 'every service as its own supervised process over NATS (kestrel run <service> --config FILE; needs --config)',
      },
      {
        name: 'data',
        kind: 'repeat',
        metavar: 'PATH',
        help: 'with --distributed: md replays these recordings (namespace replay) instead of the venues',
      },
      { name: 'rate', kind: 'string', metavar: 'N', help: 'with --distributed --data: md publishes at most N ticks per second' },
    ],
    run: (flags) => {
      if (flags.distributed === true) return runDistributed(flags);
      if (flags.data !== undefined || flags.rate !== undefined)
        throw new UsageError('--data and --rate go with --distributed (a session replays with kestrel backtest)');
      return runSession(flags, startPreset(flags));
    },
  },
  backtest: {
    summary:
      'deterministic backtest on the recorded timeline; writes a JSON and a self-contained HTML report and prints the decision digest',
    flags: [
      ...commonFlags,
      sessionFlags.find((f) => f.name === 'max-ticks')!,
      sessionFlags.find((f) => f.name === 'json')!,
      {
        name: 'sweep',
        kind: 'repeat',
        metavar: 'KEY=V1,V2,...',
        help: 'run the grid of these values in parallel workers; prints a ranked table, writes an HTML comparison',
      },
      { name: 'workers', kind: 'integer', metavar: 'N', help: 'sweep worker processes (default: one per core)' },
      {
        name: 'data',
        kind: 'repeat',
        metavar: 'PATH',
        help: 'recording, .kcap capture, directory or glob (repeatable); format read from content',
      },
      { name: 'from', kind: 'string', metavar: 'SOURCE', help: 'clickhouse: the ticks table over --start/--end' },
      { name: 'start', kind: 'string', metavar: 'TIME', help: 'with --from clickhouse: ISO 8601 or epoch s/ms/ns (inclusive)' },
      { name: 'end', kind: 'string', metavar: 'TIME', help: 'with --from clickhouse: ISO 8601 or epoch s/ms/ns (exclusive)' },
      {
        name: 'symbols',
        kind: 'repeat',
        metavar: 'LIST',
        help: 'keep only these symbols, e.g. BTC-USDT,BTC-USD (default: all in the data)',
      },
      {
        name: 'verbose',
        kind: 'boolean',
        help: 'also print engine details: which engine, and for julia the sysimage or the source folder it ran',
      },
      {
        name: 'wal',
        kind: 'string',
        metavar: 'off|tmp',
        help: "executor WAL: off (default: written to a temp dir without fsync, deleted) or tmp (fsync'd like live, kept)",
      },
      {
        name: 'bus',
        kind: 'string',
        metavar: 'in-process|nats',
        help: 'bus of the kernel: in-process (default) or NATS at bus.nats_url (same digest)',
      },
    ],
    run: (flags) => {
      if (Array.isArray(flags.sweep)) {
        // Sweep workers replay the bundled recording; refusing beats sweeping other data than asked for.
        if (
          flags.data !== undefined ||
          flags.from !== undefined ||
          flags.symbols !== undefined ||
          flags.bus !== undefined ||
          flags.wal !== undefined
        ) {
          throw new UsageError(
            '--sweep runs on the bundled recording; --data, --from, --symbols, --bus and --wal are not supported with it yet',
          );
        }
        return runSweepCommand(flags, flags.sweep);
      }
      if (flags.workers !== undefined) throw new UsageError('--workers applies to --sweep only');
      return runBacktestCommand(flags);
    },
  },
  record: {
    summary:
      'record public market data from the venue endpoints through the quality gates into .kcap files (hourly) and/or ClickHouse ticks',
    flags: [
      ...commonFlags,
      { name: 'venues', kind: 'string', metavar: 'LIST', help: 'venues to record, e.g. binance,kraken,okx (default session.venues)' },
      { name: 'symbols', kind: 'string', metavar: 'LIST', help: 'canonical symbols, e.g. BTC-USDT,BTC-USD (default session.symbols)' },
      { name: 'out', kind: 'string', metavar: 'DIR', help: 'capture directory (default storage.capture_dir unless --clickhouse alone)' },
      {
        name: 'clickhouse',
        kind: 'string',
        metavar: 'URL',
        help: 'also (or only) write the ClickHouse ticks table, e.g. http://127.0.0.1:8123',
      },
      {
        name: 'rotate-ms',
        kind: 'integer',
        metavar: 'N',
        help: 'start a new .kcap file every N ms of clock time (default 3600000: hourly)',
      },
      { name: 'json', kind: 'boolean', help: 'print the summary as JSON; no status line' },
    ],
    run: (flags) => runRecord(flags),
  },
  run: {
    summary:
      'run one service as its own process over NATS: run executor|risk|gateway|positions|audit|recorder|md|engine [--config FILE.yaml], run simulators [options]',
    flags: [],
    subcommands: ['executor', 'risk', 'simulators', 'gateway', 'positions', 'audit', 'recorder', 'md', 'engine'],
    run: async () => 0,
  },
  config: {
    summary:
      'validate the configuration and print the effective result (config check|print); change a running session (config set KEY=VALUE ...)',
    flags: commonFlags,
    subcommands: ['check', 'print', 'set'],
    run: async (flags, positionals) => {
      const sub = positionals[0] ?? 'check';
      if (sub === 'set') return runConfigSet(flags, positionals.slice(1));
      if (sub !== 'check' && sub !== 'print') throw new UsageError(`unknown config subcommand '${sub}' (use check, print or set)`);
      const config = configFrom(flags, {});
      // URLs may carry user:password (refdata, storage, NATS): printed masked, like in logs.
      if (sub === 'print') process.stdout.write(`${maskUrlCredentials(JSON.stringify(config, null, 2))}\n`);
      else process.stdout.write(`config ok (version ${config.version})\n`);
      return 0;
    },
  },
  basket: {
    summary: 'submit a basket (SOR OrderGroup: ATOMIC, BEST_EFFORT or PERCENTAGE) to the running session: basket submit FILE.json',
    flags: [
      ...commonFlags,
      { name: 'json', kind: 'boolean', help: 'print the OrderGroupAck as JSON' },
      { name: 'timeout-ms', kind: 'integer', metavar: 'MS', help: 'wait this long for the ack (default 30000)' },
    ],
    subcommands: ['submit'],
    run: (flags, positionals) => runBasket(flags, positionals),
  },
  wal: {
    summary: 'inspect or salvage an executor WAL: wal check|salvage --wal-dir DIR [--backup DIR] [--json]',
    flags: [
      { name: 'wal-dir', kind: 'string', metavar: 'DIR', help: 'the executor WAL directory (executor.walDir)' },
      { name: 'backup', kind: 'string', metavar: 'DIR', help: 'salvage: where the original is copied first (default DIR.corrupt-<time>)' },
      { name: 'json', kind: 'boolean', help: 'print the result as JSON' },
      { name: 'help', kind: 'boolean', help: 'show help for this command' },
    ],
    subcommands: ['check', 'salvage'],
    run: (flags, positionals) => runWal(flags, positionals),
  },
  audit: {
    summary: 'check or read the audit trail: audit verify [FILE | --stream], audit show --order CLIENT_ID [FILE | --stream]',
    flags: [
      ...commonFlags,
      { name: 'stream', kind: 'boolean', help: 'read the JetStream audit stream (bus.nats_url) instead of a file' },
      {
        name: 'stream-name',
        kind: 'string',
        metavar: 'NAME',
        help: 'stream to read (default: audit, or replay_audit in the replay namespace)',
      },
      { name: 'order', kind: 'string', metavar: 'CLIENT_ID', help: 'show: the order whose history to print' },
      { name: 'json', kind: 'boolean', help: 'print the result as JSON' },
    ],
    subcommands: ['verify', 'show'],
    run: (flags, positionals) => runAudit(flags, positionals),
  },
  version: {
    summary: 'print the version',
    flags: [],
    run: async () => {
      const pkg = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string };
      process.stdout.write(`kestrel ${pkg.version}\n`);
      return 0;
    },
  },
};

function configFrom(flags: FlagValues, preset: Record<string, unknown>): Config {
  const sets = (flags.set as string[] | undefined) ?? [];
  const overrides: Record<string, unknown> = { ...preset };
  const fromSet = setToOverride(sets, (raw) => parseYaml(raw) as unknown);
  const merged = mergeShallowDeep(overrides, fromSet);
  if (typeof flags['max-ticks'] === 'number') merged.session = { ...(merged.session as object), max_ticks: flags['max-ticks'] };
  if (typeof flags.bus === 'string') merged.bus = { ...(merged.bus as object), kind: flags.bus };
  return loadConfig({ ...(typeof flags.config === 'string' ? { file: flags.config } : {}), overrides: merged });
}

function mergeShallowDeep(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      prev && typeof prev === 'object' && v && typeof v === 'object'
        ? mergeShallowDeep(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

async function makeBus(config: Config): Promise<Bus> {
  if (config.bus.kind === 'nats')
    return NatsBus.connect({ servers: config.bus.nats_url, name: 'kestrel-session', security: natsSecurityFrom(config.bus) });
  return new InProcessBus();
}

/** `config set KEY=VALUE ...`: over the bus (bus.nats_url) to the running session; one line back. */
async function runConfigSet(flags: FlagValues, operands: string[]): Promise<number> {
  const config = configFrom(flags, { bus: { kind: 'nats' } });
  const set = parseAssignments(operands, (raw) => parseYaml(raw) as unknown);
  const bus = await makeBus(config);
  try {
    const reply = await requestConfigSet(bus, config.bus.namespace, set, process.env.USER ?? 'cli');
    (reply.ok ? process.stdout : process.stderr).write(`${reply.ok ? '' : 'kestrel: '}${formatConfigSetReply(reply)}\n`);
    return reply.ok ? 0 : 1;
  } catch (err) {
    if (err instanceof NoRespondersError || err instanceof BusTimeoutError)
      throw new UsageError(`config set: no running session answers on ${config.bus.nats_url}`);
    throw err;
  } finally {
    await bus.close();
  }
}

/** `basket submit FILE.json`: the file → OrderGroup on ord.group (bus.nats_url) → the ack, printed. */
async function runBasket(flags: FlagValues, positionals: string[]): Promise<number> {
  const [sub, file] = positionals;
  if (sub !== 'submit' || file === undefined) throw new UsageError('usage: kestrel basket submit FILE.json');
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`basket file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let group;
  try {
    group = basketFromJson(doc, systemClock, process.env.USER ?? 'cli');
  } catch (err) {
    if (err instanceof BasketError) throw new UsageError(`${file}: ${err.message}`);
    throw err;
  }
  const config = configFrom(flags, { bus: { kind: 'nats' } });
  const bus = await makeBus(config);
  try {
    const ack = await requestBasket(
      bus,
      config.bus.namespace,
      group,
      typeof flags['timeout-ms'] === 'number' ? flags['timeout-ms'] : 30_000,
    );
    process.stdout.write(flags.json ? `${JSON.stringify(toJson(OrderGroupAckSchema, ack))}\n` : formatBasketAck(ack));
    return ack.accepted && ack.outcome !== GroupOutcome.UNWOUND ? 0 : 1;
  } catch (err) {
    if (err instanceof NoRespondersError || err instanceof BusTimeoutError)
      throw new UsageError(`basket submit: no running session answered on ${config.bus.nats_url} (${err.message})`);
    throw err;
  } finally {
    await bus.close();
  }
}

/** `start --mode paper|live`: venue market data (session.market_data: venues), plus the --venues/--symbols lists. */
function startPreset(flags: FlagValues): Record<string, unknown> {
  const session: Record<string, unknown> = {};
  const list = (v: unknown) =>
    String(v)
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x.length > 0);
  if (flags.mode !== undefined) {
    if (flags.mode !== 'paper' && flags.mode !== 'live')
      throw new UsageError(`--mode must be paper or live, got '${String(flags.mode)}' (backtests: kestrel backtest)`);
    session.mode = flags.mode;
    session.market_data = 'venues';
    // A venue feed runs in real time: the engine's time constants are not compressed (see session.pace).
    session.pace = 'original';
  }
  if (flags.venues !== undefined) session.venues = list(flags.venues);
  if (flags.symbols !== undefined) session.symbols = list(flags.symbols);
  if (flags['i-understand-live']) session.i_understand_live = true;
  return Object.keys(session).length > 0 ? { session } : {};
}

async function runSession(flags: FlagValues, preset: Record<string, unknown>): Promise<number> {
  const config = configFrom(flags, preset);
  setLogLevel(config.logging.level);
  const bus = await makeBus(config);
  let summary: SessionSummary;
  // SIGINT/SIGTERM end a session on a venue feed (it has no end of its own) with its summary.
  const stop = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const term = openTerminal({ json: flags.json === true });
  let lastTicks = 0;
  try {
    summary = await runTradingSession(config, bus, {
      ...(typeof flags.config === 'string' ? { configFile: flags.config, loadConfig: () => configFrom(flags, preset) } : {}),
      stop,
      onReady: ({ adminUrl }) => {
        if (adminUrl && !flags.json) process.stderr.write(`kestrel: operator console ${adminUrl}/ (health, metrics, controls)\n`);
      },
      ...(term.interactive
        ? {
            onStatus: (st) => {
              term.status(formatStatus(st, st.ticks - lastTicks));
              lastTicks = st.ticks;
            },
          }
        : {}),
    });
  } finally {
    term.close();
    await bus.close();
  }
  if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else process.stdout.write(formatSummary(config, summary));
  // A drain that timed out left orders open: not a clean exit, so a supervisor notices.
  return summary.drain && !summary.drain.drained ? 1 : 0;
}

function formatSummary(config: Config, s: SessionSummary): string {
  const f = (x: number, d = 2) => x.toFixed(d);
  const streams = Object.entries(s.ticks.perStream)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const rejects = Object.entries(s.orders.rejectReasons)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const acc = s.accuracy;
  return [
    `kestrel ${s.mode} session (venues ${config.session.venues.join(',')}, engine ${s.engine}, config ${config.version})`,
    `  ticks          ${s.ticks.received} received, ${s.ticks.accepted} accepted, ${s.ticks.dropped} dropped (${streams})`,
    `  engine         ${s.engineStats.ticks} ticks, ${s.engineStats.signals} signals, ${s.engineStats.missed} missed`,
    `  orders         ${s.orders.sent} sent, ${s.orders.filled} filled, ${s.orders.rejected} rejected${rejects ? ` (${rejects})` : ''}`,
    ...s.positions.map(
      (p) =>
        `  position       ${p.venue} ${p.symbol} ${f(p.quantity, 5)} @ ${f(p.avgPrice)} (realized ${f(p.realizedPnl)}, unrealized ${f(p.unrealizedPnl)}, fees ${f(p.fees)})`,
    ),
    `  PnL (${s.reportingCurrency})      realized ${f(s.realizedPnl)}, unrealized ${f(s.unrealizedPnl)}, fees ${f(s.fees)}, net ${f(s.netPnl)}${s.unpricedQuotes.length > 0 ? ` (no rate for ${s.unpricedQuotes.join(', ')}: left out)` : ''}`,
    `  accuracy       ${acc.scored} scored signals, hit rate ${acc.hitRate?.toFixed(3) ?? 'n/a'}, ROC AUC ${acc.rocAuc?.toFixed(3) ?? 'n/a'}, slippage ${acc.avgSlippageBps?.toFixed(2) ?? 'n/a'} bps`,
    ...(s.drain ? [`  drained        ${s.drain.drained ? 'every order terminal' : `timed out, open: ${s.drain.open.join(', ')}`}`] : []),
    `  ticks stored   ${s.tickStore}`,
    `  digest         ${s.digest}`,
    `  signal digest  ${s.signalDigest}`,
    `  wall time      ${f(s.wallMs / 1000)} s`,
    '',
  ].join('\n');
}

async function runRecord(flags: FlagValues): Promise<number> {
  const preset = startPreset({
    ...(flags.venues !== undefined ? { venues: flags.venues } : {}),
    ...(flags.symbols !== undefined ? { symbols: flags.symbols } : {}),
  });
  const config = configFrom(flags, preset);
  setLogLevel(config.logging.level);
  const rec = await import('../record/recorder.js');
  const clickhouseUrl = typeof flags.clickhouse === 'string' ? flags.clickhouse : undefined;
  const outDir =
    typeof flags.out === 'string'
      ? path.resolve(flags.out)
      : clickhouseUrl === undefined
        ? path.resolve(config.storage.capture_dir)
        : undefined;
  if (flags['rotate-ms'] === 0) throw new UsageError('--rotate-ms must be positive');
  const stop = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const term = openTerminal({ json: flags.json === true });
  let lastPlain = 0;
  let summary: import('../record/recorder.js').RecordSummary;
  try {
    summary = await rec.runRecorder({
      config,
      clock: systemClock,
      venues: config.session.venues,
      symbols: config.session.symbols,
      outDir,
      clickhouseUrl,
      rotateMs: typeof flags['rotate-ms'] === 'number' ? flags['rotate-ms'] : 3_600_000,
      stop,
      onReady: ({ adminUrl }) =>
        process.stderr.write(
          `kestrel: recording ${config.session.venues.join(',')} ${config.session.symbols.join(',')} to ${[outDir, clickhouseUrl].filter(Boolean).join(' and ')}${adminUrl ? `; health and metrics ${adminUrl}` : ''}\n`,
        ),
      onStatus: (st) => {
        if (term.interactive) term.status(rec.formatRecordStatus(st));
        else if (!flags.json && ++lastPlain % 10 === 0) process.stderr.write(`${rec.formatRecordStatus(st)}\n`);
      },
    });
  } finally {
    term.close();
  }
  if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    const dropped = Object.entries(summary.dropped)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    process.stdout.write(
      [
        `kestrel record: ${summary.ticks} ticks recorded${dropped ? ` (dropped by the quality gates: ${dropped})` : ''}`,
        ...summary.files.map((f) => `  file           ${f}`),
        ...(summary.clickhouse ? [`  clickhouse     ${summary.clickhouse} ${config.storage.clickhouse_database}.ticks`] : []),
        ...summary.streams.map(
          (x) => `  stream         ${x.venue}: ${x.messages} messages, ${x.gaps} gaps, ${x.resyncs} resyncs, ${x.reconnects} reconnects`,
        ),
        `  replay with    kestrel backtest ${summary.files.map((f) => `--data ${f}`).join(' ')}`,
        '',
      ].join('\n'),
    );
  }
  return 0;
}

async function runBacktestCommand(flags: FlagValues): Promise<number> {
  const config = configFrom(flags, { session: { mode: 'backtest' }, bus: { namespace: 'replay' } });
  setLogLevel(config.logging.level);
  const data: BacktestData = {};
  const paths = (flags.data as string[] | undefined) ?? [];
  const symbols = ((flags.symbols as string[] | undefined) ?? [])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (symbols.length > 0) data.symbols = symbols;
  if (flags.from !== undefined) {
    if (flags.from !== 'clickhouse') throw new UsageError(`--from supports clickhouse, got '${String(flags.from)}'`);
    if (paths.length > 0) throw new UsageError('--from clickhouse and --data are exclusive');
    const start = typeof flags.start === 'string' ? parseTimeArg(flags.start) : undefined;
    const end = typeof flags.end === 'string' ? parseTimeArg(flags.end) : undefined;
    if (start === undefined || end === undefined)
      throw new UsageError('--from clickhouse needs --start TIME and --end TIME (ISO 8601 or epoch s/ms/ns)');
    data.clickhouse = { startNs: start, endNs: end };
  } else if (flags.start !== undefined || flags.end !== undefined) throw new UsageError('--start/--end go with --from clickhouse');
  if (paths.length > 0) data.paths = paths;
  if (process.stderr.isTTY && !flags.json) data.onProgress = progressLine();
  const wal = flags.wal ?? 'off';
  if (wal !== 'off' && wal !== 'tmp') throw new UsageError(`--wal takes off or tmp, got '${String(wal)}'`);
  const bus = flags.bus ?? 'in-process';
  if (bus !== 'in-process' && bus !== 'nats') throw new UsageError(`--bus takes in-process or nats, got '${String(bus)}'`);
  const r = await runBacktest(config, data, { wal, bus });
  for (const b of r.boundaries)
    if (!b.continuous)
      process.stderr.write(`kestrel: warning: ${b.from} -> ${b.to}: book not continuous across the boundary: ${b.detail}\n`);
  process.stdout.write(flags.json ? `${JSON.stringify(r)}\n` : formatBacktest(r));
  if (flags.verbose)
    process.stdout.write(
      `${engineDetails(r.engine)
        .map((l) => `  ${l}`)
        .join('\n')}\n`,
    );
  return 0;
}

/** `--verbose`: where the engine that ran came from (the julia runtime reports what it loaded). */
export function engineDetails(engine: string): string[] {
  const addon = process.env['KESTREL_ADDON_PATH'] ?? 'the kestrel addon (build/Release or prebuilds/)';
  if (engine !== 'julia') return [`engine         native (C++ reference strategy in ${addon})`];
  loadAddon();
  const j = juliaRuntimeInfo();
  if (!j) return ['engine         julia (runtime not loaded)'];
  return [
    j.mode === 'source'
      ? `engine         julia ${j.version}, source mode: KestrelStrategy from ${j.source} (base image ${j.image})`
      : `engine         julia ${j.version}, sysimage ${j.image}`,
    `libjulia       ${j.libjulia}`,
    ...(j.traceCompile ? [`trace-compile  ${j.traceCompile}`] : []),
  ];
}

/** One self-overwriting stderr line on a terminal: ticks, ticks/s and, when the input size is known, the ETA. */
function progressLine(): (p: BacktestProgress) => void {
  return (p) => {
    const rate = p.elapsedMs > 0 ? (p.ticks * 1000) / p.elapsedMs : 0;
    const pct = p.fraction !== undefined ? ` ${(p.fraction * 100).toFixed(0).padStart(3)}%` : '';
    const eta =
      p.fraction !== undefined && p.fraction > 0 && !p.done ? ` ETA ${clockText((p.elapsedMs * (1 - p.fraction)) / p.fraction)}` : '';
    const line = `  ${p.ticks.toLocaleString('en-US')} ticks, ${Math.round(rate).toLocaleString('en-US')} ticks/s${pct}${eta}, ${clockText(p.elapsedMs)} elapsed`;
    process.stderr.write(`\r${line.padEnd(78)}${p.done ? '\n' : ''}`);
  };
}

function clockText(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function formatBacktest(r: BacktestReport): string {
  const f = (x: number, d = 2) => x.toFixed(d);
  const rejects = Object.entries(r.rejects)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const what = r.streams.map((s) => `${s.venue} ${s.symbol}`).join(', ');
  const files = r.inputs.length === 1 ? '1 input' : `${r.inputs.length} inputs`;
  return [
    `kestrel backtest (${what}; ${files}, engine ${r.engine}, fills ${r.fillModel})`,
    `  ticks          ${r.ticks}`,
    ...(r.streams.length > 1
      ? r.streams.map(
          (s) =>
            `  stream         ${s.venue} ${s.symbol}: ${s.ticks} ticks, ${s.signals} signals, ${s.fills} fills, position ${f(s.position, 5)}, net ${f(s.realizedPnl + s.unrealizedPnl - s.fees)}`,
        )
      : []),
    ...r.boundaries.map(
      (b) => `  boundary       ${path.basename(b.from)} -> ${path.basename(b.to)}: ${b.continuous ? 'continuous' : 'BROKEN'} (${b.detail})`,
    ),
    `  signals        ${r.signals}`,
    `  orders         ${r.orders} sent, ${r.fills} filled${rejects ? `, refused: ${rejects}` : ''}`,
    `  position       ${f(r.position, 5)} @ ${f(r.avgPrice)}`,
    `  PnL            realized ${f(r.realizedPnl)}, unrealized ${f(r.unrealizedPnl)}, fees ${f(r.fees)}, net ${f(r.netPnl)}`,
    `  accuracy       ${r.accuracy.scored} scored, hit rate ${r.accuracy.hitRate?.toFixed(3) ?? 'n/a'}, ROC AUC ${r.accuracy.rocAuc?.toFixed(3) ?? 'n/a'}`,
    `  capture        ${r.capture}`,
    `  report         ${r.report}`,
    `  html           ${r.html}`,
    `  kernel         bus ${r.bus}, WAL ${r.walDir || 'off'}, ${r.riskChecks} risk.check round trips`,
    `  digest         ${r.digest}`,
    `  signal digest  ${r.signalDigest}${r.timeScale !== 1 ? ` (time scale ${r.timeScale}: engine time constants / ${r.timeScale})` : ''}`,
    `  wall time      ${f(r.wallMs / 1000)} s (${Math.round(r.ticks / Math.max(1e-3, r.wallMs / 1000)).toLocaleString('en-US')} ticks/s, peak RSS ${r.peakRssMb} MiB)`,
    '',
  ].join('\n');
}

async function runSweepCommand(flags: FlagValues, specs: string[]): Promise<number> {
  const sweep = await import('../replay/report/sweep.js');
  let axes;
  try {
    axes = sweep.parseSweep(specs);
  } catch (err) {
    throw err instanceof sweep.SweepError ? new UsageError(err.message) : err;
  }
  const preset = { session: { mode: 'backtest' }, bus: { namespace: 'replay' } };
  const base = configFrom(flags, preset);
  setLogLevel(base.logging.level);
  const sets = (flags.set as string[] | undefined) ?? [];
  // A sweep key set with --set too would be silently overridden by the grid: refused instead.
  for (const a of axes) if (sets.some((x) => x.startsWith(`${a.key}=`))) throw new UsageError(`${a.key} is both --set and --sweep`);
  const configFor = (point: [string, string][]) => configFrom({ ...flags, set: [...sets, ...point.map(([k, v]) => `${k}=${v}`)] }, preset);
  const workers = typeof flags.workers === 'number' && flags.workers > 0 ? flags.workers : undefined;
  const started = monotonicMs();
  const runs = await sweep.runSweep(sweep.sweepGrid(axes), configFor, workers);
  const ranked = sweep.rankRuns(runs);
  const dir = path.resolve('var', 'backtests');
  mkdirSync(dir, { recursive: true });
  const html = path.join(dir, `sweep-${systemClock.nowNs() / 1_000_000n}-${process.pid}.html`);
  sweep.writeSweepHtml(html, axes, ranked);
  const failed = runs.filter((r) => !r.report).length;
  const wallMs = monotonicMs() - started;
  if (flags.json) {
    const out = ranked.map((r) => ({
      params: Object.fromEntries(r.point),
      pid: r.pid,
      maxDrawdown: r.maxDrawdown,
      ...(r.report ? { report: r.report } : { error: r.error }),
    }));
    process.stdout.write(`${JSON.stringify({ runs: out, html, workers: new Set(runs.map((r) => r.pid)).size, wallMs })}\n`);
  } else {
    const pids = new Set(runs.map((r) => r.pid)).size;
    process.stdout.write(
      `kestrel backtest sweep: ${runs.length} runs on ${pids} worker process(es), ${(wallMs / 1000).toFixed(2)} s\n\n${sweep.formatSweepTable(axes, ranked)}\n\n  html           ${html}\n`,
    );
  }
  if (failed > 0) process.stderr.write(`kestrel: ${failed} of ${runs.length} sweep runs failed (see the table)\n`);
  return failed > 0 ? 1 : 0;
}

/** `kestrel wal check` exits 1 when the executor would refuse the WAL; `salvage` repairs it after a backup. */
async function runWal(flags: FlagValues, positionals: string[]): Promise<number> {
  const sub = positionals[0] ?? 'check';
  if (sub !== 'check' && sub !== 'salvage') throw new UsageError(`unknown wal subcommand '${sub}' (use check or salvage)`);
  if (typeof flags['wal-dir'] !== 'string') throw new UsageError('wal needs --wal-dir DIR');
  const tools = await import('../execution/wal/tools.js');
  const dir = flags['wal-dir'];
  if (sub === 'check') {
    const c = tools.checkWal(dir);
    process.stdout.write(flags.json ? `${JSON.stringify(c)}\n` : tools.formatCheck(c));
    return c.ok ? 0 : 1;
  }
  const r = tools.salvageWal(dir, { clock: systemClock, ...(typeof flags.backup === 'string' ? { backupDir: flags.backup } : {}) });
  if (flags.json) process.stdout.write(`${JSON.stringify(r)}\n`);
  else if (!r.backupDir) process.stdout.write(`${tools.formatCheck(r.check)}nothing to salvage\n`);
  else {
    process.stdout.write(
      `${tools.formatCheck(r.check)}original copied to ${r.backupDir}\nrewrote ${r.rewritten.join(', ')}: ${r.droppedBytes} damaged byte(s) dropped, every valid record kept\n` +
        'records in the damaged ranges are lost: after the restart, reconcile positions against the venue balances\n',
    );
  }
  return 0;
}

/**
 * `kestrel audit verify` exits 1 at the first broken link (a torn last line from a crash is reported,
 * not an error); `audit show --order ID` prints that order's events in chain order.
 */
async function runAudit(flags: FlagValues, positionals: string[]): Promise<number> {
  const sub = positionals[0];
  if (sub !== 'verify' && sub !== 'show') throw new UsageError(`audit needs a subcommand: verify or show (got '${sub ?? ''}')`);
  if (sub === 'show' && typeof flags.order !== 'string') throw new UsageError('audit show needs --order CLIENT_ID');
  if (flags.stream && positionals[1] !== undefined) throw new UsageError('give either a FILE or --stream, not both');
  const a = await import('../audit/verify.js');
  const config = configFrom(flags, {});
  let source: string;
  let events: import('../contracts/index.js').AuditEvent[];
  let result: import('../audit/verify.js').VerifyResult;
  if (flags.stream) {
    const { JetStreamAuditSink, auditStreamName } = await import('../audit/sinks.js');
    const { GENESIS_HASH } = await import('../audit/chain.js');
    const bus = await NatsBus.connect({ servers: config.bus.nats_url, name: 'kestrel-audit', security: natsSecurityFrom(config.bus) });
    try {
      const stream = typeof flags['stream-name'] === 'string' ? flags['stream-name'] : auditStreamName(config.bus.namespace);
      source = `stream ${stream}`;
      events = await (await JetStreamAuditSink.attach(bus.connection, stream)).readAll();
      // Retention may have aged out the oldest events: the chain is then checked from the first kept one.
      result = a.verifyEvents(events, events[0]?.prevHash ?? GENESIS_HASH);
    } finally {
      await bus.close();
    }
  } else {
    const file = positionals[1] ?? path.resolve(config.audit.file);
    if (!existsSync(file)) throw new UsageError(`no audit file at ${file}`);
    source = file;
    const { readAuditFile } = await import('../audit/sinks.js');
    events = readAuditFile(file).events;
    result = a.verifyAuditFile(file);
  }
  if (sub === 'verify') {
    process.stdout.write(
      flags.json
        ? `${JSON.stringify(result)}
`
        : a.formatVerify(source, result),
    );
    return result.ok ? 0 : 1;
  }
  const history = a.orderHistory(events, flags.order as string);
  if (flags.json)
    process.stdout
      .write(`${JSON.stringify(history.map((e) => ({ type: e.eventType, tsNs: String(e.tsNs), traceId: e.traceId, metadata: e.metadata })))}
`);
  else
    process.stdout.write(
      history.length > 0
        ? a.formatHistory(history)
        : `no audit event for order ${String(flags.order)} in ${source}
`,
    );
  if (!result.ok) process.stderr.write(a.formatVerify(source, result));
  return history.length > 0 ? (result.ok ? 0 : 1) : 1;
}

/**
 * `kestrel run <service>`: the services that run as separate processes over NATS when a deployment
 * outgrows one process (exported: test/deploy checks deploy/ against it). Each carries its options
 * (src/cli/services.ts), so `kestrel run <service> --help` prints them without loading the service.
 */
export const services: Record<string, { spec: ServiceSpec; run(flags: FlagValues): Promise<number> }> = {
  executor: { spec: executorService, run: async (flags) => (await import('../execution/main.js')).run(flags) },
  risk: { spec: riskService, run: async (flags) => (await import('../risk/main.js')).run(flags) },
  simulators: { spec: simulatorsService, run: async (flags) => (await import('../simulators/main.js')).run(flags) },
  md: { spec: mdService, run: async (flags) => (await import('../ingestion/main.js')).run(flags) },
  engine: { spec: engineService, run: async (flags) => (await import('../engine/main.js')).run(flags) },
  gateway: { spec: gatewayService, run: async (flags) => (await import('../venues/gateway-main.js')).run(flags) },
  positions: { spec: positionsService, run: async (flags) => (await import('../positions/main.js')).run(flags) },
  audit: { spec: auditService, run: async (flags) => (await import('../audit/main.js')).run(flags) },
  recorder: { spec: recorderService, run: async (flags) => (await import('../record/main.js')).run(flags) },
};

/** `kestrel start --distributed`: the services of the config as supervised processes (src/cli/supervisor.ts). */
async function runDistributed(flags: FlagValues): Promise<number> {
  if (typeof flags.config !== 'string') throw new UsageError('start --distributed needs --config FILE: every service process reads it');
  const { serviceConfig, listFlag } = await import('./service-config.js');
  const { distributedPlan, kestrelLauncher, superviseDistributed } = await import('./supervisor.js');
  const sets = (flags.set as string[] | undefined) ?? [];
  const config = serviceConfig(flags);
  const common = ['--config', flags.config, ...sets.flatMap((x) => ['--set', x])];
  const data = Array.isArray(flags.data) ? flags.data : [];
  if (flags.rate !== undefined && data.length === 0) throw new UsageError('--rate paces a --data replay');
  // md publishes a replay in namespace replay: every other service must listen there too.
  if (data.length > 0 && config.bus.namespace !== 'replay') common.push('--set', 'bus.namespace=replay');
  const symbols = listFlag(flags.symbols);
  const stages = distributedPlan(config, common, {
    data,
    ...(flags.rate !== undefined ? { rate: Number(flags.rate) } : {}),
    ...(symbols ? { symbols } : {}),
  });
  const stopSignal = new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  return superviseDistributed(stages, { stopSignal, launch: kestrelLauncher(process.argv[1]!) });
}

async function runService(argv: readonly string[]): Promise<number> {
  const [service, ...rest] = argv;
  if (service === '--help') {
    const names = Object.keys(services);
    process.stdout.write(
      [
        'usage: kestrel run <service> [options]',
        '',
        'services:',
        ...names.map((n) => `  ${n.padEnd(12)}${services[n]!.spec.summary}`),
        '',
        'Run `kestrel run <service> --help` for the options of a service.',
        '',
      ].join('\n'),
    );
    return 0;
  }
  const svc = service !== undefined && Object.hasOwn(services, service) ? services[service] : undefined;
  if (!svc) throw new UsageError(`run needs a service: ${Object.keys(services).join(', ')} (got '${service ?? ''}')`);
  return serviceMain(svc.spec, rest, svc.run);
}

function usage(): string {
  const names = Object.keys(commands);
  return [
    'usage: kestrel <command> [options]',
    '',
    'commands:',
    ...names.map((n) => `  ${n.padEnd(12)}${commands[n]!.summary}`),
    '',
    'Run `kestrel <command> --help` for the options of a command.',
    '',
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  if (name === '--version') return commands.version!.run({}, []);
  const cmd = commands[name];
  if (!cmd) throw new UsageError(`unknown command '${name}' (run kestrel --help)`);
  if (name === 'run') return runService(rest);
  const { flags, positionals } = parseFlags(rest, cmd.flags);
  if (flags.help) {
    process.stdout.write(formatHelp(`kestrel ${name} [options]`, cmd.summary, cmd.flags));
    return 0;
  }
  return cmd.run(flags, positionals);
}

/** The CLI's failures: input errors one line and exit 2, the environment and data one line and exit 1, bugs with a hint. */
function reportError(err: unknown, argv: readonly string[]): number {
  const verbose = verboseRequested(argv);
  if (isUsageError(err) || err instanceof ConfigError || err instanceof LiveRefusedError || err instanceof SecretError) {
    // The user's input, not the program: one line, exit 2.
    process.stderr.write(errorText(err, verbose));
    return 2;
  }
  if (err instanceof NativeError && /^(JULIA|SYSIMAGE)_/.test(err.code)) {
    // Missing or broken Julia install: the environment, one line.
    process.stderr.write(errorText(err, verbose));
    return 1;
  }
  if (err instanceof DataError || err instanceof BacktestError) {
    // The data, not the program: one line naming the file and the problem.
    process.stderr.write(`kestrel: ${err.message.replace(/\s*\n\s*/g, ' ')}\n`);
    return 1;
  }
  if (err instanceof NativeEngineError) {
    // The engine could not start (JULIA_SOURCE_NOT_FOUND, SYSIMAGE_NOT_FOUND, ...) or its strategy
    // failed: one line; a Julia strategy failure adds Julia's stack trace below it.
    process.stderr.write(`kestrel: ${err.message.replace(/\s*\n\s*/g, ' ')}\n`);
    if (err instanceof JuliaStrategyError && err.juliaStacktrace) process.stderr.write(`Julia stack trace:\n${err.juliaStacktrace}\n`);
    return 1;
  }
  process.stderr.write(
    verbose ? errorText(err, true) : `kestrel: ${errorText(err, false).slice(9, -1)} (--verbose or KESTREL_VERBOSE=1 for the stack)\n`,
  );
  return 1;
}

// 'drain': the exit code is set and the event loop ends by itself, so piped reports are never cut.
runAsEntryPoint(import.meta.url, 'kestrel', main, { onError: reportError, finish: 'drain' });
