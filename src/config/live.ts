/**
 * Hot reload of a running system (issue 13 item 4). A change arrives as `kestrel config set
 * KEY=VALUE` (request on config.set) or as an edit of the watched config file. Each change is
 *   1. limited to the keys a running process can take (LIVE_KEYS); any other key is refused with
 *      ConfigNotLiveError (code PARAM_NOT_LIVE) before anything changes;
 *   2. validated as a whole config (zod schema) under the next version (patch + 1, or the file's own
 *      version when newer);
 *   3. applied to every target in order (risk gateway, executor, engine thread): if one throws, the
 *      targets already changed get the previous config back (rollback) and ConfigApplyError is thrown;
 *   4. committed to the ConfigService (config.reload and config.{section} announcements) and audited
 *      as `config_change` (old and new version, the leaf diff; also for refusals and rollbacks).
 */
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { AuditLog } from '../audit/audit-log.js';
import { AuditEventType, configDiff } from '../audit/order-audit.js';
import { packRaw } from '../audit/audit-log.js';
import type { Bus, Subscription } from '../bus/bus.js';
import type { Clock } from '../clock/clock.js';
import { subjects, type Namespace } from '../contracts/subjects.js';
import { TimeInForce } from '../contracts/index.js';
import type { ExecutorLiveSettings } from '../execution/executor.js';
import type { StaticLimitsConfig } from '../risk/static-gateway.js';
import { createLogger, setLogLevel, type Logger } from '../observability/logger.js';
import { ConfigError, mergeConfig, validateConfig } from './load.js';
import { KestrelError } from '../contracts/errors.js';
import type { Config } from './schema.js';
import { ConfigService, compareVersions } from './service.js';

/**
 * Keys (dotted; a prefix covers its subtree) a running session applies without a restart. Everything
 * else (venues, symbols, bus, storage, rings, WAL, engine kind, ...) is fixed for the process's life.
 */
export const LIVE_KEYS: readonly string[] = [
  'strategy.confidence_threshold',
  'strategy.kelly_fraction',
  'strategy.max_position',
  'strategy.capital',
  'execution.max_slippage_bps',
  'execution.use_ioc',
  'execution.concurrency',
  'flow_control.queue_sizes.signals',
  'risk.max_position_pct',
  'risk.max_correlation',
  'risk.stop_loss_pct',
  'risk.max_order_notional',
  'risk.position_limits',
  'risk.var_limits.confidence',
  'risk.var_limits.max_var',
  'risk.drawdown',
  'logging.level',
];

export function isLiveKey(key: string): boolean {
  return LIVE_KEYS.some((k) => key === k || key.startsWith(`${k}.`));
}

/** A key that cannot change while the process runs; code PARAM_NOT_LIVE, the message is what `config set` prints. */
export class ConfigNotLiveError extends KestrelError {
  override readonly name = 'ConfigNotLiveError';
  constructor(readonly key: string) {
    super('PARAM_NOT_LIVE', `${key} cannot change while running (restart with --set ${key}=VALUE)`);
  }
}

function codeOf(cause: unknown): string {
  const c = (cause as { code?: unknown } | undefined)?.code;
  return typeof c === 'string' ? c : 'APPLY_FAILED';
}

/** A target failed to apply a validated change; every target is back on the previous version. Code: the target's. */
export class ConfigApplyError extends KestrelError {
  override readonly name = 'ConfigApplyError';
  constructor(
    readonly target: string,
    cause: unknown,
    readonly rolledBackTo: string,
  ) {
    super(
      codeOf(cause),
      `${target} refused the change (${cause instanceof Error ? cause.message : String(cause)}); rolled back to ${rolledBackTo}`,
      { cause },
    );
  }
}

/** One running component that takes config changes. apply() throws to refuse (then rollback). */
export interface LiveTarget {
  readonly name: string;
  apply(next: Config, prev: Config): void;
}

export interface ConfigSetResult {
  version: string;
  previousVersion: string;
  diff: Record<string, { from: unknown; to: unknown }>;
}

