/**
 * Baskets for traders (issue 13 item 9): an OrderGroup on ord.group (protobuf, request-reply) runs
 * through the executor's basket path (Executor.submitGroup: risk-gated legs, ATOMIC / BEST_EFFORT /
 * PERCENTAGE completion, unwinds) and is answered with an OrderGroupAck once every leg is terminal.
 *
 * Leg weights: a leg with size 0 takes notional × weight / Σ weights of the basket at its limit price
 * (the mid when 0); the basket's completion is the weight-averaged filled share of its legs. Every
 * basket is audited twice (basket_submit with the group as sized, basket_ack with the outcome); its
 * legs' orders are audited by the executor's lifecycle audit under their group id.
 *
 * `basketFromJson` reads the trader's file format of `kestrel basket submit FILE.json`.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { z } from 'zod';
import { pack } from '../audit/audit-log.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Bus, BusMessage, Subscription } from '../bus/bus.js';
import type { Clock } from '../clock/clock.js';
import {
  CompletionPolicy,
  GroupOutcome,
  OrderGroupAckSchema,
  OrderGroupLegResultSchema,
  OrderGroupSchema,
  OrderLegSchema,
  Side,
  rejectName,
  type RejectReason,
  type OrderGroup,
  type OrderGroupAck,
} from '../contracts/index.js';
import { subjects, type Namespace } from '../contracts/subjects.js';
import { KestrelError } from '../contracts/errors.js';
import { createLogger, type Logger } from '../observability/logger.js';
import type { GroupLegInput, GroupResult } from './executor.js';
import type { MarketSnapshotSource } from './types.js';

export const BasketAuditType = { submit: 'basket_submit', ack: 'basket_ack' } as const;

export class BasketError extends KestrelError {
  override readonly name = 'BasketError';
  constructor(code: 'BAD_BASKET' | 'DUPLICATE_GROUP' | 'NO_PRICE', message: string) {
    super(code, message);
  }
}

/** The executor's basket path (Executor fits). */
export interface BasketExecutor {
  /** Refusals of legs (risk, precision, venue): their reasons go into the ack. */
  onReject?(cb: (e: { venue: string; reason: RejectReason; detail: string; clientId: string }) => void): void;
  submitGroup(
    groupId: string,
    policy: 'BEST_EFFORT' | 'ATOMIC' | 'PERCENTAGE',
    legs: readonly GroupLegInput[],
    minCompletionPct?: number,
  ): Promise<GroupResult>;
}

export interface BasketServiceDeps {
  bus: Bus;
  namespace: Namespace;
  clock: Clock;
  executor: BasketExecutor;
  market: MarketSnapshotSource;
  audit?: AuditLog;
  logger?: Logger;
}

const MAX_LEGS = 50;
const POLICY_NAME: Record<CompletionPolicy, 'BEST_EFFORT' | 'ATOMIC' | 'PERCENTAGE'> = {
  [CompletionPolicy.BEST_EFFORT]: 'BEST_EFFORT',
  [CompletionPolicy.ATOMIC]: 'ATOMIC',
  [CompletionPolicy.PERCENTAGE]: 'PERCENTAGE',
};
const OUTCOME: Record<GroupResult['outcome'], GroupOutcome> = {
  COMPLETE: GroupOutcome.COMPLETE,
  ACCEPTED_PARTIAL: GroupOutcome.ACCEPTED_PARTIAL,
  UNWOUND: GroupOutcome.UNWOUND,
};

export class BasketService {
  private sub: Subscription | undefined;
  /** Group ids seen by this process (in flight or done): a resent basket is refused, never run twice. */
  private readonly seen = new Set<string>();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly log: Logger;
  readonly stats = { submitted: 0, refused: 0, complete: 0, partial: 0, unwound: 0 };

  /** Leg refusals by group id, collected while the group runs. */
  private readonly refusals = new Map<string, string[]>();
  private readonly venueRejects = new Map<string, string>();

