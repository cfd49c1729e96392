/**
 * Routing and guards around the smart order router: why no venue could take a signal, and the
 * risk gateway round trip (risk.check) for orders the local risk guard calls a boundary case.
 * The precision/slippage guard (../precision.ts), the local risk guard (../risk-guard.ts) and the
 * SOR (../router.ts) are their own modules; the Executor strings them together.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  OrderRequestSchema,
  RejectReason,
  RiskCheckRequestSchema,
  RiskCheckResponseSchema,
  SignalSchema,
  headers as H,
  subjects,
} from '../../contracts/index.js';
import type { Namespace } from '../../contracts/subjects.js';
import type { Bus } from '../../bus/bus.js';
import type { ExecSignal } from '../types.js';

export interface GatewayAnswer {
  ok: boolean;
  /** Size the gateway approves (may be smaller than proposed). */
  size: number;
  reason: RejectReason;
  detail: string;
}

/** What the venues of a symbol look like when the router found none for a signal. */
export interface VenueView {
  shadowOnly(venue: string, symbol: string): boolean;
  pausedOrDisabled(venue: string): boolean;
  circuitOpen(venue: string): boolean;
  unhealthy(venue: string): boolean;
  atCap(venue: string): boolean;
}

/** The most telling reason no venue could take the signal, checked in order of precedence. */
export function noVenueReason(
  venues: readonly string[],
  symbol: string,
  shadow: boolean,
  v: VenueView,
): { reason: RejectReason; detail: string } {
  if (!shadow && venues.every((x) => v.shadowOnly(x, symbol))) {
    return { reason: RejectReason.VENUE_POLICY, detail: 'live order: every venue for the symbol is shadow_only' };
  }
  if (venues.every((x) => v.pausedOrDisabled(x))) return { reason: RejectReason.KILL_SWITCH, detail: 'venues paused or disabled' };
  if (venues.every((x) => v.circuitOpen(x))) return { reason: RejectReason.CIRCUIT_OPEN, detail: 'every venue circuit open' };
  if (venues.every((x) => v.unhealthy(x))) return { reason: RejectReason.VENUE_UNAVAILABLE, detail: 'private stream down' };
  if (venues.every((x) => v.atCap(x))) return { reason: RejectReason.CONCURRENCY_LIMIT, detail: 'per-venue in-flight caps reached' };
  return { reason: RejectReason.STALE_SNAPSHOT, detail: 'no venue with a usable book' };
}

/**
 * Ask the risk gateway about one proposed order (`timeoutMs`, risk.check_timeout_ms; a timeout or
 * error is a reject).
 * `inflightGrossNotional` must exclude the order's own reservation: the gateway adds it itself.
 */
export async function askRiskGateway(
  bus: Bus,
  ns: Namespace,
  s: ExecSignal,
  venue: string,
  size: number,
  price: number,
  inflightGrossNotional: number,
  inflightSymbolQty: number,
  timeoutMs: number,
): Promise<GatewayAnswer> {
  const req = create(RiskCheckRequestSchema, {
    venue,
    traceId: s.traceId,
    signal: create(SignalSchema, {
      strategyId: s.strategyId,
      symbol: s.symbol,
      side: s.side,
      size: s.size,
      confidence: s.confidence,
      ttlMs: s.ttlMs,
      maxSlippageBps: s.maxSlippageBps,
      traceId: s.traceId,
      emitTsNs: s.emitTsNs,
      refPrice: s.refPrice,
      regime: s.regime,
    }),
    proposedOrder: create(OrderRequestSchema, {
      venue,
      symbol: s.symbol,
      side: s.side,
      size,
      price,
      strategyId: s.strategyId,
      traceId: s.traceId,
    }),
    inflightGrossNotional,
    inflightSymbolQty,
  });
  try {
    const m = await bus.request(subjects.riskCheck(ns), toBinary(RiskCheckRequestSchema, req), {
      timeoutMs,
      headers: { [H.traceId]: s.traceId || 'none' },
    });
    const r = fromBinary(RiskCheckResponseSchema, m.data);
    if (!r.approved) return { ok: false, size: 0, reason: r.reason || RejectReason.RISK_LIMIT, detail: r.rejectReason };
    return { ok: true, size: r.adjustedSize > 0 ? r.adjustedSize : size, reason: RejectReason.UNKNOWN, detail: '' };
  } catch (err) {
    return { ok: false, size: 0, reason: RejectReason.RISK_TIMEOUT, detail: err instanceof Error ? err.message : String(err) };
  }
}
