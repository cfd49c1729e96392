/**
 * The trading kernel: the event-driven core shared by `kestrel start` (trading-session.ts) and
 * `kestrel backtest` (replay/backtest.ts), so a backtest runs the system instead of imitating it:
 *
 *   market data event → snapshots + venue books (+ risk marks) ─┐
 *   engine signal → Executor.onSignal (TTL, guards, SOR, local risk guard / risk.check, nonces,
 *   WAL) → ord.req.{venue} → OrderGateway → VenueOrderClient → fills → ord.ack.{venue} → Executor
 *   → positions (PositionService → pos.current/pos.pnl) → StaticRiskGateway (limits, VaR, drawdown,
 *   stops) → risk.limits → Executor.
 *
 * What differs between the two is injected: the bus (in-process or NATS), the clock and scheduler
 * (wall time, or the event clock a backtest advances), and the venues (simulated private venues over
 * sockets, or in-process MatchingVenueClients). Everything in between is the same code.
 */
import { executorSettingsOf, riskLimitsOf } from '../config/live.js';
import type { Bus } from '../bus/bus.js';
import type { DurableStreams } from '../bus/streams.js';
import type { Clock } from '../clock/clock.js';
import type { Scheduler } from '../clock/scheduler.js';
import type { Config } from '../config/schema.js';
import { rejectName, type Namespace, type VenueSpec } from '../contracts/index.js';
import { TickFlag, type NormalizedTick } from '../contracts/market.js';
import { Executor, type ExecutorConfig, type RecoveryReport, type VenueReconClient } from '../execution/executor.js';
import { SnapshotStore, type ExecSignal, type SignalSource } from '../execution/types.js';
import type { Logger } from '../observability/logger.js';
import { PositionService, valuationFromSnapshots } from '../positions/service.js';
import type { Valuation } from '../positions/book.js';
import { StaticRiskGateway } from '../risk/static-gateway.js';
import type { Level } from '../simulators/matching/engine.js';
import { addSignal, attachExecutionDigest, DecisionDigest, ExecutionDigest, StreamDigest } from './digest.js';

/** Where the kernel's market data goes besides the executor's snapshots: the venues' matching books. */
export interface KernelVenueBooks {
  /** `bids`/`asks` are the kernel's scratch arrays, valid during the call only: copy what is kept. */
  feedBook(venue: string, symbol: string, bids: readonly Level[], asks: readonly Level[]): void;
  feedTrade(venue: string, symbol: string, price: number, qty: number, aggressor: 'buy' | 'sell'): void;
}

export interface KernelOptions {
  config: Config;
  bus: Bus;
  /** Durable streams (NATS session): risk breaches go to stream `risk` with their decision id. */
  streams?: DurableStreams;
  /** Every time read of every component: the system clock, or the event clock of a backtest. */
  clock: Clock;
  /** Every timer of every component, on the same time base as `clock`. */
  scheduler: Scheduler;
  /** Reference data of the venues orders may be routed to. */
  specs: readonly VenueSpec[];
  books: KernelVenueBooks;
  /** Private clients per venue (the executor's recovery and in-doubt resolution). */
  recon: Readonly<Record<string, VenueReconClient>>;
  walDir: string;
  /** fdatasync WAL commits (default true; a backtest may turn it off). */
  walSync?: boolean;
  /** Where sends wait for their intent's fdatasync (ExecutorConfig.walDurableCommit; default execution.wal_commit). */
  walDurableCommit?: 'pool' | 'inline';
  /**
   * Wall-time bound of one risk.check (default risk.check_timeout_ms). A backtest passes its own: the
   * gateway's latency is not simulated on event time, so a timeout there would only measure the load
   * of the machine running it.
   */
  riskCheckTimeoutMs?: number;
  /**
   * 'bus': the risk gateway takes VaR marks from md.norm.* (live: ingestion publishes them);
   * 'direct': `onTick` feeds them (backtest: no tick round trip through the bus).
   */
  marks: 'bus' | 'direct';
  /** Currency of the positions' totals (pos.pnl): quotes converted at the kernel's snapshot mids. */
  reportingCurrency?: string;
  logger?: Logger;
}

