/**
 * The default session, one process, every real component: venue simulators replaying the bundled
 * recordings → adapters over real sockets → ingestion (quality gates, actors) → shared-memory tick
 * rings → engine thread (native C++ or embedded Julia) → signal ring → executor (TTL, risk guard,
 * precision/slippage, SOR, nonces, WAL) → ord.req.{venue} → order gateways → private venue
 * simulators (matching engine fed by the same ticks) → fills → positions and PnL → summary.
 */
import { monotonicMs } from '../clock/monotonic.js';
import { mkdirSync } from 'node:fs';
import { create } from '@bufbuild/protobuf';
import path from 'node:path';
import { AdminServer } from '../admin/server.js';
import { AuditLog, packRaw } from '../audit/audit-log.js';
import { sessionConsoleSource } from '../admin/console/session-view.js';
import { ControlAudit } from '../audit/control-audit.js';
import { exportAuditMetrics } from '../audit/metrics.js';
import { AuditEventType, attachBusAudit, attachExecutorAudit } from '../audit/order-audit.js';
import { FileAuditSink, JetStreamAuditSink, type AuditSink } from '../audit/sinks.js';
import type { Bus } from '../bus/bus.js';
import { NatsBus } from '../bus/nats-bus.js';
import { ConsumerMonitor, ensureStreams } from '../bus/streams.js';
import { attachDurableBreachAudit } from '../audit/durable-audit.js';
import { systemClock, type Clock } from '../clock/clock.js';
import { resolveAdminToken, venueCredentialsFromEnv } from '../config/secrets.js';
import type { Config } from '../config/schema.js';
import { engineTarget, executorTarget, LiveConfig, loggingTarget, riskTarget } from '../config/live.js';
import { ControlCommandSchema, Side } from '../contracts/index.js';
import { TickFlag, type NormalizedTick, type VenueName } from '../contracts/market.js';
import { ControlPlane } from '../control/control-plane.js';
import type { Executor } from '../execution/executor.js';
import { BasketService } from '../execution/basket-service.js';
import { isTerminal } from '../execution/order.js';
import { SnapshotStore, type ExecSignal, type SignalSource } from '../execution/types.js';
import { IngestionService } from '../ingestion/service.js';
import { qualityOptionsOf } from '../ingestion/quality.js';
import type { TickSink } from '../ingestion/types.js';
import { NativeEngine, RingSignalSource, TickRegion } from '../native/index.js';
import { createLogger } from '../observability/logger.js';
import { quoteOf } from '../positions/book.js';
import { openRefData } from '../refdata/index.js';
import { AccuracyMonitor, type AccuracyReport } from '../shadow/accuracy.js';
import { startSimulatedMarketData, SIMULATED_VENUE_SYMBOLS, type SimulatedMarketData } from '../simulators/market-data-session.js';
import { openTickStore } from '../storage/index.js';
import { startSimulatedOrderEntry } from '../venues/order-entry-session.js';
import { startLiveOrderEntry } from '../venues/live.js';
import { assertLiveConsent, assertLivePolicies } from './modes.js';
import { endpointsOf, startVenueMarketData, type VenueMarketData } from './venue-market-data.js';
import { TradingKernel } from './kernel.js';
import { systemScheduler } from '../clock/scheduler.js';
import { engineParams, ringName, ringStream } from './wiring.js';
import { exportPipelineMetrics, tickToSignalObserver } from './metrics.js';
import { exportExecutorMetrics, exportFeedMetrics } from '../execution/metrics.js';
import { exportRiskMetrics } from '../risk/metrics.js';

const log = createLogger('session');

export interface PositionLine {
  venue: string;
  symbol: string;
  quantity: number;
  avgPrice: number;
  realizedPnl: number;
  unrealizedPnl: number;
  fees: number;
}

