/**
 * Signal intake: the checks a signal passes before it is queued or routed (shape, dedupe, emit
 * timestamp, clock skew, TTL, confidence, size). Pure: the executor counts and reports the refusal.
 */
import { RejectReason, Side, Urgency } from '../../contracts/index.js';
import type { Clock } from '../../clock/clock.js';
import type { ExecSignal } from '../types.js';

/** The executor's live config fields intake reads (reconfigure may change minConfidence). */
export interface IntakeLimits {
  maxClockSkewMs: number;
  defaultTtlMs: number;
  minConfidence: number;
}

/** Why a signal is refused at intake; `counter` names the executor counter the refusal bumps. */
export interface IntakeRefusal {
  reason: RejectReason;
  detail: string;
  counter?: 'duplicates' | 'untimedSignals' | 'futureSignals';
}

/** Safe side of the clock-skew bound: the true age may be the measured age plus the skew. */
export function signalExpired(s: ExecSignal, now: bigint, lim: IntakeLimits, skewNs: bigint): boolean {
  const ttlNs = BigInt(s.ttlMs > 0 ? s.ttlMs : lim.defaultTtlMs) * 1_000_000n;
  return s.emitTsNs <= 0n || now - s.emitTsNs > ttlNs - skewNs;
}

/** undefined when the signal may go on; else the refusal (first failing check wins). */
export function screenSignal(
  s: ExecSignal,
  clock: Clock,
  executed: ReadonlySet<string>,
  lim: IntakeLimits,
  skewNs: bigint,
): IntakeRefusal | undefined {
  if (typeof s.emitTsNs !== 'bigint' || typeof s.symbol !== 'string' || typeof s.traceId !== 'string') {
    return { reason: RejectReason.UNKNOWN, detail: 'malformed signal: emitTsNs must be a bigint, symbol and traceId strings' };
  }
  if (s.traceId && executed.has(s.traceId)) {
    return { reason: RejectReason.DUPLICATE_ORDER, detail: `signal ${s.traceId} already executed`, counter: 'duplicates' };
  }
  const t = clock.nowNs();
  // Without an emit time the age is unknown: never treat such a signal as non-expiring.
  if (s.emitTsNs <= 0n) {
    return { reason: RejectReason.SIGNAL_BAD_TIMESTAMP, detail: 'signal without emit_ts_ns', counter: 'untimedSignals' };
  }
  if (s.emitTsNs - t > skewNs) {
    const aheadMs = Number(s.emitTsNs - t) / 1e6;
    return {
      reason: RejectReason.SIGNAL_BAD_TIMESTAMP,
      detail: `emit_ts_ns ${aheadMs.toFixed(3)} ms in the future (max clock skew ${lim.maxClockSkewMs} ms)`,
      counter: 'futureSignals',
    };
  }
  if (signalExpired(s, t, lim, skewNs)) return { reason: RejectReason.SIGNAL_EXPIRED, detail: `ttl ${s.ttlMs} ms elapsed` };
  if (!(s.confidence >= lim.minConfidence)) {
    return { reason: RejectReason.LOW_CONFIDENCE, detail: `confidence ${s.confidence} < ${lim.minConfidence}` };
  }
  if (!(s.size > 0) || (s.side !== Side.BUY && s.side !== Side.SELL)) {
    return { reason: RejectReason.UNKNOWN, detail: 'signal without side or positive size' };
  }
  if (s.minFillQty > s.size) return { reason: RejectReason.MIN_SIZE, detail: `min_fill_qty ${s.minFillQty} > size ${s.size}` };
  return undefined;
}

/** Priority lane of a queued signal: 0 HIGH, 1 NORMAL, 2 LOW. */
export function laneOf(u: Urgency): 0 | 1 | 2 {
  return u === Urgency.HIGH ? 0 : u === Urgency.LOW ? 2 : 1;
}
