import { KestrelError } from './errors.js';
/**
 * Every NATS subject of SPEC.md, in one place. Services build subjects only through these helpers so
 * that a typo is a compile error and the replay namespace can never be forgotten.
 */

/** Token-safe form of a venue or symbol: NATS tokens may not contain '.', '*', '>' or whitespace. */
export function token(value: string): string {
  if (value.length === 0) throw new SubjectError('empty subject token');
  if (/[\s.*>]/.test(value)) throw new SubjectError(`invalid subject token: ${JSON.stringify(value)}`);
  return value;
}

export class SubjectError extends KestrelError {
  override readonly name = 'SubjectError';
  constructor(message: string, options?: ErrorOptions) {
    super('SUBJECT_INVALID', message, options);
  }
}

/**
 * Live traffic has no prefix; replay traffic lives under `replay.` (SPEC "Replay Isolation"). Every
 * builder below takes the namespace as a mandatory argument, control and health subjects included:
 * a replay stack sharing a NATS server with a live one must never command or inform it.
 */
export type Namespace = 'live' | 'replay';

function ns(namespace: Namespace, subject: string): string {
  return namespace === 'replay' ? `replay.${subject}` : subject;
}

/** Emergency-control subject families (see src/control/control-plane.ts). */
export type ControlFamily = 'kill' | 'resume' | 'pause' | 'flatten' | 'risk';

export const subjects = {
  /** Raw venue ticks from an adapter: md.{venue}.{symbol}.{channel}. */
  mdRaw: (venue: string, symbol: string, channel: string, n: Namespace) => ns(n, `md.${token(venue)}.${token(symbol)}.${token(channel)}`),
  mdNorm: (venue: string, symbol: string, n: Namespace) => ns(n, `md.norm.${token(venue)}.${token(symbol)}`),
  mdAgg: (symbol: string, n: Namespace) => ns(n, `md.agg.${token(symbol)}`),
  mdHealth: (venue: string, n: Namespace) => ns(n, `md.health.${token(venue)}`),
  mdGap: (venue: string, symbol: string, n: Namespace) => ns(n, `md.gap.${token(venue)}.${token(symbol)}`),
  mdAnomaly: (venue: string, symbol: string, n: Namespace) => ns(n, `md.anomaly.${token(venue)}.${token(symbol)}`),
  signal: (strategy: string, symbol: string, n: Namespace) => ns(n, `sig.${token(strategy)}.${token(symbol)}`),
  orderReq: (venue: string, n: Namespace) => ns(n, `ord.req.${token(venue)}`),
  orderAck: (venue: string, n: Namespace) => ns(n, `ord.ack.${token(venue)}`),
  orderCancelReq: (n: Namespace) => ns(n, 'ord.cancel.req'),
  orderReplaceReq: (n: Namespace) => ns(n, 'ord.replace.req'),
  /** Baskets (OrderGroup, protobuf) submitted by traders; the reply is an OrderGroupAck. */
  orderGroup: (n: Namespace) => ns(n, 'ord.group'),
  riskCheck: (n: Namespace) => ns(n, 'risk.check'),
  riskLimits: (n: Namespace) => ns(n, 'risk.limits'),
  riskStatus: (n: Namespace) => ns(n, 'risk.status'),
  riskBreach: (n: Namespace) => ns(n, 'risk.breach'),
  posCurrent: (n: Namespace) => ns(n, 'pos.current'),
  posPnl: (n: Namespace) => ns(n, 'pos.pnl'),
  posUpdate: (n: Namespace) => ns(n, 'pos.update'),
  venueHealth: (venue: string, n: Namespace) => ns(n, `venue.health.${token(venue)}`),
  config: (service: string, n: Namespace) => ns(n, `config.${token(service)}`),
  configReload: (n: Namespace) => ns(n, 'config.reload'),
  /** `kestrel config set`: request JSON {set: {"a.b": value}}, reply {ok, version, diff} or {ok: false, code, error}. */
  configSet: (n: Namespace) => ns(n, 'config.set'),
  configAnalytics: (strategy: string, n: Namespace) => ns(n, `config.analytics.${token(strategy)}`),
  /** Audit events go to JetStream stream `audit` (subjects audit.>; replay: `replay_audit`, replay.audit.>). */
  audit: (eventType: string, n: Namespace) => ns(n, `audit.${token(eventType)}`),
  /** Emergency controls: global kill switch, per-venue pause/resume, flatten; `risk` for the risk gateway. */
  control: (command: ControlFamily, n: Namespace) => ns(n, `ctl.${command}`),
  circuit: (venue: string, n: Namespace) => ns(n, `circuit.${token(venue)}`),
} as const;

/** Wildcard patterns for subscribers. */
export const patterns = {
  mdNormAll: (n: Namespace) => ns(n, 'md.norm.>'),
  /** Every venue's md.norm of one canonical symbol: an engine that owns a subset of the symbols. */
  mdNormOfSymbol: (symbol: string, n: Namespace) => ns(n, `md.norm.*.${token(symbol)}`),
  mdAggAll: (n: Namespace) => ns(n, 'md.agg.>'),
  signalsAll: (n: Namespace) => ns(n, 'sig.>'),
  orderAcksAll: (n: Namespace) => ns(n, 'ord.ack.*'),
  venueHealthAll: (n: Namespace) => ns(n, 'venue.health.*'),
  auditAll: (n: Namespace) => ns(n, 'audit.>'),
  circuitAll: (n: Namespace) => ns(n, 'circuit.*'),
  controlAll: (n: Namespace) => ns(n, 'ctl.*'),
} as const;

/** Header names used on the bus (SPEC "Message Flow Contracts"). */
export const headers = {
  traceId: 'trace_id',
  strategyId: 'strategy_id',
  correlationId: 'correlation_id',
  orderGroupId: 'order_group_id',
} as const;

/** Request-reply timeouts fixed by the contracts. */
export const timeouts = {
  riskCheckMs: 10,
  orderRequestMs: 20,
} as const;
