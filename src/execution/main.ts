/**
 * The executor as its own process (`kestrel run executor --config executor.json`, and the chaos
 * test's child): NATS bus, one order gateway + private client per venue, market snapshots from
 * md.norm.>, signals from sig.>, optional static risk gateway, control plane, positions service.
 *
 * stdout protocol (machine-readable, one JSON per line): {"event":"ready","recovery":{...}} once
 * accepting signals; in report mode {"event":"report",...} then exit 0.
 */
import fs from 'node:fs';
import path from 'node:path';
import { create, fromJson, toBinary, toJson, type JsonValue } from '@bufbuild/protobuf';
import {
  ControlCommandSchema,
  RiskBreachSchema,
  VenueSpecSchema,
  isVenue,
  rejectName,
  subjects,
  type Namespace,
  type VenueName,
  type VenueSpec,
} from '../contracts/index.js';
import { NatsBus } from '../bus/nats-bus.js';
import { natsSecurityFrom } from '../bus/nats-security.js';
import type { Bus } from '../bus/bus.js';
import {
  ConsumerMonitor,
  DEFAULT_STREAMS,
  ensureStreams,
  msgIds,
  publishEvent,
  type DurableStreams,
  type StreamsConfig,
} from '../bus/streams.js';
import { attachDurableBreachAudit } from '../audit/durable-audit.js';
import { AdminServer } from '../admin/server.js';
import { ControlPlane } from '../control/control-plane.js';
import { ControlAudit } from '../audit/control-audit.js';
import { BasketService } from './basket-service.js';
import { FileAuditSink } from '../audit/sinks.js';
import { attachBusAudit, attachExecutorAudit } from '../audit/order-audit.js';
import { exportAuditMetrics } from '../audit/metrics.js';
import { systemClock, type Clock } from '../clock/clock.js';
import { createLogger } from '../observability/logger.js';
import { PositionService, valuationFromSnapshots } from '../positions/service.js';
import { quoteOf } from '../positions/book.js';
import { StaticRiskGateway, type StaticLimitsConfig } from '../risk/static-gateway.js';
import { exportRiskMetrics } from '../risk/metrics.js';
import { OrderGateway } from '../venues/order-gateway.js';
import { createOrderClient, type VenueCredentials, type VenueOrderClient } from '../venues/index.js';
import { Executor, ExecutorConfigError, type ExecutorConfig, type RecoveryReport } from './executor.js';
import { fsyncDir, mkdirDurable } from './wal/segment-log.js';
import { BusMarketFeed } from './market-feed.js';
import { exportExecutorMetrics, exportFeedMetrics } from './metrics.js';
import { isTerminal, OrderState } from './order.js';
import { BusSignalSource } from './signal-source.js';
import { runAsEntryPoint, serviceMain } from '../cli/entry.js';
import { loadServiceConfig } from '../cli/service-runtime.js';
import type { Config } from '../config/schema.js';
import { riskLimitsOf } from '../config/live.js';
import { executorConfigOf } from '../session/kernel.js';
import { endpointsOf } from '../session/venue-market-data.js';
import { openRefData } from '../refdata/index.js';
import { executorService } from '../cli/services.js';
import type { FlagValues } from '../cli/args.js';
import { resolveAdminToken, venueCredentialsFromEnv, venueSecretPrefix } from '../config/secrets.js';
import { becomeLeader, type LeaderSettings } from './leader/index.js';
import { attachExecutionDigest, ExecutionDigest } from '../session/digest.js';

export interface ExecutorVenueConfig {
  /** VenueSpec in protobuf JSON form (reference data). */
  spec: JsonValue;
  /**
   * Where the venue's order gateway runs. 'local' (default): in this process, with the private client
   * on wsUrl / restUrl. 'remote': a `kestrel run gateway --venue V` process; this executor only
   * requests ord.req.{venue} and listens to ord.ack.{venue} (no private client here).
   */
  gateway?: 'local' | 'remote';
  wsUrl?: string;
  restUrl?: string;
  /** Headers of every private REST request (OKX demo). */
  extraHeaders?: Record<string, string>;
  /** Orders validated by the venue and never booked (Kraken validate). */
  validateOnly?: boolean;
  // No credentials here: they come from KESTREL_<VENUE>_API_KEY / _API_SECRET (or _FILE), see
  // src/config/secrets.ts.
}

