import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../src/venues/common/backoff.js';

describe('Backoff', () => {
  it('draws full jitter below an exponentially growing cap', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, multiplier: 2, maxAttemptsPerWindow: 1000, windowMs: 60_000 }, () => 0.999);
    const caps: number[] = [];
    let now = 0;
    for (let i = 0; i < 6; i++) {
      const d = b.nextDelayMs(now);
      caps.push(Math.round(d));
      now += d;
      b.record(now);
    }
    expect(caps).toEqual([100, 200, 400, 799, 999, 999]);
    b.reset();
    expect(Math.round(b.nextDelayMs(now))).toBe(100);
  });

  it('spreads clients: with random draws the delays differ', () => {
    const delays = Array.from({ length: 20 }, () => new Backoff({ initialMs: 1000 }).nextDelayMs(0));
    expect(new Set(delays.map((d) => Math.round(d))).size).toBeGreaterThan(10);
    expect(delays.every((d) => d >= 0 && d <= 1000)).toBe(true);
  });

  it('never allows more attempts in a window than the budget, whatever the jitter draws', () => {
    const b = new Backoff({ initialMs: 0, maxMs: 0, multiplier: 1, maxAttemptsPerWindow: 3, windowMs: 1000 }, () => 0);
    const at: number[] = [];
    let now = 0;
    for (let i = 0; i < 10; i++) {
      now += b.nextDelayMs(now);
      b.record(now);
      at.push(now);
    }
    for (let i = 0; i < at.length; i++) expect(at.filter((t) => t >= at[i]! && t < at[i]! + 1000).length).toBeLessThanOrEqual(3);
    expect(at.at(-1)!).toBeGreaterThanOrEqual(3000);
  });

  it('rejects nonsensical policies', () => {
    expect(() => new Backoff({ initialMs: 10, maxMs: 5 })).toThrow(RangeError);
    expect(() => new Backoff({ maxAttemptsPerWindow: 0 })).toThrow(RangeError);
    expect(() => new Backoff({ multiplier: 0.5 })).toThrow(RangeError);
  });
});
