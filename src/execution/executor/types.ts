/**
 * The executor's public types, config and errors (re-exported by src/execution/executor.ts, which
 * other modules keep importing from).
 */
import type { CancelRequest, OrderAck, RejectReason, Side, TimeInForce, VenueSpec } from '../../contracts/index.js';
import type { Namespace } from '../../contracts/subjects.js';
import { KestrelError } from '../../contracts/errors.js';
import type { Bus } from '../../bus/bus.js';
import type { BreakerConfig } from '../../circuit/breaker.js';
import type { Logger } from '../../observability/logger.js';
import type { Clock } from '../../clock/clock.js';
import type { Scheduler } from '../../clock/scheduler.js';
import type { FillDelta, OrderRecord } from '../order.js';
import type { OrderRateLimits } from '../rate-limit.js';
import type { ExecSignal, MarketSnapshotSource } from '../types.js';

/** Why trading halted: an operator kill, a kill from the risk side, or a WAL that cannot be written. */
export type HaltCause = 'operator' | 'risk' | 'wal';

export function isHaltCause(v: string): v is HaltCause {
  return v === 'operator' || v === 'risk' || v === 'wal';
}

/** A resume/clear that cannot release the halt; `haltCause` names the cause that holds. */
export class HaltClearError extends KestrelError {
  override readonly name = 'HaltClearError';
  constructor(
    message: string,
    readonly haltCause: HaltCause,
  ) {
    super('HALT_NOT_CLEARED', message);
  }
}

/** What the executor needs from a venue's private channel for reconciliation (VenueOrderClient fits). */
export interface VenueReconClient {
  openOrders(): Promise<OrderAck[]>;
  /**
   * The venue's record of one order, open or closed; undefined only when the venue never had it.
   * `symbol` is a hint for venues whose status query needs it (Binance, OKX).
   */
  orderStatus(clientId: string, symbol?: string): Promise<OrderAck | undefined>;
  cancel(req: CancelRequest): Promise<OrderAck>;
  balances(): Promise<Record<string, number>>;
}

export interface ConcurrencyConfig {
  globalMaxInflight: number;
  perVenueMaxInflight: Record<string, number>;
  perSymbolMaxInflight: number;
}

export interface ExecutorConfig {
  /** shadow: every order carries shadow=true (paper fills at the simulated venue). */
  mode: 'live' | 'shadow';
  walDir: string;
  walRotationBytes?: number;
  /** fdatasync WAL commits (default true); false only for backtests (see SegmentLogOptions.sync). */
  walSync?: boolean;
  /**
   * Where an order's send waits for its intent's fdatasync (SegmentLogOptions.durableCommit):
   * 'pool' (the SegmentLog default) on the libuv pool with the event loop free; 'inline' on the
   * event loop, also for runs on a virtual clock whose sends must stay in the turn that made them.
   * Sessions and `run executor` pass config execution.wal_commit (default 'inline').
   */
  walDurableCommit?: 'pool' | 'inline';
  walRetentionMs?: number;
  clientIdPrefix?: string;
  /**
   * 4 lowercase base36 characters carried in every client id (recovery touches only orders that
   * carry it). Default: created at the first start and kept in walDir/instance-id.
   */
  instanceId?: string;
  nonceBlock?: number;
  minConfidence?: number;
  /** Used when a signal carries ttl_ms = 0. */
  defaultTtlMs?: number;
  /**
   * Bound on the wall-clock offset between a signal's emitter and this process (docs/PERFORMANCE.md
   * "Clock skew"). TTL is measured across two clocks, so it is judged against this bound on the safe
   * side: expired once the measured age exceeds ttl − maxClockSkewMs, and a signal stamped more than
   * maxClockSkewMs in the future is refused. Default 1; must stay below defaultTtlMs.
   */
  maxClockSkewMs?: number;
  staleSnapshotMs?: number;
  /** Used when a signal carries max_slippage_bps = 0. */
  defaultSlippageBps?: number;
  /** Slippage allowance of flatten and unwind orders. */
  flattenSlippageBps?: number;
  riskStalenessMs?: number;
  riskBoundaryPct?: number;
  /**
   * How long a boundary-case order waits for the risk gateway's risk.check answer before it is
   * refused (RISK_TIMEOUT); config risk.check_timeout_ms. Default timeouts.riskCheckMs (10).
   */
  riskCheckTimeoutMs?: number;
  concurrency?: Partial<ConcurrencyConfig>;
  /** Bounded queue per priority lane (HIGH, NORMAL, LOW); overflow is refused, counted. */
  laneCapacity?: number;
  tif?: TimeInForce;
  /** Venues allowed for routing (default: every venue in the specs). */
  enabledVenues?: string[];
  /** How long an in-doubt order waits for a venue answer before the venue is asked. */
  inDoubtCheckMs?: number;
  /** Before recovery asks venues about unacknowledged intents, let in-flight requests land. */
  recoveryGraceMs?: number;
  circuit?: BreakerConfig;
  /** Bus namespace of every subject the executor uses (SPEC "Replay Isolation"); no default. */
  namespace: Namespace;
  /** Cancel every open order when the kill switch fires. Default true. */
  cancelOnKill?: boolean;
  /** At start, wait up to this long for the first risk.limits before taking signals. Default 2000. */
  awaitRiskLimitsMs?: number;
  /** Finished orders (and executed trace ids) kept in memory for dedupe and queries. Default 100000. */
  maxRetainedOrders?: number;
  /** Local order-rate limits (SPEC risk.rate_limits); flatten and unwind orders are exempt. */
  rateLimits?: OrderRateLimits;
}