/** What `startExecutorProcess` runs: built from the one config by executorProcessConfigOf. */
export interface ExecutorProcessConfig {
  nats: string;
  /** NATS identity and TLS (bus.auth, bus.tls); secrets from the environment. */
  natsSecurity?: { auth?: { user?: string }; tls?: { ca?: string; cert?: string; key?: string } };
  executor: ExecutorConfig;
  venues: ExecutorVenueConfig[];
  /** Retention of streams ord and risk and the slow-consumer bound (bus.streams). */
  streams?: StreamsConfig;
  /** Run a static-limit risk gateway in this process (services.executor.embedded_risk). */
  staticRisk?: StaticLimitsConfig;
  /** Venue balances at the start of trading, to reconcile positions against (default: walDir/baseline.json). */
  baseline?: Record<string, Record<string, number>>;
  /** Recover, settle in-doubt orders, print a report and exit. */
  report?: boolean;
  /** Queue group for sig.> when several executors share the signal stream. */
  signalQueue?: string;
  /**
   * Compare positions with venue balances this often (ms; 0 = never). The baseline is the venues'
   * balances when this WAL directory first started (walDir/baseline.json), unless `baseline` is given.
   * Default 10000.
   */
  reconcileIntervalMs?: number;
  /** Currency of portfolio totals (pos.current total/daily PnL); quotes convert at market mids. Default: the quote of the first venue's first symbol. */
  reportingCurrency?: string;
  /**
   * Health, metrics and operator endpoints (/health/live, /health/ready, /metrics, /admin/pause,
   * /admin/resume, /admin/drain, /admin/clear-halt). Default 127.0.0.1 and port 0, a free port
   * printed in the ready line as adminUrl. The bearer token comes from KESTREL_ADMIN_TOKEN or
   * `tokenFile` (created with a random token when absent; default walDir/admin.token).
   */
  admin?: { port?: number; host?: string; tokenFile?: string };
  /** /admin/drain waits this long for in-flight orders before exiting anyway (exit 1). Default 30000. */
  drainTimeoutMs?: number;
  /** `execution.leader` (src/config/schema.ts): stand by until this process holds the account's lease. */
  leader?: LeaderSettings;
}

export { ExecutorConfigError };

/**
 * The executor process from the one config: session.venues with their reference data (refdata.*)
 * and private endpoints (venues.<venue>), execution.* / risk.* / circuit_breakers.* as a session's
 * executor gets them (executorConfigOf), and services.executor.
 */
export async function executorProcessConfigOf(config: Config, opts: { report?: boolean } = {}): Promise<ExecutorProcessConfig> {
  const svc = config.services.executor;
  const remote = new Set<string>(svc.remote_gateways);
  for (const v of remote)
    if (!config.session.venues.includes(v as VenueName))
      throw new ExecutorConfigError(`services.executor.remote_gateways names ${v}, which is not in session.venues`);
  const endpoints = endpointsOf(config);
  const refdata = await openRefData(config.refdata.postgres_url || undefined);
  const venues: ExecutorVenueConfig[] = [];
  try {
    for (const venue of config.session.venues) {
      const spec = await refdata.venueSpec(venue);
      if (!spec) throw new ExecutorConfigError(`reference data has no venue ${venue}`);
      if (remote.has(venue)) {
        venues.push({ spec: toJson(VenueSpecSchema, spec), gateway: 'remote' });
        continue;
      }
      const e = endpoints[venue];
      venues.push({
        spec: toJson(VenueSpecSchema, spec),
        gateway: 'local',
        wsUrl: e.privateWs,
        restUrl: e.privateRest,
        ...(Object.keys(e.privateHeaders).length > 0 ? { extraHeaders: { ...e.privateHeaders } } : {}),
        ...(e.validateOnly ? { validateOnly: true } : {}),
      });
    }
  } finally {
    await refdata.close();
  }
  return {
    nats: config.bus.nats_url,
    natsSecurity: config.bus,
    streams: config.bus.streams,
    executor: { ...executorConfigOf(config, config.execution.wal_dir), mode: svc.mode },
    venues,
    ...(svc.embedded_risk ? { staticRisk: riskLimitsOf(config) } : {}),
    ...(opts.report ? { report: true } : {}),
    ...(svc.signal_queue ? { signalQueue: svc.signal_queue } : {}),
    reconcileIntervalMs: svc.reconcile_interval_ms,
    ...(config.session.reporting_currency ? { reportingCurrency: config.session.reporting_currency } : {}),
    admin: { host: config.admin.host, port: svc.admin_port, tokenFile: config.admin.token_file },
    drainTimeoutMs: config.admin.drain_timeout_ms,
    leader: config.execution.leader,
  };
}