export interface SessionSummary {
  mode: string;
  engine: string;
  ticks: { received: number; accepted: number; dropped: number; perStream: Record<string, number> };
  signals: number;
  orders: { sent: number; filled: number; rejected: number; rejectReasons: Record<string, number> };
  fills: number;
  positions: PositionLine[];
  /** Currency of the PnL totals below; each position's own figures are in its quote currency. */
  reportingCurrency: string;
  /** Quotes with positions but no conversion rate in the data: left out of the totals. */
  unpricedQuotes: string[];
  realizedPnl: number;
  unrealizedPnl: number;
  fees: number;
  netPnl: number;
  accuracy: AccuracyReport;
  engineStats: { ticks: number; signals: number; missed: number };
  tickStore: string;
  /** Every signal, refusal and fill (session.ts DecisionDigest). */
  digest: string;
  /**
   * The engine's signals per (venue, symbol) stream: a backtest over this session's capture prints the
   * same (the decision digest can differ: see docs/RESEARCHER_GUIDE.md "A session's capture reproduces its signals").
   */
  signalDigest: string;
  wallMs: number;
  /** Set when /admin/drain ended the session: drained = every order terminal before the timeout. */
  drain?: { drained: boolean; open: string[] };
}

export interface SessionHooks {
  /** Called once every service is up (tests and the CLI print the admin URL). */
  onReady?: (info: { adminUrl: string | undefined }) => void;
  /** Watched for hot reload; `loadConfig` re-reads it the way the process started (defaults, env, flags). */
  configFile?: string;
  loadConfig?: () => Config;
  /** Resolves when the operator stops the session (SIGINT/SIGTERM): a venue feed has no end of its own. */
  stop?: Promise<void>;
  /** Called every second with live counters (the terminal's status line). */
  onStatus?: (s: SessionStatus) => void;
}

export interface SessionStatus {
  ticks: number;
  signals: number;
  orders: number;
  fills: number;
  rejects: number;
  netPnl: number;
  /** venue -> connected public stream. */
  venues: Record<string, boolean>;
}