/** SPEC execution.*, circuit_breakers.*, risk.rate_limits → the executor's config. */
export function executorConfigOf(config: Config, walDir: string, walSync = true): ExecutorConfig {
  return {
    // The simulated venues are the venues of a paper session: orders take the live path to them.
    mode: 'live',
    walDir,
    ...(walSync ? {} : { walSync: false }),
    // minConfidence, tif (execution.use_ioc), laneCapacity (queue_sizes.signals), concurrency: the settings
    // a running executor can also change (src/config/live.ts), derived in one place.
    ...executorSettingsOf(config),
    defaultSlippageBps: config.execution.max_slippage_bps,
    walRotationBytes: config.execution.wal_rotation_bytes,
    walDurableCommit: config.execution.wal_commit,
    clientIdPrefix: config.execution.client_id_prefix,
    nonceBlock: config.execution.nonce_block,
    staleSnapshotMs: config.execution.stale_snapshot_ms,
    riskCheckTimeoutMs: config.risk.check_timeout_ms,
    maxClockSkewMs: config.execution.max_clock_skew_ms,
    circuit: {
      default: breakerOf(config.circuit_breakers.default),
      perVenue: Object.fromEntries(
        Object.entries(config.circuit_breakers.per_venue).map(([v, b]) => [v, breakerOf({ ...config.circuit_breakers.default, ...b })]),
      ),
    },
    namespace: config.bus.namespace as Namespace,
    rateLimits: { ordersPerSecond: config.risk.rate_limits.orders_per_second, perVenue: config.risk.rate_limits.per_venue },
  };
}

function breakerOf(b: { error_threshold: number; timeout_seconds: number; half_open_requests: number }) {
  return { errorThreshold: b.error_threshold, timeoutMs: b.timeout_seconds * 1000, halfOpenRequests: b.half_open_requests };
}

export class TradingKernel {
  /** Top of book per (venue, symbol): the executor's routing and guards read it. */
  readonly snapshots = new SnapshotStore();
  /** Every signal, refusal and fill, in order: one SHA-256 for the run. */
  readonly digest = new DecisionDigest();
  /** The engine's signals alone, per (venue, symbol) stream: what a capture of the same ring input reproduces. */
  readonly signalDigest = new StreamDigest();
  /** The executor's decision per signal, comparable with a distributed deployment's (`kestrel run executor`). */
  readonly executionDigest = new ExecutionDigest();
  /** Refusals by reason name (executor guards, risk gateway, venues). */
  readonly rejects: Record<string, number> = {};
  readonly risk: StaticRiskGateway;
  readonly executor: Executor;
  readonly positions: PositionService;
  /** Totals in the reporting currency (undefined without one). */
  readonly valuation: Valuation | undefined;
  private readonly opts: KernelOptions;
  private started = false;
  private readonly bidLevel: [number, number] = [0, 0];
  private readonly askLevel: [number, number] = [0, 0];
  private readonly bidLevels: readonly Level[] = [this.bidLevel];
  private readonly askLevels: readonly Level[] = [this.askLevel];

  constructor(opts: KernelOptions) {
    this.opts = opts;
    const { config, bus, clock, scheduler } = opts;
    const ns = config.bus.namespace as Namespace;
    this.risk = new StaticRiskGateway(bus, riskLimitsOf(config), ns, {
      clock,
      scheduler,
      marksFromBus: opts.marks === 'bus',
      ...(opts.streams ? { streams: opts.streams } : {}),
    });
    this.executor = new Executor(
      {
        bus,
        clock,
        scheduler,
        venues: opts.specs,
        market: this.snapshots,
        recon: opts.recon,
        ...(opts.logger ? { logger: opts.logger } : {}),
      },
      {
        ...executorConfigOf(config, opts.walDir, opts.walSync ?? true),
        ...(opts.riskCheckTimeoutMs !== undefined ? { riskCheckTimeoutMs: opts.riskCheckTimeoutMs } : {}),
        ...(opts.walDurableCommit ? { walDurableCommit: opts.walDurableCommit } : {}),
      },
    );
    attachExecutionDigest(this.executionDigest, this.executor, rejectName);
    this.executor.onReject((e) => {
      const name = rejectName(e.reason);
      this.rejects[name] = (this.rejects[name] ?? 0) + 1;
      this.digest.add('reject', e.venue, e.signal?.symbol ?? '', name);
    });
    this.executor.onFill((o, d) => {
      this.digest.add('fill', o.venue, o.symbol, o.side, d.qty, d.price);
      this.positions.markDirty();
    });
    this.valuation = opts.reportingCurrency ? valuationFromSnapshots(this.snapshots, opts.reportingCurrency) : undefined;
    this.positions = new PositionService(bus, {
      clock,
      scheduler,
      book: this.executor.book,
      namespace: ns,
      ...(this.valuation ? { valuation: this.valuation } : {}),
      mark: (venue, symbol) => {
        const s = this.snapshots.get(venue, symbol);
        return s ? (s.bid + s.ask) / 2 : undefined;
      },
    });
  }

