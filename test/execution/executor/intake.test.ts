import { describe, expect, it } from 'vitest';
import { RejectReason, Side, Urgency } from '../../../src/contracts/index.js';
import { VirtualClock } from '../../../src/clock/clock.js';
import { laneOf, screenSignal, signalExpired } from '../../../src/execution/executor/intake.js';
import { execSignal } from '../../support/factories.js';

const MS = 1_000_000n;
const lim = { maxClockSkewMs: 1, defaultTtlMs: 50, minConfidence: 0.5 };
const skewNs = 1n * MS;

describe('executor intake checks', () => {
  const clock = new VirtualClock(1_000_000n * MS);
  const now = clock.nowNs();

  it('passes a well-formed fresh signal', () => {
    expect(screenSignal(execSignal({ emitTsNs: now, ttlMs: 100 }), clock, new Set(), lim, skewNs)).toBeUndefined();
  });

  it('refuses an executed trace id as a duplicate and names the counter', () => {
    const s = execSignal({ emitTsNs: now });
    expect(screenSignal(s, clock, new Set([s.traceId]), lim, skewNs)).toMatchObject({
      reason: RejectReason.DUPLICATE_ORDER,
      counter: 'duplicates',
    });
  });

  it('refuses a signal without emit time and one stamped beyond the skew bound in the future', () => {
    expect(screenSignal(execSignal({ emitTsNs: 0n }), clock, new Set(), lim, skewNs)).toMatchObject({
      reason: RejectReason.SIGNAL_BAD_TIMESTAMP,
      counter: 'untimedSignals',
    });
    expect(screenSignal(execSignal({ emitTsNs: now + 2n * MS }), clock, new Set(), lim, skewNs)).toMatchObject({
      reason: RejectReason.SIGNAL_BAD_TIMESTAMP,
      counter: 'futureSignals',
    });
  });

  it('judges TTL on the safe side of the skew bound, defaulting ttl 0 to defaultTtlMs', () => {
    // ttl 10 ms, skew 1 ms: expired once older than 9 ms.
    expect(signalExpired(execSignal({ emitTsNs: now - 9n * MS, ttlMs: 10 }), now, lim, skewNs)).toBe(false);
    expect(signalExpired(execSignal({ emitTsNs: now - 9n * MS - 1n, ttlMs: 10 }), now, lim, skewNs)).toBe(true);
    expect(signalExpired(execSignal({ emitTsNs: now - 48n * MS, ttlMs: 0 }), now, lim, skewNs)).toBe(false);
    expect(signalExpired(execSignal({ emitTsNs: now - 50n * MS, ttlMs: 0 }), now, lim, skewNs)).toBe(true);
    expect(screenSignal(execSignal({ emitTsNs: now - 60n * MS, ttlMs: 0 }), clock, new Set(), lim, skewNs)?.reason).toBe(
      RejectReason.SIGNAL_EXPIRED,
    );
  });

  it('refuses low confidence, a missing side, a non-positive size and min_fill_qty above size', () => {
    const at = (over: Parameters<typeof execSignal>[0]) =>
      screenSignal(execSignal({ emitTsNs: now, ...over }), clock, new Set(), lim, skewNs);
    expect(at({ confidence: 0.4 })?.reason).toBe(RejectReason.LOW_CONFIDENCE);
    expect(at({ confidence: Number.NaN })?.reason).toBe(RejectReason.LOW_CONFIDENCE);
    expect(at({ side: Side.SIDE_UNSPECIFIED })?.reason).toBe(RejectReason.UNKNOWN);
    expect(at({ size: 0 })?.reason).toBe(RejectReason.UNKNOWN);
    expect(at({ size: 1, minFillQty: 2 })?.reason).toBe(RejectReason.MIN_SIZE);
  });

  it('maps urgency to lanes HIGH 0, NORMAL 1, LOW 2', () => {
    expect([laneOf(Urgency.HIGH), laneOf(Urgency.NORMAL), laneOf(Urgency.LOW)]).toEqual([0, 1, 2]);
  });
});
