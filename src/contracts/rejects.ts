/**
 * The reject taxonomy (SPEC "Error Taxonomy") and its auto-correctable / terminal classification.
 * Every guard, venue mapping and gateway classifies refusals through `classify` so that callers
 * decide retry-vs-drop from one table.
 */
import { create } from '@bufbuild/protobuf';
import { ErrorClassificationSchema, RejectReason, type ErrorClassification } from './gen/kestrel/v1/errors_pb.js';
import { KestrelError } from './errors.js';

export { RejectReason };
export type { ErrorClassification };

const table: Readonly<Record<RejectReason, { autoCorrectable: boolean; hint: string }>> = {
  [RejectReason.UNKNOWN]: { autoCorrectable: false, hint: 'unclassified venue error; inspect reject_detail' },
  [RejectReason.INSUFFICIENT_BALANCE]: { autoCorrectable: false, hint: 'reduce size or fund the account' },
  [RejectReason.INVALID_SYMBOL]: { autoCorrectable: false, hint: 'symbol unknown to the venue; check reference data' },
  [RejectReason.PRICE_PRECISION]: { autoCorrectable: true, hint: 'round price to the venue tick size' },
  [RejectReason.SIZE_PRECISION]: { autoCorrectable: true, hint: 'floor size to the venue lot step' },
  [RejectReason.MIN_SIZE]: { autoCorrectable: false, hint: 'size below venue minimum lot' },
  [RejectReason.MAX_SIZE]: { autoCorrectable: true, hint: 'clip or split the order to the venue maximum' },
  [RejectReason.RATE_LIMIT]: { autoCorrectable: true, hint: 'back off and retry after the venue window' },
  [RejectReason.MARKET_CLOSED]: { autoCorrectable: false, hint: 'outside trading hours' },
  [RejectReason.PRICE_BANDS]: { autoCorrectable: false, hint: 'price outside the venue band around mid' },
  [RejectReason.DUPLICATE_ORDER]: { autoCorrectable: false, hint: 'client id already used; never resend' },
  [RejectReason.VENUE_POLICY]: { autoCorrectable: false, hint: 'venue is shadow_only; live orders refused' },
  [RejectReason.STALE_SNAPSHOT]: { autoCorrectable: false, hint: 'market snapshot too old to price the order' },
  [RejectReason.SLIPPAGE]: { autoCorrectable: false, hint: 'expected slippage above the signal cap' },
  [RejectReason.RISK_LIMIT]: { autoCorrectable: false, hint: 'risk limit would be breached' },
  [RejectReason.RISK_TIMEOUT]: { autoCorrectable: false, hint: 'risk gateway did not answer in time' },
  [RejectReason.SIGNAL_EXPIRED]: { autoCorrectable: false, hint: 'signal TTL elapsed before routing' },
  [RejectReason.LOW_CONFIDENCE]: { autoCorrectable: false, hint: 'signal confidence under threshold' },
  [RejectReason.CIRCUIT_OPEN]: { autoCorrectable: false, hint: 'venue circuit breaker is open' },
  [RejectReason.KILL_SWITCH]: { autoCorrectable: false, hint: 'trading halted by kill switch or pause' },
  [RejectReason.CONCURRENCY_LIMIT]: { autoCorrectable: true, hint: 'in-flight cap reached; retry when an order completes' },
  [RejectReason.VENUE_UNAVAILABLE]: { autoCorrectable: false, hint: 'venue private stream down; new orders halted' },
  [RejectReason.SIGNAL_BAD_TIMESTAMP]: { autoCorrectable: false, hint: 'stamp emit_ts_ns at emission; check the emitter host clock (NTP)' },
};

export function classify(reason: RejectReason): ErrorClassification {
  const entry = table[reason] ?? table[RejectReason.UNKNOWN];
  return create(ErrorClassificationSchema, {
    reason,
    autoCorrectable: entry.autoCorrectable,
    correctionHint: entry.hint,
  });
}

export function rejectName(reason: RejectReason): string {
  return RejectReason[reason] ?? 'UNKNOWN';
}

/** A typed refusal that carries its taxonomy entry; thrown or returned by guards. */
export class OrderRejectedError extends KestrelError {
  override readonly name = 'OrderRejectedError';
  readonly classification: ErrorClassification;
  constructor(
    readonly reason: RejectReason,
    readonly detail: string,
  ) {
    super('ORDER_REJECTED', `${rejectName(reason)}: ${detail}`);
    this.classification = classify(reason);
  }
}