export interface RunningExecutor {
  executor: Executor;
  /** This process's decision per signal since it started (the backtest's executionDigest, compared by the distributed tests). */
  executionDigest: ExecutionDigest;
  recovery: RecoveryReport;
  bus: Bus;
  adminUrl: string;
  /** The venue balances positions are reconciled against (cfg.baseline, else walDir/baseline.json). */
  baseline: Record<string, Record<string, number>>;
  /** Settles once /admin/drain finished waiting: the process should then stop (exit 0 when drained). */
  drained: Promise<{ drained: boolean; open: string[] }>;
  stop(): Promise<void>;
}

/** A venue's credentials from the environment (typed SecretError when a file is unsafe, missing otherwise). */
function venueCredentials(venue: string, env: NodeJS.ProcessEnv): VenueCredentials {
  const c = venueCredentialsFromEnv(venue, env);
  if (!c)
    throw new ExecutorConfigError(
      `no credentials for ${venue}: set ${venueSecretPrefix(venue)}API_KEY and ${venueSecretPrefix(venue)}API_SECRET (or their _FILE forms)`,
    );
  return c;
}

export async function startExecutorProcess(
  cfg: ExecutorProcessConfig,
  env: NodeJS.ProcessEnv = process.env,
  clock: Clock = systemClock,
  /** The leader's fence (src/execution/leader/): every message of this process crosses it. */
  fence: (bus: Bus) => Bus = (b) => b,
): Promise<RunningExecutor> {
  const log = createLogger('executor-main');
  const nats = await NatsBus.connect({
    servers: cfg.nats,
    name: 'kestrel-executor',
    security: natsSecurityFrom(cfg.natsSecurity ?? {}, env),
  });
  const bus = fence(nats);
  // One namespace for every component of the process: a replay executor must not place, publish or obey live.
  const ns = cfg.executor.namespace;
  // Streams ord (gateway acks) and risk (breaches): durable, de-duplicated by msg id (src/bus/streams.ts).
  const streams = await ensureStreams(bus, ns, {
    keys: ['ord', 'risk'],
    ...(cfg.streams ? { config: cfg.streams } : {}),
    onError: (err, subject) => log.error({ err: String(err), subject }, 'durable publish not acknowledged by its stream'),
  });
  const specs: VenueSpec[] = [];
  const clients: Record<string, VenueOrderClient> = {};
  const gateways: OrderGateway[] = [];
  for (const v of cfg.venues) {
    const spec = fromJson(VenueSpecSchema, v.spec);
    if (!isVenue(spec.venue)) throw new ExecutorConfigError(`unknown venue ${spec.venue}`);
    specs.push(spec);
    // A remote gateway process answers ord.req.{venue} and publishes ord.ack.{venue}: nothing to start here.
    if (v.gateway === 'remote') continue;
    if (v.wsUrl === undefined) throw new ExecutorConfigError(`venue ${spec.venue}: a local gateway needs wsUrl`);
    const minLots = Object.fromEntries(spec.symbols.map((s) => [s.symbol, s.minLot]));
    const client = createOrderClient(spec.venue, {
      wsUrl: v.wsUrl,
      ...(v.restUrl ? { restUrl: v.restUrl } : {}),
      ...(v.extraHeaders ? { extraHeaders: v.extraHeaders } : {}),
      ...(v.validateOnly ? { validateOnly: true } : {}),
      credentials: venueCredentials(spec.venue, env),
      minLots,
      clock,
    });
    const gw = new OrderGateway({ bus, streams, clock, client, spec, namespace: ns });
    await gw.start();
    clients[spec.venue] = client;
    gateways.push(gw);
  }
  const feed = new BusMarketFeed(bus, ns, clock).start();
  const risk = cfg.staticRisk ? new StaticRiskGateway(bus, cfg.staticRisk, ns, { clock, streams }) : undefined;
  risk?.start();
  const executor = new Executor({ bus, clock, venues: specs, market: feed.store, recon: clients, logger: log }, cfg.executor);
  const executionDigest = new ExecutionDigest();
  attachExecutionDigest(executionDigest, executor, rejectName);
  // Control commands are audited next to the WAL (the executor process needs no JetStream).
  const auditSink = new FileAuditSink(path.join(cfg.executor.walDir, 'control-audit.log'));
  const controlAudit = await ControlAudit.open(auditSink, 'executor', ns === 'replay', clock);
  // Orders, risk decisions, breaches and breaker transitions share the chain with control commands.
  attachExecutorAudit(executor, controlAudit.log);
  // Breaches come through a durable consumer: one published while this process was down is still audited.
  const stopBusAudit = attachBusAudit(bus, ns, controlAudit.log, { durableBreaches: true });
  const breachAudit = await attachDurableBreachAudit(streams, controlAudit.log);
  const streamMonitor = new ConsumerMonitor({
    bound: (cfg.streams ?? DEFAULT_STREAMS).slow_consumer_pending,
    log: (level, msg, fields) => log[level](fields, msg),
  }).watch(breachAudit);
  const stopAuditMetrics = exportAuditMetrics(controlAudit.log);
  const signals = new BusSignalSource(bus, { namespace: ns, ...(cfg.signalQueue ? { queue: cfg.signalQueue } : {}) });
  const recovery = await executor.start(cfg.report ? undefined : signals);
  if (process.env.KESTREL_EXECUTOR_STATS) {
    // Periodic counters on stderr (diagnostics of a child process that may be SIGKILLed any time).
    let shown = 0;
    executor.onReject((e) => {
      if (e.reason !== 20 && e.reason !== 18 && shown++ < 5)
        process.stderr.write(`reject ${rejectName(e.reason)} ${e.venue} ${e.detail}\n`);
    });
    setInterval(
      () =>
        process.stderr.write(
          JSON.stringify({
            counters: executor.counters,
            rejects: Object.fromEntries([...executor.rejects].map(([k, v]) => [rejectName(k), v])),
          }) + '\n',
        ),
      100,
    ).unref();
  }
  const baseline = cfg.baseline ?? (await loadOrCaptureBaseline(cfg.executor.walDir, clients));
  const reconcileTimer = startBalanceReconciliation(executor, bus, streams, ns, baseline, cfg.reconcileIntervalMs ?? 10_000, log);
  const stopMetrics = exportExecutorMetrics(
    executor,
    1000,
    specs.map((s) => s.venue),
  );
  const stopFeedMetrics = exportFeedMetrics(feed.store, clock);
  const stopRiskMetrics = risk ? exportRiskMetrics(risk) : () => undefined;
  const control = new ControlPlane(bus, executor, ns, { audit: controlAudit });
  control.start();
  // Baskets from traders on ord.group (queue group: one executor process runs each basket).
  const baskets = new BasketService({ bus, namespace: ns, clock, executor, market: feed.store, audit: controlAudit.log, logger: log });
  baskets.start();
  const positions = new PositionService(bus, {
    clock,
    book: executor.book,
    namespace: ns,
    valuation: valuationFromSnapshots(feed.store, cfg.reportingCurrency ?? quoteOf(specs[0]?.symbols[0]?.symbol ?? 'USD')),
    mark: (venue, symbol) => {
      const s = feed.store.get(venue, symbol);
      return s ? (s.bid + s.ask) / 2 : undefined;
    },
  });
  positions.start();
  executor.onFill(() => positions.markDirty());

  let drainedResolve: (r: { drained: boolean; open: string[] }) => void = () => undefined;
  const drained = new Promise<{ drained: boolean; open: string[] }>((resolve) => (drainedResolve = resolve));
  let draining: Promise<void> | undefined;
  const adminCmd = (command: string, extra: { reason: string; operator?: string; haltCause?: string }) =>
    control.submit(create(ControlCommandSchema, { command, operator: 'admin-http', ...extra, tsNs: clock.nowNs() }), 'admin-http');
  const adminCfg = cfg.admin ?? {};
  const admin = new AdminServer(
    {
      pause: () => adminCmd('kill', { reason: 'operator pause via /admin/pause' }),
      resume: () => adminCmd('resume', { reason: '/admin/resume' }),
      clearHalt: (haltCause, reason, operator) => adminCmd('clear_halt', { haltCause, reason, operator }),
      // Answers at once; the process exits when the in-flight orders are done (see `drained`).
      drain: () => {
        draining ??= executor.drain(cfg.drainTimeoutMs ?? 30_000).then((r) => {
          log.info(r, r.drained ? 'drained: every order terminal' : 'drain timed out with orders open (kept in the WAL)');
          drainedResolve(r);
        });
      },
      state: () => ({
        halts: Object.fromEntries(executor.haltCauses),
        draining: executor.isDraining,
        positions: executor.book.all(),
        counters: executor.counters,
      }),
    },
    { token: resolveAdminToken(adminCfg.tokenFile ?? path.join(cfg.executor.walDir, 'admin.token'), env).token },
  );
  admin.addReadinessCheck('bus', () => !nats.connection.isClosed());
  admin.addReadinessCheck('venues', () => Object.values(clients).every((c) => c.connected));
  admin.addReadinessCheck('accepting_signals', () => !executor.isDraining && !executor.isHalted);
  admin.addReadinessCheck('streams', () => streamMonitor.healthy);
  const adminUrl = await admin.listen(adminCfg.port ?? 0, adminCfg.host ?? '127.0.0.1');
  await bus.flush();
  return {
    executor,
    executionDigest,
    recovery,
    bus,
    adminUrl,
    baseline,
    drained,
    stop: async () => {
      await admin.close();
      if (reconcileTimer) clearInterval(reconcileTimer);
      stopMetrics();
      stopFeedMetrics();
      stopRiskMetrics();
      signals.close();
      control.stop();
      await baskets.stop();
      positions.stop();
      feed.stop();
      risk?.stop();
      await executor.close();
      stopBusAudit();
      streamMonitor.stop();
      await breachAudit.stop();
      stopAuditMetrics();
      await controlAudit.log.close();
      for (const g of gateways) await g.stop();
      await bus.close();
    },
  };
}