export async function runTradingSession(config: Config, bus: Bus, hooks: SessionHooks = {}): Promise<SessionSummary> {
  const started = monotonicMs();
  // Composition root: the one place the session picks its time source; every component gets it.
  const clock: Clock = systemClock;
  const ns = config.bus.namespace;
  const venues = config.session.venues as readonly VenueName[];
  const cleanups: Array<() => Promise<void> | void> = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        log.warn({ err: String(err) }, 'cleanup step failed');
      }
    }
  };

  // The effective wiring, for the operator: URLs may carry user:password, which the logger masks.
  // Venue market data (start --mode paper|live) instead of the bundled recordings.
  const venueData = config.session.market_data === 'venues';
  assertLiveConsent(config);
  log.info({ bus: config.bus, storage: config.storage, refdata: config.refdata, venues, mode: config.session.mode }, 'session starting');
  try {
    // Reference data: canonical symbols, venue mappings, precision and fees (VenueSpec).
    const refdata = await openRefData(config.refdata.postgres_url || undefined);
    cleanups.push(() => refdata.close());
    const specs = [];
    const streams: string[] = [];
    for (const venue of venues) {
      const spec = await refdata.venueSpec(venue);
      if (!spec) throw new Error(`reference data has no venue ${venue}`);
      specs.push(spec);
      const maps = await refdata.mappings(venue, config.session.symbols);
      for (const m of maps)
        if (venueData || SIMULATED_VENUE_SYMBOLS[venue].includes(m.venueSymbol)) streams.push(ringName(venue, m.symbol));
    }
    assertLivePolicies(config, specs);
    if (streams.length === 0) {
      throw new Error(
        `none of session.symbols (${config.session.symbols.join(', ')}) is in the bundled recordings of ${venues.join(', ')}`,
      );
    }

    // Replaying faster than recorded compresses event time by this factor (engine params, horizons).
    // On a venue feed pace is 'original' (start --mode sets it); a simulator process replaying N× faster
    // is matched with session.pace accelerated and speed N.
    const timeScale = config.session.pace === 'accelerated' ? config.session.speed : 1;

    // Shared-memory rings, one per (venue, symbol) stream, and the engine thread.
    const region = TickRegion.create({
      name: `${config.rings.shm_name}-${process.pid}`,
      symbols: streams,
      tickCapacity: config.rings.capacity,
      replace: true,
    });
    cleanups.push(() => {
      region.unlink();
      region.close();
    });
    const ringSignals = new RingSignalSource(region, { clock, onTickToSignalNs: tickToSignalObserver() });
    const engine = new NativeEngine(region, {
      engine: config.strategy.engine,
      params: engineParams(config, timeScale),
      onSignals: ringSignals.notify,
      ...(config.strategy.julia_source ? { juliaSource: config.strategy.julia_source } : {}),
      ...(config.rings.engine_cpu >= 0 ? { cpu: config.rings.engine_cpu } : {}),
      ...(config.rings.engine_idle_spin_ns !== 'auto' ? { idleSpinNs: config.rings.engine_idle_spin_ns } : {}),
    });
    engine.start();
    cleanups.push(() => {
      engine.stop();
      ringSignals.drain();
      ringSignals.close();
    });

    // Private venues (matching engine) and one order gateway per venue on the bus.
    const walDir = path.resolve(config.execution.wal_dir, `session-${clock.nowNs() / 1_000_000n}-${process.pid}`);
    mkdirSync(path.join(walDir, 'venues'), { recursive: true });
    // Account keys from the environment when set (never from the config file).
    const fromEnv = venues.flatMap((v) => {
      const c = venueCredentialsFromEnv(v);
      return c ? [[v, c] as const] : [];
    });
    const envCredentials = fromEnv.length > 0 ? Object.fromEntries(fromEnv) : undefined;
    // NATS: streams ord, risk, audit with the retention of bus.streams (src/bus/streams.ts).
    const durable =
      bus instanceof NatsBus
        ? await ensureStreams(bus, ns, {
            config: config.bus.streams,
            onError: (err, subject) => log.error({ err: String(err), subject }, 'durable publish not acknowledged by its stream'),
          })
        : undefined;
    // Paper: the in-process matching engine (fed below by the same book) fills; nothing reaches a venue.
    // Live: the real private clients on the configured endpoints.
    const orderEntry =
      config.session.mode === 'live'
        ? {
            sims: undefined,
            ...(await startLiveOrderEntry({
              bus,
              ...(durable ? { streams: durable } : {}),
              namespace: ns,
              clock,
              venues,
              endpoints: endpointsOf(config),
              specs: Object.fromEntries(specs.map((s) => [s.venue, s])),
              symbols: config.session.symbols,
            })),
          }
        : await startSimulatedOrderEntry({
            bus,
            ...(durable ? { streams: durable } : {}),
            namespace: ns,
            mode: config.execution.fill_model,
            venues,
            journalDir: path.join(walDir, 'venues'),
            clock,
            ...(envCredentials ? { credentials: envCredentials } : {}),
          });
    cleanups.push(() => orderEntry.stop());

    // The trading kernel (kernel.ts, shared with `kestrel backtest`): risk gateway (static caps +
    // EWMA VaR + drawdown), executor, positions, on the system clock and timers.
    const reportingCurrency = config.session.reporting_currency || quoteOf(config.session.symbols[0]!);
    const kernel = new TradingKernel({
      config,
      bus,
      ...(durable ? { streams: durable } : {}),
      clock,
      scheduler: systemScheduler,
      specs,
      books: {
        // Paper: the simulated venues' books follow the feed (their matching engine fills); live: no book here.
        feedBook: (v, symbol, bids, asks) => orderEntry.sims?.[v as VenueName].feedBook(symbol, bids, asks),
        feedTrade: (v, symbol, px, qty, side) => orderEntry.sims?.[v as VenueName].feedTrade(symbol, px, qty, side),
      },
      recon: Object.fromEntries(venues.map((v) => [v, orderEntry.gateways[v]!.client])),
      walDir,
      marks: 'bus',
      reportingCurrency,
      logger: log,
    });
    const { snapshots, digest, risk, executor, rejects } = kernel;
    const valuation = kernel.valuation!;
    // Ingestion sinks: rings, the kernel (executor snapshots, the simulated venues' books), tick store.
    const perStream: Record<string, number> = {};
    const accuracy = new AccuracyMonitor({
      // 5 s of recorded time, in the (possibly compressed) event time of this replay.
      horizonNs: BigInt(Math.round(5e9 / timeScale)),
      threshold: config.strategy.confidence_threshold,
      driftWindow: 1000,
      driftThreshold: 0.05,
    });
    // A capture file is written by the rings sink itself: each tick as pushed to its ring, in push
    // order, with the receive stamp the engine sees, under a header carrying the time scale. A
    // backtest over it (`kestrel backtest --data`) feeds the engine the same input: the same signals.
    const tickStore = await openTickStore(config.storage, clock, { timeScale, ringInput: true });
    cleanups.push(() => tickStore.close());
    const ringCapture = tickStore.kind === 'capture' ? tickStore : undefined;
    const rings: TickSink = {
      name: 'rings',
      push: (t) => {
        region.pushNormalized(region.ringOf(ringName(t.venue, t.symbol)), t);
        ringCapture?.push(t);
      },
    };
    const books: TickSink = {
      name: 'executor-and-venue-books',
      push: (t: NormalizedTick) => {
        const key = ringName(t.venue, t.symbol);
        perStream[key] = (perStream[key] ?? 0) + 1;
        kernel.onTick(t);
        if ((t.flags & TickFlag.TRADE) === 0) accuracy.onMid((t.bid + t.ask) / 2, t.exchTsNs);
      },
    };
    const ingestion = await IngestionService.create(
      {
        shards: config.flow_control.ingestion_shards,
        mailboxCapacity: config.flow_control.queue_sizes.market_data,
        quality: await qualityOptionsOf(config, refdata),
      },
      { bus, namespace: ns, sinks: ringCapture ? [books, rings] : [books, rings, tickStore], logger: log },
    );
    cleanups.push(() => ingestion.stop());

    // The audit trail (JetStream on NATS, else audit.file): control commands, every order lifecycle
    // step, risk decisions and breaches, breaker transitions, start/stop. Opened before the executor
    // and closed after it, so recovery and the last acks are in it; session_stop is its last event.
    const auditSink: AuditSink =
      bus instanceof NatsBus
        ? await JetStreamAuditSink.open(bus.connection, ns, { retention: config.bus.streams.audit })
        : new FileAuditSink(config.audit.file);
    const auditLog = await AuditLog.open(auditSink, { service: 'session', replay: ns === 'replay', clock, logger: log });
    let stopMeta: Record<string, string> = { outcome: 'failed' };
    cleanups.push(async () => {
      auditLog.record(AuditEventType.sessionStop, '', packRaw('google.protobuf.Empty', new Uint8Array()), {
        ...stopMeta,
        audit_dropped: String(auditLog.stats.dropped),
        audit_failed_writes: String(auditLog.stats.failedWrites),
      });
      await auditLog.close();
    });
    auditLog.record(AuditEventType.sessionStart, '', packRaw('google.protobuf.Empty', new Uint8Array()), {
      mode: config.session.mode,
      config_version: config.version,
      venues: venues.join(','),
      symbols: config.session.symbols.join(','),
      engine: config.strategy.engine,
      pid: String(process.pid),
    });
    cleanups.push(attachBusAudit(bus, ns, auditLog, { durableBreaches: durable !== undefined }));
    const streamMonitor = new ConsumerMonitor({
      bound: config.bus.streams.slow_consumer_pending,
      log: (level, msg, fields) => log[level](fields, msg),
    });
    if (durable) {
      const breachAudit = await attachDurableBreachAudit(durable, auditLog);
      streamMonitor.watch(breachAudit);
      cleanups.push(() => breachAudit.stop());
      cleanups.push(() => streamMonitor.stop());
    }
    cleanups.push(exportAuditMetrics(auditLog));
    attachExecutorAudit(executor, auditLog);
    // Event time per stream and the touch each signal saw, for the accuracy monitor.
    const lastExchTs = new Map<string, bigint>();
    const touch = new Map<string, number>();
    const signals: SignalSource = {
      // Rings are per (venue, symbol); the executor routes by canonical symbol across venues.
      // The kernel takes each signal with its venue (kernel.onSignal), so the intake callback goes unused.
      onSignal: (_executorIntake) =>
        ringSignals.onSignal((s: ExecSignal) => {
          const stream = ringStream(s.symbol);
          const exec = { ...s, symbol: stream.symbol, strategyId: config.strategy.id };
          const snap = snapshots.get(stream.venue, stream.symbol);
          accuracy.onSignal({
            confidence: s.confidence,
            direction: s.side === Side.BUY ? 1 : -1,
            refMid: s.refPrice,
            tsNs: lastExchTs.get(s.symbol) ?? 0n,
          });
          if (snap) {
            touch.set(s.traceId, s.side === Side.BUY ? snap.ask : snap.bid);
            // Bounded: only recent signals can still be filling.
            if (touch.size > 10_000) touch.delete(touch.keys().next().value!);
          }
          kernel.onSignal(stream.venue, exec);
        }),
      close: () => ringSignals.close(),
    };
    ingestion.addSink({ name: 'event-time', push: (t) => void lastExchTs.set(ringName(t.venue, t.symbol), t.exchTsNs) });
    executor.onFill((o, d) => {
      const px = o.traceId ? touch.get(o.traceId) : undefined;
      if (px !== undefined) accuracy.onFill(o.side === Side.BUY ? 1 : -1, d.price, px);
    });
    const recovery = await kernel.start(signals);
    log.info({ recovery }, 'executor started');
    cleanups.push(() => kernel.stop());
    // Baskets from traders (ord.group → executor basket path → OrderGroupAck), audited.
    const baskets = new BasketService({ bus, namespace: ns, clock, executor, market: snapshots, audit: auditLog, logger: log });
    baskets.start();
    cleanups.push(() => baskets.stop());
    cleanups.push(exportExecutorMetrics(executor, 1000, venues));
    cleanups.push(exportFeedMetrics(snapshots, clock));
    cleanups.push(exportPipelineMetrics(region, () => ringSignals.missed, accuracy));
    cleanups.push(exportRiskMetrics(risk));
    // /admin/drain: no more signals, in-flight orders finish, then the session ends with its summary.
    let drainOutcome: { drained: boolean; open: string[] } | undefined;
    let drainRequested: Promise<void> | undefined;
    const drain = (): Promise<void> =>
      (drainRequested ??= executor.drain(config.admin.drain_timeout_ms).then((r) => {
        drainOutcome = r;
        log.info(r, r.drained ? 'drained: every order terminal' : 'drain timed out with orders open (kept in the WAL)');
      }));
    // Control commands (ctl.* and the admin endpoints) go into the same chain, durable before answered.
    const control = new ControlPlane(bus, executor, ns, { audit: ControlAudit.over(auditLog) });
    control.start();
    cleanups.push(() => control.stop());
    // Hot reload: `kestrel config set` (config.set) and the watched --config file; audited, rolled back on failure.
    const live = new LiveConfig(config, {
      clock,
      bus,
      namespace: ns,
      audit: auditLog,
      logger: log,
      targets: [riskTarget(risk), executorTarget(executor), engineTarget(engine, (c: Config) => engineParams(c, timeScale)), loggingTarget],
    });
    live.listen();
    if (hooks.configFile && hooks.loadConfig) live.watchFile(hooks.configFile, hooks.loadConfig);
    cleanups.push(() => live.close());

    // Operator surface: health, metrics, dashboard, pause/resume/clear-halt (bearer token).
    let adminUrl: string | undefined;
    // Started after the admin server (market data last); the console reads its adapters once set.
    let md: SimulatedMarketData | VenueMarketData | undefined;
    if (config.admin.port !== -1) {
      const adminCmd = (command: string, extra: { reason: string; operator?: string; haltCause?: string; symbol?: string }) =>
        control.submit(create(ControlCommandSchema, { command, operator: 'admin-http', ...extra, tsNs: clock.nowNs() }), 'admin-http');
      const admin = new AdminServer(
        {
          pause: () => adminCmd('kill', { reason: 'operator pause via /admin/pause' }),
          resume: () => adminCmd('resume', { reason: '/admin/resume' }),
          clearHalt: (haltCause, reason, operator) => adminCmd('clear_halt', { haltCause, reason, operator }),
          // Answers at once; the session ends (summary, exit 0) once the in-flight orders are done.
          drain: () => void drain(),
          flatten: (symbol) => adminCmd('flatten', { symbol, reason: `operator flatten ${symbol} via /admin/flatten` }),
          kill: async () => {
            await adminCmd('kill', { reason: 'operator kill via /admin/kill' });
            await adminCmd('flatten', { reason: 'operator kill via /admin/kill: close every position' });
          },
          console: sessionConsoleSource({
            mode: config.session.mode,
            clock,
            executor,
            snapshots,
            valuation,
            venues,
            adapters: () => (md ? Object.values(md.adapters).map((a) => a!.stats()) : []),
            privateConnected: (v) => orderEntry.gateways[v as VenueName]?.client.connected ?? false,
            risk,
            drawdownLimits: { maxDaily: config.risk.drawdown.max_daily, maxTotal: config.risk.drawdown.max_total },
            staleAfterMs: config.data_quality.staleness_threshold_ms,
          }),
          state: () => ({
            draining: executor.isDraining,
            halts: Object.fromEntries(executor.haltCauses),
            positions: executor.book.all(),
            counters: executor.counters,
            ingestion: ingestion.stats(),
            rings: region.counters(),
            engine: engine.stats(),
            audit: auditLog.health,
          }),
        },
        { token: resolveAdminToken(config.admin.token_file).token },
      );
      admin.addReadinessCheck('engine', () => engine.running);
      // Dropped or unwritable audit events make the process unready (alerting), not silent.
      admin.addReadinessCheck('audit', () => auditLog.health.ok);
      // A durable consumer above bus.streams.slow_consumer_pending (its messages wait in the stream).
      admin.addReadinessCheck('streams', () => streamMonitor.healthy);
      admin.addReadinessCheck('venues', () => venues.every((v) => orderEntry.gateways[v]!.client.connected));
      admin.addReadinessCheck('accepting_signals', () => !executor.isDraining && !executor.isHalted);
      adminUrl = await admin.listen(config.admin.port, config.admin.host);
      cleanups.push(() => admin.close());
    }
    hooks.onReady?.({ adminUrl });

    // Market data last: everything downstream is listening before the first tick.
    let finished: Promise<void>;
    if (venueData) {
      const vmd = await startVenueMarketData({
        venues,
        symbols: config.session.symbols,
        endpoints: endpointsOf(config),
        refData: refdata,
        sink: ingestion,
        bus,
        namespace: ns,
        clock,
      });
      md = vmd;
      cleanups.push(() => vmd.stop());
      // A venue feed does not end: the operator (SIGINT), max_ticks or a drain ends the session.
      finished = hooks.stop ?? new Promise<void>(() => undefined);
    } else {
      const smd = await startSimulatedMarketData({
        sink: ingestion,
        bus,
        namespace: ns,
        refData: refdata,
        venues,
        pace: config.session.pace,
        speed: config.session.speed,
        clock,
      });
      md = smd;
      cleanups.push(() => smd.stop());
      finished = hooks.stop ? Promise.race([smd.finished(), hooks.stop]) : smd.finished();
    }
    const statusTimer = hooks.onStatus
      ? setInterval(() => {
          const stats = (md ? Object.values(md.adapters) : []).map((a) => a!.stats());
          hooks.onStatus!({
            ticks: ingestion.stats().received,
            signals: ringSignals.delivered,
            orders: executor.counters.sent,
            fills: executor.counters.fills,
            rejects: Object.values(rejects).reduce((a, b) => a + b, 0),
            netPnl: executor.book.all().reduce((a, e) => {
              // In the reporting currency, like the summary; a quote without a rate yet is left out.
              const p = executor.book.toPosition(e, midOf(snapshots, e.venue, e.symbol));
              return a + (p.realizedPnl + p.unrealizedPnl - p.fees) * (valuation.rate(quoteOf(p.symbol)) ?? 0);
            }, 0),
            venues: Object.fromEntries(stats.map((x) => [x.venue, x.connected])),
          });
        }, 1000)
      : undefined;
    cleanups.push(() => clearInterval(statusTimer));
    await untilDone(
      finished,
      () => ingestion.stats().received,
      config.session.max_ticks,
      () => drainRequested,
    );
    ingestion.drain();
    await settle(region, engine, ringSignals, executor, bus);

    const stats = ingestion.stats();
    const book = executor.book.all();
    const positionsOut: PositionLine[] = book.map((e) => {
      const p = executor.book.toPosition(e, midOf(snapshots, e.venue, e.symbol));
      return {
        venue: p.venue,
        symbol: p.symbol,
        quantity: p.quantity,
        avgPrice: p.avgPrice,
        realizedPnl: p.realizedPnl,
        unrealizedPnl: p.unrealizedPnl,
        fees: p.fees,
      };
    });
    // Totals in the reporting currency: a USDT position and a USD one are converted, not added raw.
    const unpriced = new Set<string>();
    const sum = (f: (p: PositionLine) => number) =>
      positionsOut.reduce((a, p) => {
        const rate = valuation.rate(quoteOf(p.symbol));
        if (rate === undefined) unpriced.add(quoteOf(p.symbol));
        return rate === undefined ? a : a + f(p) * rate;
      }, 0);
    const es = engine.stats();
    const summary: SessionSummary = {
      mode: config.session.mode,
      engine: config.strategy.engine,
      ticks: {
        received: stats.received,
        accepted: stats.accepted,
        dropped: Object.values(stats.dropped).reduce((a, b) => a + b, 0),
        perStream,
      },
      signals: ringSignals.delivered,
      orders: {
        sent: executor.counters.sent,
        filled: [...executor.orders.values()].filter((o) => o.filledQty > 0).length,
        rejected: Object.values(rejects).reduce((a, b) => a + b, 0),
        rejectReasons: rejects,
      },
      fills: executor.counters.fills,
      positions: positionsOut,
      reportingCurrency,
      realizedPnl: sum((p) => p.realizedPnl),
      unrealizedPnl: sum((p) => p.unrealizedPnl),
      fees: sum((p) => p.fees),
      // realizedPnl is already net of fees (PositionBook.toPosition): fees are not subtracted twice.
      netPnl: sum((p) => p.realizedPnl + p.unrealizedPnl),
      unpricedQuotes: [...unpriced].sort(),
      accuracy: accuracy.report(),
      engineStats: { ticks: Number(es.ticks), signals: Number(es.signals), missed: Number(es.missed) },
      tickStore: `${tickStore.kind} ${tickStore.location}`,
      digest: digest.hex(),
      signalDigest: kernel.signalDigest.hex(),
      wallMs: monotonicMs() - started,
      ...(drainOutcome ? { drain: drainOutcome } : {}),
    };
    stopMeta = {
      outcome: 'completed',
      signals: String(summary.signals),
      orders_sent: String(summary.orders.sent),
      fills: String(summary.fills),
      rejects: String(summary.orders.rejected),
    };
    return summary;
  } finally {
    await cleanup();
  }
}

