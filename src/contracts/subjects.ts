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

export class SubjectError extends Error {
  override readonly name = 'SubjectError';
}

/** Live traffic has no prefix; replay traffic lives under `replay.` (SPEC "Replay Isolation"). */
export type Namespace = 'live' | 'replay';

function ns(namespace: Namespace, subject: string): string {
  return namespace === 'replay' ? `replay.${subject}` : subject;
}

export const subjects = {
  /** Raw venue ticks from an adapter: md.{venue}.{symbol}.{channel}. */
  mdRaw: (venue: string, symbol: string, channel: string, n: Namespace = 'live') =>
    ns(n, `md.${token(venue)}.${token(symbol)}.${token(channel)}`),
  mdNorm: (venue: string, symbol: string, n: Namespace = 'live') => ns(n, `md.norm.${token(venue)}.${token(symbol)}`),
  mdAgg: (symbol: string, n: Namespace = 'live') => ns(n, `md.agg.${token(symbol)}`),
  mdHealth: (venue: string, n: Namespace = 'live') => ns(n, `md.health.${token(venue)}`),
  mdGap: (venue: string, symbol: string, n: Namespace = 'live') => ns(n, `md.gap.${token(venue)}.${token(symbol)}`),
  mdAnomaly: (venue: string, symbol: string, n: Namespace = 'live') =>
    ns(n, `md.anomaly.${token(venue)}.${token(symbol)}`),
  signal: (strategy: string, symbol: string, n: Namespace = 'live') => ns(n, `sig.${token(strategy)}.${token(symbol)}`),
  orderReq: (venue: string, n: Namespace = 'live') => ns(n, `ord.req.${token(venue)}`),
  orderAck: (venue: string, n: Namespace = 'live') => ns(n, `ord.ack.${token(venue)}`),
  orderCancelReq: (n: Namespace = 'live') => ns(n, 'ord.cancel.req'),
  orderReplaceReq: (n: Namespace = 'live') => ns(n, 'ord.replace.req'),
  riskCheck: (n: Namespace = 'live') => ns(n, 'risk.check'),
  riskLimits: (n: Namespace = 'live') => ns(n, 'risk.limits'),
  riskStatus: (n: Namespace = 'live') => ns(n, 'risk.status'),
  riskBreach: (n: Namespace = 'live') => ns(n, 'risk.breach'),
  posCurrent: (n: Namespace = 'live') => ns(n, 'pos.current'),
  posPnl: (n: Namespace = 'live') => ns(n, 'pos.pnl'),
  posUpdate: (n: Namespace = 'live') => ns(n, 'pos.update'),
  venueHealth: (venue: string, n: Namespace = 'live') => ns(n, `venue.health.${token(venue)}`),
  config: (service: string) => `config.${token(service)}`,
  configReload: () => 'config.reload',
  configAnalytics: (strategy: string) => `config.analytics.${token(strategy)}`,
  /** Audit events go to JetStream stream `audit` (subjects audit.>). */
  audit: (eventType: string) => `audit.${token(eventType)}`,
  /** Emergency controls: global kill switch, per-venue pause/resume, flatten; `risk` for the risk gateway. */
  control: (command: 'kill' | 'resume' | 'pause' | 'flatten' | 'risk') => `ctl.${command}`,
  circuit: (venue: string) => `circuit.${token(venue)}`,
} as const;

/** Wildcard patterns for subscribers. */
export const patterns = {
  mdNormAll: (n: Namespace = 'live') => ns(n, 'md.norm.>'),
  mdAggAll: (n: Namespace = 'live') => ns(n, 'md.agg.>'),
  signalsAll: (n: Namespace = 'live') => ns(n, 'sig.>'),
  orderAcksAll: (n: Namespace = 'live') => ns(n, 'ord.ack.*'),
  venueHealthAll: () => 'venue.health.*',
  auditAll: () => 'audit.>',
  controlAll: () => 'ctl.*',
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