/**
 * Balances of every venue when this WAL directory first started: positions are the changes since.
 * Written once (tmp + rename + fsync) and reused on every restart.
 */
export async function loadOrCaptureBaseline(
  walDir: string,
  clients: Readonly<Record<string, VenueOrderClient>>,
): Promise<Record<string, Record<string, number>>> {
  const file = path.join(walDir, 'baseline.json');
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Record<string, number>>;
  const out: Record<string, Record<string, number>> = {};
  for (const [venue, c] of Object.entries(clients)) out[venue] = await c.balances();
  mkdirDurable(walDir);
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  fs.writeSync(fd, JSON.stringify(out));
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  fsyncDir(walDir); // the rename itself must survive a power loss, or a later start re-captures
  return out;
}

/**
 * Periodic positions-vs-balances check for venues with nothing in flight (in-flight fills would show
 * as false mismatches); a mismatch is logged and published on risk.breach.
 */
function startBalanceReconciliation(
  ex: Executor,
  bus: Bus,
  streams: DurableStreams,
  ns: Namespace,
  baseline: Record<string, Record<string, number>>,
  everyMs: number,
  log: ReturnType<typeof createLogger>,
): NodeJS.Timeout | undefined {
  if (!(everyMs > 0)) return undefined;
  const t = setInterval(() => {
    const venues = Object.keys(baseline).filter((v) => ex.venueInflightCount(v) === 0);
    if (venues.length === 0) return;
    const subset = Object.fromEntries(venues.map((v) => [v, baseline[v]!]));
    ex.reconcileBalances(subset, 1e-9, venues).then(
      (diffs) => {
        for (const d of diffs) {
          log.warn(d, 'position differs from venue balance');
          const breach = create(RiskBreachSchema, {
            tsNs: ex.clock.nowNs(),
            limit: 'position_reconciliation',
            symbol: `${d.venue}:${d.asset}`,
            value: d.ours,
            threshold: d.venueDelta,
          });
          try {
            publishEvent(
              bus,
              streams,
              subjects.riskBreach(ns),
              toBinary(RiskBreachSchema, breach),
              msgIds.riskBreach(breach.limit, breach.symbol, breach.tsNs),
            );
          } catch {
            // bus closing
          }
        }
      },
      (err: unknown) => log.warn({ err: String(err) }, 'balance reconciliation failed'),
    );
  }, everyMs);
  t.unref();
  return t;
}