/** Wire format of config.set: request {set: {"a.b": value}, operator?}; reply ConfigSetReply. */
export interface ConfigSetRequest {
  set: Record<string, unknown>;
  operator?: string;
}
export type ConfigSetReply = ({ ok: true } & ConfigSetResult) | { ok: false; code: string; error: string; key?: string };

type Tree = Record<string, unknown>;

function bumpPatch(v: string): string {
  const [a, b, c] = v.split('.').map(Number);
  return `${a ?? 0}.${b ?? 0}.${(c ?? 0) + 1}`;
}

/** `{"a.b": 1}` → `{a: {b: 1}}`. */
export function expandDotted(set: Record<string, unknown>): Tree {
  let out: Tree = {};
  for (const [key, value] of Object.entries(set)) {
    const parts = key.split('.');
    if (parts.some((p) => p.length === 0)) throw new ConfigError(`config error: bad key '${key}'`, key);
    let patch: unknown = value;
    for (let i = parts.length - 1; i >= 0; i--) patch = { [parts[i]!]: patch };
    out = mergeConfig(out, patch as Tree);
  }
  return out;
}

export interface LiveConfigOptions {
  clock: Clock;
  bus?: Bus;
  namespace: Namespace;
  targets: LiveTarget[];
  audit?: AuditLog;
  logger?: Logger;
}

export class LiveConfig {
  readonly service: ConfigService;
  private readonly log: Logger;
  private sub: Subscription | undefined;
  private watched: string | undefined;
  /** Serializes changes: one apply (and its rollback) at a time. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    initial: Config,
    private readonly opts: LiveConfigOptions,
  ) {
    this.service = new ConfigService(initial, opts.clock, opts.bus);
    this.log = opts.logger ?? createLogger('config');
  }

  get config(): Config {
    return this.service.config;
  }

  get version(): string {
    return this.service.config.version;
  }

  /** `config set`: dotted keys over the running config. */
  set(assignments: Record<string, unknown>, operator = ''): Promise<ConfigSetResult> {
    return this.serial(() => {
      const candidate = mergeConfig(this.config as unknown as Tree, expandDotted(assignments));
      return this.change(candidate, 'set', operator);
    });
  }

  /** A whole config (the watched file, loaded with its defaults): only what differs is applied. */
  replace(candidate: unknown, source = 'file'): Promise<ConfigSetResult> {
    return this.serial(() => {
      if (typeof candidate !== 'object' || candidate === null) throw new ConfigError('config error: update must be a mapping');
      return this.change(candidate as Tree, source, '');
    });
  }

  private serial<T>(fn: () => T): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private change(candidate: Tree, source: string, operator: string): ConfigSetResult {
    const prev = this.config;
    const proposed = typeof candidate.version === 'string' ? candidate.version : prev.version;
    const version = compareVersions(proposed, prev.version) > 0 ? proposed : bumpPatch(prev.version);
    let next: Config;
    try {
      next = validateConfig({ ...candidate, version });
    } catch (err) {
      this.audit({
        from_version: prev.version,
        to_version: version,
        source,
        operator,
        kind: 'refused',
        reason: 'INVALID',
        detail: (err as Error).message,
      });
      throw err;
    }
    const diff = configDiff({ ...prev, version: '' }, { ...next, version: '' });
    const keys = Object.keys(diff);
    if (keys.length === 0) return { version: prev.version, previousVersion: prev.version, diff };
    const meta = { from_version: prev.version, to_version: version, source, operator, diff: JSON.stringify(diff) };
    const frozen = keys.find((k) => !isLiveKey(k));
    if (frozen !== undefined) {
      this.audit({ ...meta, kind: 'refused', reason: 'PARAM_NOT_LIVE', key: frozen });
      throw new ConfigNotLiveError(frozen);
    }
    const applied: LiveTarget[] = [];
    for (const t of this.opts.targets) {
      try {
        t.apply(next, prev);
        applied.push(t);
      } catch (err) {
        for (const a of applied.reverse()) {
          try {
            a.apply(prev, next);
          } catch (undo) {
            this.log.error({ target: a.name, err: String(undo) }, 'rollback of a config target failed');
          }
        }
        this.audit({ ...meta, kind: 'rollback', failed_target: t.name, reason: err instanceof Error ? err.message : String(err) });
        throw new ConfigApplyError(t.name, err, prev.version);
      }
    }
    this.service.apply(next);
    this.audit({ ...meta, kind: 'apply' });
    this.log.info({ from: prev.version, to: version, source, diff }, 'config applied');
    return { version, previousVersion: prev.version, diff };
  }

