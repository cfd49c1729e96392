/**
 * Baskets (OrderGroups): the state of a basket in flight and the pure parts of settling it —
 * completion (by quantity, or by weight when legs carry weights), whether the policy demands an
 * unwind, and the result the caller gets — and the desk that runs baskets in flight (BasketDesk):
 * risk-gates the legs, places them, aborts an ATOMIC basket on a failed leg, settles and unwinds.
 * The Executor places and cancels the orders; it lends that through BasketHost.
 */
import { OrderState, isTerminal, type OrderRecord } from '../order.js';
import { RejectReason, Side, Urgency } from '../../contracts/index.js';
import { RiskDecision, type LocalRiskGuard, type RiskExposure } from '../risk-guard.js';
import type { GatewayAnswer } from './routing.js';
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

/** What the leg risk gate reads from and reserves in the executor. */
export interface LegRiskHost {
  risk(): LocalRiskGuard;
  slippageBps(): number;
  now(): bigint;
  midOf(venue: string, symbol: string): number;
  /** Current exposure plus `extraQty` of `symbol` and `extraGross` notional not yet in flight. */
  exposure(symbol: string, extraQty: number, extraGross: number): RiskExposure;
  countRiskCheck(): void;
  reserve(venue: string, symbol: string, d: 1 | -1, notional: number): void;
  gatewayCheck(s: ExecSignal, venue: string, size: number, price: number): Promise<GatewayAnswer>;
}

/**
 * The local risk guard (and risk.check for boundary cases) for each basket leg, counting the legs
 * before it; a leg the gateway would only take smaller is refused (a basket's proportions are its
 * point). Returns the refused legs by index.
 */
export async function riskGateLegs(
  h: LegRiskHost,
  groupId: string,
  legs: readonly GroupLegInput[],
): Promise<Map<number, { reason: RejectReason; detail: string }>> {
  const risk = h.risk();
  const refused = new Map<number, { reason: RejectReason; detail: string }>();
  const asks: Promise<void>[] = [];
  const symbolQty = new Map<string, number>();
  let gross = 0;
  for (const [i, l] of legs.entries()) {
    const px = Math.max(l.limitPrice, h.midOf(l.venue, l.symbol));
    if (!(px > 0)) {
      refused.set(i, { reason: RejectReason.STALE_SNAPSHOT, detail: `no price to value ${l.symbol}` });
      continue;
    }
    const signed = l.side === Side.SELL ? -l.size : l.size;
    const before = symbolQty.get(l.symbol) ?? 0;
    const d = risk.check(l.symbol, signed, px, h.exposure(l.symbol, before, gross), h.now());
    symbolQty.set(l.symbol, before + signed);
    gross += l.size * px;
    if (d === RiskDecision.REJECTED) {
      refused.set(i, { reason: risk.reason, detail: risk.detail });
      continue;
    }
    if (d === RiskDecision.APPROVED) continue;
    h.countRiskCheck();
    const leg = legAsSignal(groupId, i, l, h.slippageBps(), h.now());
    const notional = l.size * px;
    h.reserve(l.venue, l.symbol, 1, notional);
    asks.push(
      h.gatewayCheck(leg, l.venue, l.size, l.limitPrice).then((r) => {
        h.reserve(l.venue, l.symbol, -1, notional);
        if (!r.ok) refused.set(i, { reason: r.reason, detail: r.detail });
        else if (r.size < l.size - 1e-12)
          refused.set(i, { reason: RejectReason.RISK_LIMIT, detail: `risk gateway would take ${r.size} of ${l.size}` });
      }),
    );
  }
  await Promise.all(asks);
  return refused;
}

/** What the basket desk needs from the executor besides the leg risk gate. */
export interface BasketHost extends LegRiskHost {
  flattenSlippageBps(): number;
  /** Not halted, not paused, enabled. */
  tradable(venue: string): boolean;
  reject(venue: string, reason: RejectReason, detail: string): void;
  placeDirect(d: DirectOrderIntent): OrderRecord | undefined;
  cancel(o: OrderRecord, reason: string): Promise<unknown>;
}

/** Baskets in flight, by group id. */
export class BasketDesk {
  private readonly groups = new Map<string, GroupState>();

  constructor(private readonly h: BasketHost) {}

  async submit(
    groupId: string,
    policy: 'BEST_EFFORT' | 'ATOMIC' | 'PERCENTAGE',
    legs: readonly GroupLegInput[],
    minCompletionPct: number,
  ): Promise<GroupResult> {
    const h = this.h;
    // Legs pass the risk guard like a signal's orders, all before any leg goes out.
    const refused = await riskGateLegs(h, groupId, legs);
    return new Promise<GroupResult>((resolve) => {
      const g: GroupState = {
        id: groupId,
        policy,
        minPct: minCompletionPct,
        legs: [],
        plannedSize: 0,
        plannedWeight: 0,
        weights: new Map(),
        failedLegs: 0,
        cancelling: false,
        settled: false,
        resolve,
      };
      const weighted = legs.some((l) => (l.weight ?? 0) > 0);
      this.groups.set(groupId, g);
      for (const [i, l] of legs.entries()) {
        g.plannedSize += l.size;
        if (weighted) g.plannedWeight += l.weight ?? 0;
        if (!h.tradable(l.venue)) {
          g.failedLegs++;
          h.reject(l.venue, RejectReason.KILL_SWITCH, `group ${groupId}: venue not tradable`);
          continue;
        }
        const no = refused.get(i);
        if (no) {
          g.failedLegs++;
          h.reject(l.venue, no.reason, `group ${groupId}: ${no.detail}`);
          continue;
        }
        const o = h.placeDirect(legIntent(groupId, l, h.slippageBps()));
        if (o) {
          g.legs.push(o);
          if (weighted) g.weights.set(o, l.weight ?? 0);
        } else g.failedLegs++;
      }
      if (policy === 'ATOMIC' && g.failedLegs > 0) void this.abort(g);
      this.maybeSettle(g);
    });
  }

  /** A leg reached a terminal state. */
  onLegUpdate(o: OrderRecord): void {
    if (!o.groupId) return;
    const g = this.groups.get(o.groupId);
    if (!g || g.settled) return;
    if (g.policy === 'ATOMIC' && legIncomplete(o) && !g.cancelling) void this.abort(g);
    this.maybeSettle(g);
  }

  private async abort(g: GroupState): Promise<void> {
    g.cancelling = true;
    await Promise.all(g.legs.filter((l) => !isTerminal(l.state)).map((l) => this.h.cancel(l, `group ${g.id} atomic abort`)));
    this.maybeSettle(g);
  }

  private maybeSettle(g: GroupState): void {
    if (g.settled || g.legs.some((l) => !isTerminal(l.state))) return;
    g.settled = true;
    const pct = groupCompletionPct(g);
    const failed = groupFailed(g);
    let outcome: GroupResult['outcome'] = failed ? 'ACCEPTED_PARTIAL' : 'COMPLETE';
    const unwind: string[] = [];
    if (mustUnwind(g, failed, pct)) {
      outcome = 'UNWOUND';
      for (const l of g.legs) {
        if (l.filledQty <= 0) continue;
        const u = this.h.placeDirect(unwindIntent(g, l, this.h.flattenSlippageBps()));
        if (u) unwind.push(u.clientId);
      }
    }
    this.groups.delete(g.id);
    g.resolve(groupResult(g, outcome, pct, unwind));
  }
}
