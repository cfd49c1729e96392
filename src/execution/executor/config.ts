/**
 * The executor's configuration with its defaults applied, and the checks of the settings a running
 * executor can change (hot reload, src/config/live.ts): every check before anything changes.
 */
import { TimeInForce, timeouts } from '../../contracts/index.js';
import {
  DEFAULT_CONCURRENCY,
  ExecutorConfigError,
  type ConcurrencyConfig,
  type ExecutorConfig,
  type ExecutorLiveSettings,
} from './types.js';

export type ResolvedExecutorConfig = Required<
  Omit<
    ExecutorConfig,
    | 'concurrency'
    | 'circuit'
    | 'enabledVenues'
    | 'walRotationBytes'
    | 'walRetentionMs'
    | 'walSync'
    | 'walDurableCommit'
    | 'rateLimits'
    | 'instanceId'
  >
> & {
  concurrency: ConcurrencyConfig;
};

/** Defaults for every unset field; throws ExecutorConfigError on a clock-skew bound the TTL cannot hold. */
export function resolveExecutorConfig(config: ExecutorConfig): ResolvedExecutorConfig {
  const concurrency: ConcurrencyConfig = {
    ...DEFAULT_CONCURRENCY,
    ...(config.concurrency ?? {}),
    perVenueMaxInflight: { ...DEFAULT_CONCURRENCY.perVenueMaxInflight, ...(config.concurrency?.perVenueMaxInflight ?? {}) },
  };
  const cfg: ResolvedExecutorConfig = {
    mode: config.mode,
    walDir: config.walDir,
    clientIdPrefix: config.clientIdPrefix ?? 'KS',
    nonceBlock: config.nonceBlock ?? 1000,
    minConfidence: config.minConfidence ?? 0.5,
    defaultTtlMs: config.defaultTtlMs ?? 50,
    maxClockSkewMs: config.maxClockSkewMs ?? 1,
    staleSnapshotMs: config.staleSnapshotMs ?? 2000,
    defaultSlippageBps: config.defaultSlippageBps ?? 10,
    flattenSlippageBps: config.flattenSlippageBps ?? 100,
    riskStalenessMs: config.riskStalenessMs ?? 1000,
    riskBoundaryPct: config.riskBoundaryPct ?? 0.9,
    riskCheckTimeoutMs: config.riskCheckTimeoutMs ?? timeouts.riskCheckMs,
    concurrency,
    laneCapacity: config.laneCapacity ?? 5000,
    tif: config.tif ?? TimeInForce.IOC,
    inDoubtCheckMs: config.inDoubtCheckMs ?? 500,
    recoveryGraceMs: config.recoveryGraceMs ?? 100,
    namespace: config.namespace,
    cancelOnKill: config.cancelOnKill ?? true,
    awaitRiskLimitsMs: config.awaitRiskLimitsMs ?? 2000,
    maxRetainedOrders: config.maxRetainedOrders ?? 100_000,
  };
  const skewMs = cfg.maxClockSkewMs;
  // A bound as large as the TTL would expire every signal on arrival (or, read the other way, let any age through).
  if (!(Number.isFinite(skewMs) && skewMs >= 0 && skewMs < cfg.defaultTtlMs)) {
    throw new ExecutorConfigError(`maxClockSkewMs must be in [0, defaultTtlMs = ${cfg.defaultTtlMs}), got ${skewMs}`);
  }
  return cfg;
}

/** Throws ExecutorConfigError naming the first setting out of range. */
export function checkLiveSettings(s: ExecutorLiveSettings): void {
  const posInt = (v: number) => Number.isInteger(v) && v > 0;
  if (!(s.minConfidence >= 0 && s.minConfidence <= 1))
    throw new ExecutorConfigError(`minConfidence must be in [0, 1], got ${s.minConfidence}`);
  if (s.tif !== TimeInForce.IOC && s.tif !== TimeInForce.GTC) throw new ExecutorConfigError(`tif must be IOC or GTC, got ${String(s.tif)}`);
  if (!posInt(s.laneCapacity)) throw new ExecutorConfigError(`laneCapacity must be a positive integer, got ${s.laneCapacity}`);
  const c = s.concurrency;
  for (const [k, v] of [
    ['globalMaxInflight', c.globalMaxInflight],
    ['perSymbolMaxInflight', c.perSymbolMaxInflight],
    ...Object.entries(c.perVenueMaxInflight),
  ] as Array<[string, number]>) {
    if (!posInt(v)) throw new ExecutorConfigError(`concurrency ${k} must be a positive integer, got ${v}`);
  }
}