  private audit(meta: Record<string, string>): void {
    this.opts.audit?.record(AuditEventType.configChange, '', packRaw('google.protobuf.Empty', new Uint8Array()), meta);
  }

  /** Answer `config set` requests on config.set (JSON, see ConfigSetRequest / ConfigSetReply). */
  listen(): void {
    const bus = this.opts.bus;
    if (!bus || this.sub) return;
    const enc = new TextEncoder();
    this.sub = bus.subscribe(subjects.configSet(this.opts.namespace), (m) => {
      const reply = (r: ConfigSetReply) => {
        if (m.reply) m.respond(enc.encode(JSON.stringify(r)));
      };
      let req: ConfigSetRequest;
      try {
        req = JSON.parse(new TextDecoder().decode(m.data)) as ConfigSetRequest;
        if (typeof req !== 'object' || req === null || typeof req.set !== 'object' || req.set === null)
          throw new Error('expected {"set": {...}}');
      } catch (err) {
        reply({ ok: false, code: 'BAD_REQUEST', error: `config.set: ${(err as Error).message}` });
        return;
      }
      this.set(req.set, req.operator ?? '').then(
        (r) => reply({ ok: true, ...r }),
        (err: unknown) => reply(errorReply(err)),
      );
    });
  }

  /**
   * Follow a config file: on every change `load()` (defaults + file + environment, as at start) is
   * applied through replace(). A refused or invalid edit is logged and audited; the running config stays.
   */
  watchFile(file: string, load: () => unknown, intervalMs = 500): void {
    this.watched = file;
    // watchFile calls back only when the file's stat changed (mtime, size, ...): a rewrite within the
    // file system's timestamp granularity still counts by its size or ctime. A deleted file is ignored.
    watchFile(file, { interval: intervalMs, persistent: false }, (curr) => {
      if (curr.nlink === 0 && curr.mtimeMs === 0) return;
      let candidate: unknown;
      try {
        readFileSync(file);
        candidate = load();
      } catch (err) {
        this.log.warn({ file, err: (err as Error).message }, 'config file change not applied');
        return;
      }
      this.replace(candidate, 'file').then(
        (r) => this.log.info({ file, version: r.version }, 'config file applied'),
        (err: unknown) => this.log.warn({ file, err: (err as Error).message }, 'config file change refused'),
      );
    });
  }

  close(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
    if (this.watched) unwatchFile(this.watched);
    this.watched = undefined;
  }
}

export function errorReply(err: unknown): ConfigSetReply {
  if (err instanceof ConfigNotLiveError) return { ok: false, code: err.code, error: err.message, key: err.key };
  if (err instanceof ConfigApplyError) return { ok: false, code: err.code, error: err.message };
  if (err instanceof ConfigError) return { ok: false, code: 'INVALID', error: err.message, ...(err.key ? { key: err.key } : {}) };
  return { ok: false, code: 'FAILED', error: err instanceof Error ? err.message : String(err) };
}

// ------------------------------------------------------------------ mappings config → components

/** The risk gateway's limits from config (start and every reload). */
export function riskLimitsOf(config: Config): StaticLimitsConfig {
  return {
    perSymbolNotional: config.risk.position_limits.per_symbol,
    portfolioNotional: config.risk.position_limits.portfolio,
    maxOrderNotional: config.risk.max_order_notional,
    var: {
      confidence: config.risk.var_limits.confidence,
      maxVar: config.risk.var_limits.max_var,
      lambda: config.risk.var_limits.ewma_lambda,
      barMs: config.risk.var_limits.bar_ms,
      minBars: config.risk.var_limits.min_bars,
      staleMarkMs: config.risk.var_limits.stale_mark_ms,
      degradedCapFraction: config.risk.var_limits.degraded_cap_fraction,
    },
    capital: config.strategy.capital,
    drawdown: { maxDaily: config.risk.drawdown.max_daily, maxTotal: config.risk.drawdown.max_total },
    maxPositionPct: config.risk.max_position_pct,
    stopLossPct: config.risk.stop_loss_pct,
    maxCorrelation: config.risk.max_correlation,
  };
}

