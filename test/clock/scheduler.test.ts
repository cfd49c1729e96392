import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/clock.js';
import { SchedulerError, VirtualScheduler, systemScheduler } from '../../src/clock/scheduler.js';

describe('VirtualScheduler: timers on event time', () => {
  it('fires nothing until event time reaches the due time, then runs at the due time', () => {
    const clock = new VirtualClock(1_000_000_000n);
    const s = new VirtualScheduler(clock);
    const seen: bigint[] = [];
    s.after(5, () => seen.push(clock.nowNs()));
    expect(s.advanceTo(1_004_000_000n)).toBe(0);
    expect(seen).toEqual([]);
    expect(s.advanceTo(1_010_000_000n)).toBe(1);
    expect(seen).toEqual([1_005_000_000n]);
    expect(clock.nowNs()).toBe(1_010_000_000n);
    expect(s.pending).toBe(0);
  });

  it('fires due timers in (due time, insertion) order, periodic ones once per period passed', () => {
    const clock = new VirtualClock(0n);
    const s = new VirtualScheduler(clock);
    const log: string[] = [];
    s.every(250, () => log.push(`limits@${clock.nowNs() / 1_000_000n}`));
    s.after(500, () => log.push('a@500'));
    s.after(500, () => log.push('b@500'));
    s.after(100, () => log.push('c@100'));
    s.advanceTo(600_000_000n);
    expect(log).toEqual(['c@100', 'limits@250', 'limits@500', 'a@500', 'b@500']);
  });

  it('a periodic timer far behind (a gap in the data) coalesces the missed periods', () => {
    const clock = new VirtualClock(0n);
    const s = new VirtualScheduler(clock);
    const at: bigint[] = [];
    s.every(250, () => at.push(clock.nowNs() / 1_000_000n));
    s.advanceTo(3_600_000_000_000n); // one hour later
    expect(at).toEqual([250n, 3_600_000n]);
    s.advanceTo(3_600_600_000_000n);
    expect(at).toEqual([250n, 3_600_000n, 3_600_250n, 3_600_500n]);
  });

  it('a timer set by a firing timer fires in the same advance when it is due by then', () => {
    const clock = new VirtualClock(0n);
    const s = new VirtualScheduler(clock);
    const log: number[] = [];
    s.after(10, () => {
      log.push(Number(clock.nowNs() / 1_000_000n));
      s.after(10, () => log.push(Number(clock.nowNs() / 1_000_000n)));
    });
    expect(s.advanceTo(25_000_000n)).toBe(2);
    expect(log).toEqual([10, 20]);
  });

  it('a cancelled timer never fires; cancelling a periodic timer stops it', () => {
    const clock = new VirtualClock(0n);
    const s = new VirtualScheduler(clock);
    let once = 0;
    let ticks = 0;
    s.after(1, () => once++).cancel();
    const every = s.every(1, () => ticks++);
    s.advanceTo(3_000_000n);
    every.cancel();
    s.advanceTo(10_000_000n);
    expect(once).toBe(0);
    expect(ticks).toBe(3);
    expect(s.pending).toBe(0);
  });

  it('the same schedule gives the same firing sequence on every run (determinism)', () => {
    const run = () => {
      const clock = new VirtualClock(0n);
      const s = new VirtualScheduler(clock);
      const out: string[] = [];
      s.every(7, () => out.push(`p${clock.nowNs()}`));
      for (let i = 0; i < 20; i++) s.after(i * 3, () => out.push(`o${i}@${clock.nowNs()}`));
      for (let t = 0n; t < 80_000_000n; t += 13_000_000n) s.advanceTo(t);
      return out;
    };
    expect(run()).toEqual(run());
  });

  it('refuses a non-positive period and a non-finite delay', () => {
    const s = new VirtualScheduler(new VirtualClock(0n));
    expect(() => s.every(0, () => undefined)).toThrow(SchedulerError);
    expect(() => s.after(Number.NaN, () => undefined)).toThrow(SchedulerError);
  });
});

describe('systemScheduler: wall time', () => {
  it('runs a one-shot timer after its delay and a cancelled one never', async () => {
    let fired = 0;
    let cancelled = 0;
    systemScheduler.after(5, () => fired++);
    systemScheduler.after(5, () => cancelled++).cancel();
    await new Promise((r) => setTimeout(r, 30));
    expect(fired).toBe(1);
    expect(cancelled).toBe(0);
  });
});