/** Report mode: wait for every in-doubt order to settle, then describe orders, nonces and positions. */
export async function settleAndReport(
  r: RunningExecutor,
  baseline: Record<string, Record<string, number>> = {},
  timeoutMs = 10_000,
): Promise<object> {
  const ex = r.executor;
  const open = () => [...ex.orders.values()].filter((o) => (!isTerminal(o.state) || o.inDoubt) && o.state !== OrderState.ACKED);
  // A real-time wait counted in timer ticks: the executor's clock may be virtual.
  for (let waitedMs = 0; open().length > 0 && waitedMs < timeoutMs; waitedMs += 20) await new Promise((res) => setTimeout(res, 20));
  const orders = [...ex.orders.values()].map((o) => ({
    clientId: o.clientId,
    // The signal it executes ('' for basket orders): one order per signal, across restarts too.
    traceId: o.traceId,
    venue: o.venue,
    nonce: o.nonce.toString(),
    state: OrderState[o.state],
    inDoubt: o.inDoubt,
    size: o.size,
    filled: o.filledQty,
  }));
  return {
    event: 'report',
    recovery: r.recovery,
    orders,
    positions: ex.book.all().map((p) => ({ venue: p.venue, symbol: p.symbol, quantity: p.quantity, avgPrice: p.avgPrice, fees: p.fees })),
    balanceMismatches: await ex.reconcileBalances(baseline),
    counters: ex.counters,
    rejects: Object.fromEntries([...ex.rejects].map(([k, v]) => [rejectName(k), v])),
    nonceWatermarks: Object.fromEntries([...ex.journal.state.nonceWatermark].map(([k, v]) => [k, v.toString()])),
  };
}

