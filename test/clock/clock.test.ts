import { describe, expect, it } from 'vitest';
import { SystemClock, VirtualClock, systemClock } from '../../src/clock/clock.js';

describe('SystemClock', () => {
  it('anchors to the microsecond: clocks anchored at different moments (processes) agree far below the 1 ms skew allowance', () => {
    // Each service anchors its clock once at start; a Date.now() anchor truncates to the ms, so two
    // anchors could disagree by up to 1 ms, the whole default maxClockSkewMs of the TTL check.
    const clocks: SystemClock[] = [];
    for (let i = 0; i < 20; i++) {
      const until = process.hrtime.bigint() + 170_000n + BigInt(i) * 13_000n; // spread anchors across the ms
      while (process.hrtime.bigint() < until) {
        // busy wait: a timer cannot wait less than 1 ms
      }
      clocks.push(new SystemClock());
    }
    let worstNs = 0n;
    for (const c of clocks) {
      // Best of a few back-to-back reads: a preemption between two reads is not a clock difference.
      let d = -1n;
      for (let k = 0; k < 5; k++) {
        const a = systemClock.nowNs();
        const b = c.nowNs();
        const x = b > a ? b - a : a - b;
        if (d < 0n || x < d) d = x;
      }
      if (d > worstNs) worstNs = d;
    }
    expect(Number(worstNs) / 1e3).toBeLessThan(50); // µs
  });

  it('reads wall-clock nanoseconds close to Date.now and never goes backwards', () => {
    const c = new SystemClock();
    const wall = BigInt(Date.now()) * 1_000_000n;
    const t = c.nowNs();
    expect(t - wall < 50_000_000n && wall - t < 50_000_000n).toBe(true);
    let prev = c.nowNs();
    for (let i = 0; i < 100_000; i++) {
      const n = c.nowNs();
      expect(n >= prev).toBe(true);
      prev = n;
    }
  });

  it('has sub-millisecond resolution', () => {
    const c = new SystemClock();
    const seen = new Set<bigint>();
    for (let i = 0; i < 1000; i++) seen.add(c.nowNs() % 1_000_000n);
    expect(seen.size).toBeGreaterThan(10);
  });
});

describe('VirtualClock', () => {
  it('moves only when told and refuses to go backwards', () => {
    const c = new VirtualClock(100n);
    expect(c.nowNs()).toBe(100n);
    c.advance(50n);
    expect(c.nowNs()).toBe(150n);
    c.set(1000n);
    expect(c.nowNs()).toBe(1000n);
    expect(() => c.set(999n)).toThrow(RangeError);
    expect(() => c.advance(-1n)).toThrow(RangeError);
    expect(c.nowNs()).toBe(1000n);
  });
});