  constructor(private readonly deps: BasketServiceDeps) {
    this.log = deps.logger ?? createLogger('baskets');
    deps.executor.onReject?.((e) => {
      // Basket legs are refused with a detail that starts `group ID:` (risk) or `group:ID:` (precision, rate).
      const m = /^group:?\s?([A-Za-z0-9_-]+):?/.exec(e.detail);
      const list = m ? this.refusals.get(m[1]!) : undefined;
      if (list) list.push(`${e.venue} ${rejectName(e.reason)}: ${e.detail.slice(m![0].length).trim()}`);
      // A leg the venue refused: its reason, by client id, for the ack (bounded).
      if (e.clientId && this.refusals.size > 0) {
        this.venueRejects.set(e.clientId, `${rejectName(e.reason)}${e.detail ? `: ${e.detail}` : ''}`);
        if (this.venueRejects.size > 1000) this.venueRejects.delete(this.venueRejects.keys().next().value!);
      }
    });
  }

  start(): void {
    if (this.sub) return;
    // A queue group: with several sessions on one server a basket still runs exactly once.
    this.sub = this.deps.bus.subscribe(subjects.orderGroup(this.deps.namespace), (m) => this.onMessage(m), { queue: 'kestrel-baskets' });
  }

  private onMessage(m: BusMessage): void {
    let group: OrderGroup;
    try {
      group = fromBinary(OrderGroupSchema, m.data);
    } catch (err) {
      if (m.reply) m.respond(toBinary(OrderGroupAckSchema, this.refusal('', `malformed OrderGroup: ${(err as Error).message}`)));
      return;
    }
    const p = this.submit(group).then((ack) => {
      if (m.reply) m.respond(toBinary(OrderGroupAckSchema, ack));
    });
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  /** Run one basket to its end; never throws: a refusal is an ack with outcome REFUSED. */
  async submit(group: OrderGroup): Promise<OrderGroupAck> {
    let legs: GroupLegInput[];
    let policy: 'BEST_EFFORT' | 'ATOMIC' | 'PERCENTAGE';
    let refPrices: Map<string, number>;
    try {
      ({ legs, policy, refPrices } = this.prepare(group));
    } catch (err) {
      const ack = this.refusal(group.orderGroupId, err instanceof Error ? err.message : String(err));
      this.audit(BasketAuditType.ack, group, { outcome: 'REFUSED', reason: ack.reason });
      this.stats.refused++;
      return ack;
    }
    this.seen.add(group.orderGroupId);
    this.stats.submitted++;
    const refused: string[] = [];
    this.refusals.set(group.orderGroupId, refused);
    const sized = create(OrderGroupSchema, {
      ...group,
      legs: group.legs.map((l, i) => create(OrderLegSchema, { ...l, size: legs[i]!.size, limitPrice: legs[i]!.limitPrice })),
    });
    this.audit(BasketAuditType.submit, sized, { policy, legs: String(legs.length), min_completion_pct: String(group.minCompletionPct) });
    this.log.info({ group: group.orderGroupId, policy, legs: legs.map((l) => `${l.venue}:${l.symbol}:${l.size}`) }, 'basket submitted');
    const r = await this.deps.executor
      .submitGroup(group.orderGroupId, policy, legs, policy === 'PERCENTAGE' ? group.minCompletionPct : 100)
      .finally(() => this.refusals.delete(group.orderGroupId));
    const failed = r.legs
      .filter((l) => l.filled < l.size - 1e-12)
      .map((l) => `${l.venue} ${l.symbol} ${l.state}${this.venueRejects.has(l.clientId) ? ` (${this.venueRejects.get(l.clientId)})` : ''}`);
    const missing = legs.length - r.legs.length;
    const ack = create(OrderGroupAckSchema, {
      orderGroupId: r.orderGroupId,
      accepted: true,
      outcome: OUTCOME[r.outcome],
      completionPct: r.completionPct,
      legs: r.legs.map((l) =>
        create(OrderGroupLegResultSchema, {
          clientId: l.clientId,
          venue: l.venue,
          symbol: l.symbol,
          side: l.side,
          size: l.size,
          filledQty: l.filled,
          state: l.state,
          weight: l.weight,
          refPrice: refPrices.get(`${l.venue}|${l.symbol}`) ?? 0,
        }),
      ),
      unwindClientIds: r.unwindClientIds,
      reason: [
        ...(missing > 0 ? [`${missing} leg(s) not sent${refused.length > 0 ? ` (${refused.join('; ')})` : ''}`] : []),
        ...(failed.length > 0 ? [`not filled: ${failed.join(', ')}`] : []),
      ].join('; '),
      tsNs: this.deps.clock.nowNs(),
    });
    if (r.outcome === 'COMPLETE') this.stats.complete++;
    else if (r.outcome === 'UNWOUND') this.stats.unwound++;
    else this.stats.partial++;
    this.audit(BasketAuditType.ack, sized, {
      outcome: r.outcome,
      completion_pct: r.completionPct.toFixed(4),
      client_ids: r.legs.map((l) => l.clientId).join(','),
      unwind_client_ids: r.unwindClientIds.join(','),
      ...(ack.reason ? { reason: ack.reason } : {}),
    });
    return ack;
  }

  /** Checks the basket and sizes its weighted legs; throws BasketError naming the problem. */
  prepare(group: OrderGroup): { legs: GroupLegInput[]; policy: 'BEST_EFFORT' | 'ATOMIC' | 'PERCENTAGE'; refPrices: Map<string, number> } {
    const id = group.orderGroupId;
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id))
      throw new BasketError('BAD_BASKET', `order_group_id must be 1-64 letters, digits, - or _ (got ${JSON.stringify(id)})`);
    if (this.seen.has(id)) throw new BasketError('DUPLICATE_GROUP', `basket ${id} was already submitted`);
    if (group.legs.length === 0 || group.legs.length > MAX_LEGS)
      throw new BasketError('BAD_BASKET', `a basket needs 1 to ${MAX_LEGS} legs (got ${group.legs.length})`);
    const policy = group.atomic ? 'ATOMIC' : POLICY_NAME[group.policy];
    if (policy === undefined) throw new BasketError('BAD_BASKET', `unknown completion policy ${group.policy}`);
    if (policy === 'PERCENTAGE' && !(group.minCompletionPct > 0 && group.minCompletionPct <= 100)) {
      throw new BasketError('BAD_BASKET', `PERCENTAGE needs min_completion_pct in (0, 100] (got ${group.minCompletionPct})`);
    }
    const totalWeight = group.legs.reduce((a, l) => a + (l.weight > 0 ? l.weight : 0), 0);
    const refPrices = new Map<string, number>();
    const legs = group.legs.map((l, i): GroupLegInput => {
      const at = `leg ${i + 1} (${l.venue} ${l.symbol})`;
      if (!l.venue || !l.symbol) throw new BasketError('BAD_BASKET', `leg ${i + 1} needs a venue and a symbol`);
      if (l.side !== Side.BUY && l.side !== Side.SELL) throw new BasketError('BAD_BASKET', `${at} needs side buy or sell`);
      if (!(l.size >= 0) || !(l.weight >= 0) || !(l.limitPrice >= 0))
        throw new BasketError('BAD_BASKET', `${at}: size, weight and limit_price must be >= 0`);
      let size = l.size;
      if (size === 0) {
        if (!(l.weight > 0) || !(group.notional > 0))
          throw new BasketError('BAD_BASKET', `${at} has no size: give it a size, or a weight and the basket a notional`);
        const px = l.limitPrice > 0 ? l.limitPrice : this.mid(l.venue, l.symbol);
        if (px === undefined) throw new BasketError('NO_PRICE', `${at}: no price to size it from the notional (no book yet)`);
        size = (group.notional * l.weight) / totalWeight / px;
        refPrices.set(`${l.venue}|${l.symbol}`, px);
      }
      return {
        venue: l.venue,
        symbol: l.symbol,
        side: l.side,
        size,
        limitPrice: l.limitPrice,
        ...(totalWeight > 0 ? { weight: l.weight } : {}),
      };
    });
    return { legs, policy, refPrices };
  }

  private mid(venue: string, symbol: string): number | undefined {
    const s = this.deps.market.get(venue, symbol);
    return s && s.bid > 0 && s.ask > 0 ? (s.bid + s.ask) / 2 : undefined;
  }

  private refusal(id: string, reason: string): OrderGroupAck {
    return create(OrderGroupAckSchema, {
      orderGroupId: id,
      accepted: false,
      outcome: GroupOutcome.REFUSED,
      reason,
      tsNs: this.deps.clock.nowNs(),
    });
  }

  private audit(type: string, group: OrderGroup, meta: Record<string, string>): void {
    this.deps.audit?.record(type, group.orderGroupId, pack(OrderGroupSchema, group), {
      group_id: group.orderGroupId,
      operator: group.operator,
      ...meta,
    });
  }

  /** Stop taking baskets; resolves once the ones running have answered. */
  async stop(): Promise<void> {
    this.sub?.unsubscribe();
    this.sub = undefined;
    await Promise.allSettled([...this.inflight]);
  }
}