function bigintSafe(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

/** `kestrel run executor` and `node src/execution/main.js`: flags from executorService (src/cli/services.ts). */
export function main(argv: readonly string[]): Promise<number> {
  return serviceMain(executorService, argv, run);
}

/** The executor with parsed flags, until SIGTERM/SIGINT, a drain, or (report mode) its report. */
export async function run(flags: FlagValues): Promise<number> {
  const cfg = await executorProcessConfigOf(loadServiceConfig(flags), { report: flags.report === true });
  // Leader lock (issue 14): stand by until this process holds the account's lease; losing it ends the process.
  const lead = cfg.leader?.enabled ? await becomeLeader(cfg.nats, cfg.leader, cfg.executor.namespace) : undefined;
  const r = await startExecutorProcess(cfg, process.env, systemClock, lead?.fence);
  const leader = lead ? { epoch: lead.epoch } : {};
  process.stdout.write(JSON.stringify({ event: 'ready', recovery: r.recovery, adminUrl: r.adminUrl, ...leader }, bigintSafe) + '\n');
  if (cfg.report) {
    const rep = await settleAndReport(r, r.baseline);
    // A pipe takes large writes asynchronously: exit only once the report is out.
    await new Promise<void>((resolve) => process.stdout.write(JSON.stringify(rep, bigintSafe) + '\n', () => resolve()));
    await r.stop();
    await lead?.release();
    return 0;
  }
  const outcome = await new Promise<{ drained: boolean; open: string[] } | undefined>((resolve) => {
    process.once('SIGTERM', () => resolve(undefined));
    process.once('SIGINT', () => resolve(undefined));
    void r.drained.then(resolve);
  });
  await r.stop();
  await lead?.release();
  if (outcome) process.stdout.write(JSON.stringify({ event: 'drained', ...outcome }) + '\n');
  // What this process decided, for a supervisor or a test comparing it with the backtest's executionDigest.
  const stopped = {
    event: 'stopped',
    decided: r.executionDigest.decided,
    executionDigest: r.executionDigest.hex(),
    counters: r.executor.counters,
  };
  await new Promise<void>((resolve) => process.stdout.write(JSON.stringify(stopped, bigintSafe) + '\n', () => resolve()));
  // A drain that timed out left orders open: not a clean exit, so a supervisor notices.
  return outcome && !outcome.drained ? 1 : 0;
}

runAsEntryPoint(import.meta.url, 'executor failed', main, { withStack: true });
