import { describe, expect, it } from 'vitest';
import { Side } from '../../../src/contracts/index.js';
import { OrderRecord, OrderState } from '../../../src/execution/order.js';
import { groupCompletionPct, groupFailed, mustUnwind, unwindIntent } from '../../../src/execution/executor/baskets.js';
import type { GroupState } from '../../../src/execution/executor/types.js';

function leg(id: string, size: number, filled: number, side = Side.BUY): OrderRecord {
  const o = new OrderRecord(id, 'binance', 'BTC-USDT', side, size, 100, 1n, 'g1', '', 'group:g1', false, 1n, new Uint8Array());
  o.filledQty = filled;
  o.state = filled >= size ? OrderState.FILLED : OrderState.CANCELLED;
  return o;
}

function group(policy: GroupState['policy'], legs: OrderRecord[], weights?: number[], minPct = 100): GroupState {
  const w = new Map<OrderRecord, number>();
  weights?.forEach((x, i) => w.set(legs[i]!, x));
  return {
    id: 'g1',
    policy,
    minPct,
    legs,
    plannedSize: legs.reduce((a, l) => a + l.size, 0),
    plannedWeight: weights ? weights.reduce((a, x) => a + x, 0) : 0,
    weights: w,
    failedLegs: 0,
    cancelling: false,
    settled: false,
    resolve: () => undefined,
  };
}

describe('basket settlement', () => {
  it('measures completion by quantity, or by weight when legs carry weights', () => {
    const legs = [leg('a', 1, 1), leg('b', 3, 0)];
    expect(groupCompletionPct(group('BEST_EFFORT', legs))).toBeCloseTo(25);
    expect(groupCompletionPct(group('BEST_EFFORT', legs, [3, 1]))).toBeCloseTo(75);
  });

  it('unwinds ATOMIC on any shortfall and PERCENTAGE only below its minimum', () => {
    const legs = [leg('a', 1, 1), leg('b', 1, 0.5)];
    const atomic = group('ATOMIC', legs);
    expect(groupFailed(atomic)).toBe(true);
    expect(mustUnwind(atomic, true, 75)).toBe(true);
    const pct = group('PERCENTAGE', legs, undefined, 70);
    expect(mustUnwind(pct, true, groupCompletionPct(pct))).toBe(false);
    expect(mustUnwind(group('PERCENTAGE', legs, undefined, 80), true, 75)).toBe(true);
    expect(mustUnwind(group('BEST_EFFORT', legs), true, 0)).toBe(false);
  });

  it('unwinds a leg with the opposite side, its filled quantity, as an emergency (unwind:) order', () => {
    const l = leg('a', 2, 1.5, Side.SELL);
    expect(unwindIntent(group('ATOMIC', [l]), l, 40)).toEqual({
      venue: 'binance',
      symbol: 'BTC-USDT',
      side: Side.BUY,
      size: 1.5,
      refPrice: 0,
      slippageBps: 40,
      groupId: '',
      tag: 'unwind:g1',
    });
  });
});