function midOf(s: SnapshotStore, venue: string, symbol: string): number | undefined {
  const q = s.get(venue, symbol);
  return q ? (q.bid + q.ask) / 2 : undefined;
}

/** Resolves when the recordings are replayed, earlier once `maxTicks` ticks arrived, or once a drain completed. */
async function untilDone(
  finished: Promise<void>,
  received: () => number,
  maxTicks: number,
  drained: () => Promise<void> | undefined,
): Promise<void> {
  let drainSeen = false;
  let t: NodeJS.Timeout | undefined;
  await Promise.race([
    finished,
    new Promise<void>((resolve) => {
      t = setInterval(() => {
        const d = drained();
        if (d && !drainSeen) {
          drainSeen = true;
          void d.then(() => {
            clearInterval(t);
            resolve();
          });
        }
        if (maxTicks > 0 && received() >= maxTicks) {
          clearInterval(t);
          resolve();
        }
      }, 5);
    }),
  ]);
  clearInterval(t);
}

/** Wait until the engine consumed every ring, signals are drained and no order is in flight. */
async function settle(region: TickRegion, engine: NativeEngine, signals: RingSignalSource, executor: Executor, bus: Bus): Promise<void> {
  // A real-time wait counted in timer ticks, not clock reads.
  for (let waitedMs = 0; ; waitedMs += 10) {
    const c = region.counters();
    const consumed = c.ticks.every((r) => r.occupancy === 0);
    signals.drain();
    await bus.flush();
    const inflight = [...executor.orders.values()].some((o) => !isTerminal(o.state));
    if ((consumed && !inflight) || !engine.running || waitedMs > 10_000) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}
