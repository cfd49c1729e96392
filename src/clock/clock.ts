/**
 * Time sources. Every component that stamps time takes a `Clock` so that live runs use the wall clock
 * and replay/backtests use virtual time (ARCHITECTURE "Determinism and replay").
 */

export interface Clock {
  /** Wall-clock time in nanoseconds since the Unix epoch. Never goes backwards. */
  nowNs(): bigint;
}

/**
 * Wall-clock ns anchored once to Date.now() and advanced by process.hrtime.bigint(): monotonic (NTP
 * steps cannot move it backwards) and with sub-microsecond resolution, which Date.now() lacks.
 */
export class SystemClock implements Clock {
  private readonly anchorWallNs: bigint;
  private readonly anchorHr: bigint;

  constructor() {
    this.anchorHr = process.hrtime.bigint();
    this.anchorWallNs = BigInt(Date.now()) * 1_000_000n;
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
