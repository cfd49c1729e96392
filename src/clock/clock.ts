/**
 * Time sources. Every component that stamps time takes a `Clock` so that live runs use the wall clock
 * and replay/backtests use virtual time (ARCHITECTURE "Determinism and replay").
 */

export interface Clock {
  /** Wall-clock time in nanoseconds since the Unix epoch. Never goes backwards. */
  nowNs(): bigint;
}

/**
 * The wall clock in ns and process.hrtime in ns at one instant, to well under a microsecond. A plain
 * Date.now() anchor truncates to the millisecond, which alone put two processes' clocks up to 1 ms
 * apart on one host (docs/PERFORMANCE.md "Clock skew"), as large as the signal TTL's skew allowance.
 * So this spins to edges of Date.now(), where the wall time is exactly the new millisecond, and keeps
 * the sharpest: it stops at the first edge seen within 2 µs (cold code or a preemption can blur one),
 * after at most `maxEdges` ms, so anchoring costs about 1 ms, once per clock.
 */
export function wallClockAnchor(maxEdges = 10): { wallNs: bigint; hrNs: bigint } {
  let best = { wallNs: 0n, hrNs: 0n, widthNs: -1n };
  for (let e = 0; e < maxEdges; e++) {
    let prevBefore = process.hrtime.bigint();
    let prevMs = Date.now();
    for (;;) {
      const before = process.hrtime.bigint();
      const ms = Date.now();
      const after = process.hrtime.bigint();
      if (ms !== prevMs) {
        // The edge lies after the previous Date.now() began and before this one ended.
        const widthNs = after - prevBefore;
        if (best.widthNs < 0n || widthNs < best.widthNs)
          best = { wallNs: BigInt(ms) * 1_000_000n, hrNs: prevBefore + widthNs / 2n, widthNs };
        break;
      }
      prevMs = ms;
      prevBefore = before;
    }
    if (best.widthNs <= 2_000n) break;
  }
  return { wallNs: best.wallNs, hrNs: best.hrNs };
}

/**
 * Wall-clock ns anchored once (wallClockAnchor) and advanced by process.hrtime.bigint(): monotonic (NTP
 * steps cannot move it backwards) and with sub-microsecond resolution, which Date.now() lacks.
 */
export class SystemClock implements Clock {
  private readonly anchorWallNs: bigint;
  private readonly anchorHr: bigint;

  constructor() {
    const a = wallClockAnchor();
    this.anchorHr = a.hrNs;
    this.anchorWallNs = a.wallNs;
  }

  nowNs(): bigint {
    return this.anchorWallNs + (process.hrtime.bigint() - this.anchorHr);
  }
}

/** Virtual time: advances only when told. Used by replay in `instant` mode and by tests. */
export class VirtualClock implements Clock {
  private current: bigint;

  constructor(startNs: bigint = 0n) {
    this.current = startNs;
  }

  nowNs(): bigint {
    return this.current;
  }

  /** Move to `ns`; refuses to go backwards so consumers can rely on monotonic time. */
  set(ns: bigint): void {
    if (ns < this.current) throw new RangeError(`virtual clock cannot go backwards: ${ns} < ${this.current}`);
    this.current = ns;
  }

  advance(deltaNs: bigint): void {
    if (deltaNs < 0n) throw new RangeError(`negative clock advance: ${deltaNs}`);
    this.current += deltaNs;
  }
}

/** The process-wide default system clock (one anchor for the whole process). */
export const systemClock: Clock = new SystemClock();