/** The executor settings config decides and a running executor can change. */
export function executorSettingsOf(config: Config): ExecutorLiveSettings {
  const c = config.execution.concurrency;
  return {
    minConfidence: config.strategy.confidence_threshold,
    tif: config.execution.use_ioc ? TimeInForce.IOC : TimeInForce.GTC,
    laneCapacity: config.flow_control.queue_sizes.signals,
    concurrency: {
      globalMaxInflight: c.global_max_inflight,
      perVenueMaxInflight: c.per_venue_max_inflight,
      perSymbolMaxInflight: c.per_symbol_max_inflight,
    },
  };
}

/** Targets of a session: each skips a change that does not concern it. */
export function riskTarget(risk: { setLimits(cfg: StaticLimitsConfig): void }): LiveTarget {
  return {
    name: 'risk',
    apply: (next, prev) => {
      const n = riskLimitsOf(next);
      if (JSON.stringify(n) !== JSON.stringify(riskLimitsOf(prev))) risk.setLimits(n);
    },
  };
}

export function executorTarget(executor: { reconfigure(s: ExecutorLiveSettings): void }): LiveTarget {
  return {
    name: 'executor',
    apply: (next, prev) => {
      const n = executorSettingsOf(next);
      if (JSON.stringify(n) !== JSON.stringify(executorSettingsOf(prev))) executor.reconfigure(n);
    },
  };
}

/** Engine parameters go to the engine thread's command ring (NativeEngine.updateParams). */
export function engineTarget<P extends object>(
  engine: { updateParams(p: Partial<P>): void },
  paramsOf: (c: Config) => Partial<P>,
): LiveTarget {
  return {
    name: 'engine',
    apply: (next, prev) => {
      const n = paramsOf(next) as Record<string, unknown>;
      const p = paramsOf(prev) as Record<string, unknown>;
      const changed = Object.fromEntries(Object.entries(n).filter(([k, v]) => p[k] !== v));
      if (Object.keys(changed).length > 0) engine.updateParams(changed as Partial<P>);
    },
  };
}

export const loggingTarget: LiveTarget = {
  name: 'logging',
  apply: (next, prev) => {
    if (next.logging.level !== prev.logging.level) setLogLevel(next.logging.level);
  },
};

// ------------------------------------------------------------------ the `kestrel config set` client

/** Parses `KEY=VALUE` operands (values as YAML scalars: numbers, booleans, lists keep their type). */
export function parseAssignments(operands: readonly string[], parseValue: (raw: string) => unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of operands) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new ConfigError(`config set needs KEY=VALUE, got '${a}'`);
    out[a.slice(0, eq)] = parseValue(a.slice(eq + 1));
  }
  if (Object.keys(out).length === 0) throw new ConfigError('config set needs at least one KEY=VALUE');
  return out;
}

/** Send one change to the running session over config.set and return its answer. */
export async function requestConfigSet(
  bus: Bus,
  ns: Namespace,
  set: Record<string, unknown>,
  operator: string,
  timeoutMs = 5000,
): Promise<ConfigSetReply> {
  const res = await bus.request(
    subjects.configSet(ns),
    new TextEncoder().encode(JSON.stringify({ set, operator } satisfies ConfigSetRequest)),
    { timeoutMs },
  );
  return JSON.parse(new TextDecoder().decode(res.data)) as ConfigSetReply;
}

/** One line for the operator: what changed, or why nothing did. */
export function formatConfigSetReply(r: ConfigSetReply): string {
  if (!r.ok) return `config set refused (${r.code}): ${r.error}`;
  const changes = Object.entries(r.diff).map(([k, d]) => `${k} ${JSON.stringify(d.from)} -> ${JSON.stringify(d.to)}`);
  if (changes.length === 0) return `config unchanged (version ${r.version})`;
  return `config ${r.previousVersion} -> ${r.version} applied: ${changes.join(', ')}`;
}