export const DEFAULT_CONCURRENCY: ConcurrencyConfig = {
  globalMaxInflight: 256,
  perVenueMaxInflight: { kraken: 64, binance: 128, default: 32 },
  perSymbolMaxInflight: 8,
};

export interface ExecutorDeps {
  bus: Bus;
  /** Every time read (TTL, staleness, rate limits, breakers, nonces, WAL stamps): system or virtual. */
  clock: Clock;
  /** Timers (in-doubt checks, lazy WAL commits) on the same time base as `clock`. Default: systemScheduler. */
  scheduler?: Scheduler;
  venues: readonly VenueSpec[];
  market: MarketSnapshotSource;
  /** Private-channel clients per venue for recovery, in-doubt resolution, orphan cancel, balances. */
  recon?: Readonly<Record<string, VenueReconClient>>;
  logger?: Logger;
}

export interface RejectEvent {
  signal: ExecSignal | undefined;
  venue: string;
  reason: RejectReason;
  detail: string;
  /** The order refused, when one was created (a venue reject, or not sent); '' for a refused signal. */
  clientId: string;
}

/** Order lifecycle steps not covered by onSend/onReject (the audit trail listens to these). */
export type LifecycleEvent =
  | { kind: 'intent'; o: OrderRecord }
  | { kind: 'ack'; o: OrderRecord; ack: OrderAck; fill: FillDelta }
  | { kind: 'cancel'; o: OrderRecord; reason: string }
  | {
      kind: 'risk';
      venue: string;
      symbol: string;
      side: Side;
      traceId: string;
      size: number;
      price: number;
      decision: RiskDecisionName;
      detail: string;
    };

export type RiskDecisionName = 'approved' | 'rejected' | 'boundary' | 'gateway_approved' | 'gateway_rejected';

export interface RecoveryReport {
  replayedOrders: number;
  inDoubt: number;
  adopted: number;
  failed: number;
  unresolved: number;
  orphansCancelled: number;
  truncatedBytes: number;
}

/** A basket in flight (internal to the executor). */
export interface GroupState {
  id: string;
  policy: 'BEST_EFFORT' | 'ATOMIC' | 'PERCENTAGE';
  minPct: number;
  legs: OrderRecord[];
  plannedSize: number;
  /** Σ leg weights (weighted completion); 0 when no leg carries a weight. */
  plannedWeight: number;
  weights: Map<OrderRecord, number>;
  failedLegs: number;
  cancelling: boolean;
  settled: boolean;
  resolve: (r: GroupResult) => void;
}

export interface GroupLegInput {
  venue: string;
  symbol: string;
  side: Side;
  size: number;
  limitPrice: number;
  /** Share of the basket this leg stands for: completion is then weight-averaged. */
  weight?: number;
}

export interface GroupResult {
  orderGroupId: string;
  outcome: 'COMPLETE' | 'ACCEPTED_PARTIAL' | 'UNWOUND';
  completionPct: number;
  legs: Array<{ clientId: string; venue: string; symbol: string; side: Side; state: string; filled: number; size: number; weight: number }>;
  unwindClientIds: string[];
}

/** One priority lane of queued signals (internal to the executor). */
export type Lane = ExecSignal[];

/** What a running executor can change between two signals (hot reload, src/config/live.ts). */
export interface ExecutorLiveSettings {
  minConfidence: number;
  tif: TimeInForce.IOC | TimeInForce.GTC;
  laneCapacity: number;
  concurrency: ConcurrencyConfig;
}

export class ExecutorConfigError extends KestrelError {
  override readonly name = 'ExecutorConfigError';
  constructor(message: string, options?: ErrorOptions) {
    super('EXECUTOR_CONFIG_INVALID', message, options);
  }
}
