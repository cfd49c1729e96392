/**
 * Timers on the injected clock. Components that wait for time to pass (the executor's in-doubt and
 * lazy-commit timers, risk-limit and position publication) take a `Scheduler` next to their `Clock`:
 * live runs use `systemScheduler` (setTimeout), a backtest uses `VirtualScheduler`, whose timers fire
 * when the event clock passes their due time. A backtest in instant mode then does not depend on how
 * fast the machine is: the same recording gives the same timer firings, in the same order.
 */
import type { VirtualClock } from './clock.js';
import { KestrelError } from '../contracts/errors.js';

export interface TimerHandle {
  /** Stop the timer; a no-op once it fired (one-shot) or was cancelled. */
  cancel(): void;
}

export interface TimerOptions {
  /** systemScheduler: do not keep the process alive for this timer (Node `unref`). */
  unref?: boolean;
}

export interface Scheduler {
  /** Run `fn` once, `ms` milliseconds of this scheduler's time from now. */
  after(ms: number, fn: () => void, opts?: TimerOptions): TimerHandle;
  /** Run `fn` every `ms` milliseconds of this scheduler's time until cancelled. */
  every(ms: number, fn: () => void, opts?: TimerOptions): TimerHandle;
}

/** Wall time: Node timers. */
export const systemScheduler: Scheduler = {
  after(ms, fn, opts) {
    const t = setTimeout(fn, ms);
    if (opts?.unref) t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  every(ms, fn, opts) {
    const t = setInterval(fn, ms);
    if (opts?.unref) t.unref();
    return { cancel: () => clearInterval(t) };
  },
};

export class SchedulerError extends KestrelError {
  override readonly name = 'SchedulerError';
  constructor(message: string) {
    super('SCHEDULER_INVALID', message);
  }
}

/** A periodic timer further behind than this many periods skips to the last boundary reached. */
export const COALESCE_PERIODS = 1000n;

interface VirtualTimer {
  dueNs: bigint;
  /** Insertion order: timers due at the same instant fire in the order they were set. */
  seq: number;
  periodNs: bigint;
  fn: () => void;
  active: boolean;
}

/**
 * Event time: timers fire only from `advanceTo`, in (due time, insertion) order, with the clock set to
 * each timer's due time while it runs. A timer set by a firing timer fires in the same advance when
 * it is due by then. A periodic timer several periods behind fires at its first missed due time and
 * then once at the last period boundary reached (not once per missed period: an overnight gap in the
 * data would otherwise publish limits 345,600 times). The clock is owned by the scheduler's driver (the backtest kernel).
 */
export class VirtualScheduler implements Scheduler {
  private readonly timers: VirtualTimer[] = [];
  private seq = 0;
  /** Timers fired since construction. */
  fired = 0;

  constructor(readonly clock: VirtualClock) {}

  after(ms: number, fn: () => void): TimerHandle {
    return this.add(ms, 0n, fn);
  }

  every(ms: number, fn: () => void): TimerHandle {
    const periodNs = toNs(ms);
    if (periodNs <= 0n) throw new SchedulerError(`every: period must be positive, got ${ms} ms`);
    return this.add(ms, periodNs, fn);
  }

  /** Timers set and not yet fired or cancelled (periodic ones count while active). */
  get pending(): number {
    return this.timers.length;
  }

  /** Due time of the next timer, or undefined when none is set. */
  get nextDueNs(): bigint | undefined {
    return this.timers[0]?.dueNs;
  }

  /**
   * Move event time to `ns`, firing every timer due at or before it. Returns how many fired.
   * Time never goes backwards: an `ns` before the clock only fires what is already due.
   */
  advanceTo(ns: bigint): number {
    let n = 0;
    for (;;) {
      const t = this.timers[0];
      if (t === undefined || t.dueNs > ns) break;
      this.timers.shift();
      if (t.dueNs > this.clock.nowNs()) this.clock.set(t.dueNs);
      if (t.periodNs > 0n) {
        // Fallen behind by several periods (a gap in the data): the missed ones coalesce into one
        // firing at the last period boundary reached, as setInterval does after a blocked loop.
        t.dueNs += t.periodNs;
        if (ns - t.dueNs > COALESCE_PERIODS * t.periodNs) t.dueNs += ((ns - t.dueNs) / t.periodNs) * t.periodNs;
        this.insert(t);
      } else t.active = false;
      n++;
      this.fired++;
      t.fn();
    }
    if (ns > this.clock.nowNs()) this.clock.set(ns);
    return n;
  }

  private add(ms: number, periodNs: bigint, fn: () => void): TimerHandle {
    const delay = toNs(ms);
    const t: VirtualTimer = { dueNs: this.clock.nowNs() + (delay > 0n ? delay : 0n), seq: this.seq++, periodNs, fn, active: true };
    this.insert(t);
    return {
      cancel: () => {
        if (!t.active) return;
        t.active = false;
        const i = this.timers.indexOf(t);
        if (i >= 0) this.timers.splice(i, 1);
      },
    };
  }

  /** Sorted insert by (dueNs, seq); the timer list is short (a handful per component). */
  private insert(t: VirtualTimer): void {
    let lo = 0;
    let hi = this.timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.timers[mid]!;
      if (m.dueNs < t.dueNs || (m.dueNs === t.dueNs && m.seq < t.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.timers.splice(lo, 0, t);
  }
}

function toNs(ms: number): bigint {
  if (!Number.isFinite(ms)) throw new SchedulerError(`timer delay must be finite, got ${ms}`);
  return BigInt(Math.round(ms * 1e6));
}