  /**
   * The executor subscribes first (synchronously inside start), then the risk gateway starts and
   * publishes its first risk.limits, which the executor is waiting for; then positions. Started the
   * other way round, that first publication reaches nobody and the executor waits for the next one:
   * 250 ms live, and in a backtest (whose scheduler does not move while it waits) its whole 2 s limit.
   */
  async start(signals?: SignalSource): Promise<RecoveryReport> {
    if (this.started) throw new Error('kernel already started');
    this.started = true;
    const starting = this.executor.start(signals);
    this.risk.start();
    const recovery = await starting;
    this.positions.start();
    return recovery;
  }

  /** Executor first (no order after its venue is gone), then positions and risk. */
  async stop(): Promise<void> {
    await this.executor.close();
    this.positions.stop();
    this.risk.stop();
  }

  /**
   * One market data event: the executor's snapshot (stamped by the kernel clock), the venue's matching
   * book, and with `marks: 'direct'` the risk gateway's VaR mark at the tick's receive time.
   */
  onTick(t: NormalizedTick): void {
    if ((t.flags & TickFlag.TRADE) !== 0) this.onTrade(t.venue, t.symbol, t.lastPx, t.lastQty, t.aggressor);
    else this.onQuote(t.venue, t.symbol, t.bid, t.ask, t.bidSize, t.askSize, t.recvTsNs > 0n ? t.recvTsNs : t.exchTsNs);
  }

  /**
   * `onTick` of a top-of-book tick, by its fields: what a columnar feed (the backtest over `.kcap`)
   * calls without building a tick object. `markTsNs` is the tick's receive time (exchange time when
   * it has none): the time of the risk gateway's VaR mark.
   */
  onQuote(venue: string, symbol: string, bid: number, ask: number, bidSize: number, askSize: number, markTsNs: bigint): void {
    this.snapshots.update(venue, symbol, bid, ask, bidSize, askSize, this.opts.clock.nowNs());
    // One top-of-book level per side, in arrays reused for every tick (the books copy them).
    this.bidLevel[0] = bid;
    this.bidLevel[1] = bidSize;
    this.askLevel[0] = ask;
    this.askLevel[1] = askSize;
    this.opts.books.feedBook(venue, symbol, this.bidLevels, this.askLevels);
    if (this.opts.marks === 'direct' && bid > 0 && ask > 0) this.risk.onMark(symbol, (bid + ask) / 2, markTsNs);
  }

  /** `onTick` of a trade tick, by its fields (see onQuote). */
  onTrade(venue: string, symbol: string, price: number, qty: number, aggressor: number): void {
    this.opts.books.feedTrade(venue, symbol, price, qty, aggressor > 0 ? 'buy' : 'sell');
  }

  /** A signal of the (venue, symbol) stream `venue`, for the executor: recorded, then executed. */
  onSignal(venue: string, s: ExecSignal): void {
    this.digest.add('signal', venue, s.symbol, s.side, s.size, s.confidence, s.sourceSequence);
    addSignal(this.signalDigest, venue, s);
    this.executor.onSignal(s);
  }

  /** No order in flight or waiting on risk.check, nothing queued in the executor's lanes. */
  get quiet(): boolean {
    return this.executor.inflightCount === 0 && this.executor.queuedCount === 0;
  }
}
