/**
 * Baskets (OrderGroups): the state of a basket in flight and the pure parts of settling it —
 * completion (by quantity, or by weight when legs carry weights), whether the policy demands an
 * unwind, and the result the caller gets. The Executor places, cancels and unwinds the legs.
 */
import { OrderState, type OrderRecord } from '../order.js';
import { Side, Urgency } from '../../contracts/index.js';
import type { DirectOrderIntent } from '../order-intent.js';
import type { ExecSignal } from '../types.js';
import type { GroupLegInput, GroupResult, GroupState } from './types.js';

/** A leg that ended without its full size (rejected, failed, or cancelled with a remainder). */
export function legIncomplete(o: OrderRecord): boolean {
  return o.state === OrderState.REJECTED || o.state === OrderState.FAILED || (o.state === OrderState.CANCELLED && o.remaining > 1e-12);
}

/** Filled share of the basket in percent: weight-averaged when legs carry weights, else by quantity. */
export function groupCompletionPct(g: GroupState): number {
  if (g.plannedWeight > 0) {
    const w = g.legs.reduce((a, l) => a + (g.weights.get(l) ?? 0) * Math.min(1, l.size > 0 ? l.filledQty / l.size : 0), 0);
    return (w / g.plannedWeight) * 100;
  }
  const filled = g.legs.reduce((a, l) => a + l.filledQty, 0);
  return g.plannedSize > 0 ? (filled / g.plannedSize) * 100 : 0;
}

/** Some leg failed to go out or ended short of its size. */
export function groupFailed(g: GroupState): boolean {
  return g.failedLegs > 0 || g.legs.some((l) => l.filledQty < l.size - 1e-12);
}

/** ATOMIC unwinds on any failure; PERCENTAGE when completion ends below its minimum. */
export function mustUnwind(g: GroupState, failed: boolean, pct: number): boolean {
  return (g.policy === 'ATOMIC' && failed) || (g.policy === 'PERCENTAGE' && pct < g.minPct - 1e-9);
}

/** The order that takes back a leg's filled quantity. */
export function unwindIntent(g: GroupState, l: OrderRecord, slippageBps: number): DirectOrderIntent {
  return {
    venue: l.venue,
    symbol: l.symbol,
    side: l.side === Side.BUY ? Side.SELL : Side.BUY,
    size: l.filledQty,
    refPrice: 0,
    slippageBps,
    groupId: '',
    tag: `unwind:${g.id}`,
  };
}

/** The order of one basket leg. */
export function legIntent(groupId: string, l: GroupLegInput, slippageBps: number): DirectOrderIntent {
  return {
    venue: l.venue,
    symbol: l.symbol,
    side: l.side,
    size: l.size,
    refPrice: l.limitPrice,
    slippageBps,
    groupId,
    tag: `group:${groupId}`,
  };
}

/** A basket leg dressed as a signal for the risk gateway (risk.check on boundary cases). */
export function legAsSignal(groupId: string, i: number, l: GroupLegInput, slippageBps: number, now: bigint): ExecSignal {
  return {
    strategyId: '',
    symbol: l.symbol,
    side: l.side,
    size: l.size,
    confidence: 1,
    ttlMs: 0,
    maxSlippageBps: slippageBps,
    minFillQty: 0,
    urgency: Urgency.NORMAL,
    traceId: `${groupId}:${i}`,
    sourceSequence: 0n,
    emitTsNs: now,
    refPrice: l.limitPrice,
  };
}

export function groupResult(g: GroupState, outcome: GroupResult['outcome'], pct: number, unwind: string[]): GroupResult {
  return {
    orderGroupId: g.id,
    outcome,
    completionPct: pct,
    legs: g.legs.map((l) => ({
      clientId: l.clientId,
      venue: l.venue,
      symbol: l.symbol,
      side: l.side,
      state: OrderState[l.state],
      filled: l.filledQty,
      size: l.size,
      weight: g.weights.get(l) ?? 0,
    })),
    unwindClientIds: unwind,
  };
}