// ------------------------------------------------------------------ the trader's file format

const legJson = z.strictObject({
  venue: z.string().min(1),
  symbol: z.string().min(1),
  side: z.enum(['buy', 'sell']),
  size: z.number().nonnegative().optional(),
  weight: z.number().nonnegative().optional(),
  limit_price: z.number().nonnegative().optional(),
});

export const basketJsonSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, - and _ only (1-64)')
    .optional(),
  policy: z.enum(['ATOMIC', 'BEST_EFFORT', 'PERCENTAGE']),
  min_completion_pct: z.number().gt(0).max(100).optional(),
  notional: z.number().positive().optional(),
  legs: z.array(legJson).min(1).max(MAX_LEGS),
});

export type BasketJson = z.infer<typeof basketJsonSchema>;

/** A basket file → OrderGroup; a BasketError names the first bad field. `id` defaults to `basket-<ns>`. */
export function basketFromJson(doc: unknown, clock: Clock, operator = ''): OrderGroup {
  const r = basketJsonSchema.safeParse(doc);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new BasketError('BAD_BASKET', `basket: ${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
  }
  const b = r.data;
  return create(OrderGroupSchema, {
    orderGroupId: b.id ?? `basket-${clock.nowNs()}`,
    policy: CompletionPolicy[b.policy],
    minCompletionPct: b.min_completion_pct ?? (b.policy === 'PERCENTAGE' ? 0 : 100),
    notional: b.notional ?? 0,
    operator,
    legs: b.legs.map((l) =>
      create(OrderLegSchema, {
        venue: l.venue,
        symbol: l.symbol,
        side: l.side === 'buy' ? Side.BUY : Side.SELL,
        size: l.size ?? 0,
        weight: l.weight ?? 0,
        limitPrice: l.limit_price ?? 0,
      }),
    ),
  });
}

/** Send a basket on ord.group and wait for its ack (the legs must finish: IOC legs take a moment). */
export async function requestBasket(bus: Bus, ns: Namespace, group: OrderGroup, timeoutMs = 30_000): Promise<OrderGroupAck> {
  const res = await bus.request(subjects.orderGroup(ns), toBinary(OrderGroupSchema, group), { timeoutMs });
  return fromBinary(OrderGroupAckSchema, res.data);
}

/** What `kestrel basket submit` prints: one line for the basket, one per leg. */
export function formatBasketAck(a: OrderGroupAck): string {
  const outcome = GroupOutcome[a.outcome] ?? String(a.outcome);
  if (!a.accepted) return `basket ${a.orderGroupId || '(no id)'} refused: ${a.reason}\n`;
  const lines = [
    `basket ${a.orderGroupId} ${outcome}: ${a.completionPct.toFixed(1)}% complete, ${a.legs.length} legs${a.reason ? ` (${a.reason})` : ''}`,
  ];
  for (const l of a.legs) {
    lines.push(
      `  ${l.clientId} ${l.venue} ${l.symbol} ${l.side === Side.BUY ? 'buy' : 'sell'} ${l.filledQty}/${l.size} ${l.state}${l.weight > 0 ? ` weight ${l.weight}` : ''}`,
    );
  }
  if (a.unwindClientIds.length > 0) lines.push(`  unwound by ${a.unwindClientIds.join(', ')}`);
  return `${lines.join('\n')}\n`;
}
