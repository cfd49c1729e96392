import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock/clock.js';
import type { ExecSignal } from '../../src/execution/types.js';
import {
  NativeEngine,
  NativeEngineError,
  RingSignalSource,
  TickBatch,
  TickRegion,
  replay,
  type TickInput,
} from '../../src/native/index.js';
import { syntheticTicks } from '../../scripts/gen-golden-synthetic.js';
import { until } from '../support/wait.js';

/** Loose thresholds and no cooldown: many signals from the seeded OU stream. */
const loose = { z_entry: 0.1, z_high: 5, cooldown_ns: 0, min_confidence: 0, vpin_max: 1 };

function batchOf(ticks: readonly TickInput[]): TickBatch {
  const out = new TickBatch(ticks.length);
  for (const t of ticks) out.push(t);
  return out;
}

describe('engine parameters over the command ring', () => {
  it('a running engine applies a parameter change between ticks: signals before it match replay, signals after it obey it', async () => {
    const { batch: all, ticks } = syntheticTicks({ ticks: 6000, seed: 7n });
    const half = 3000;
    const expected = replay(all, { params: loose }).signals;
    const before = expected.filter((s) => s.sourceSeq < BigInt(half));
    const afterUnchanged = expected.filter((s) => s.sourceSeq >= BigInt(half));
    expect(before.length).toBeGreaterThan(0);
    // Without the change the second half would size signals above the new cap.
    expect(afterUnchanged.some((s) => s.size > 0.002)).toBe(true);

    const region = TickRegion.create({ name: `kestrel-test-params-${process.pid}`, symbols: ['X-USD'], replace: true });
    const source = new RingSignalSource(region, { clock: systemClock });
    const got: ExecSignal[] = [];
    source.onSignal((s) => got.push(s));
    const engine = new NativeEngine(region, { params: loose, onSignals: source.notify });
    try {
      engine.start();
      region.pushBatch(0, batchOf(ticks.slice(0, half)));
      await until(() => engine.stats().ticks === half && got.length >= before.length);
      expect(got.map((s) => s.size)).toEqual(before.map((s) => s.size));

      engine.updateParams({ max_size: 0.002, min_size: 0.0001 });
      await until(() => engine.stats().paramsApplied === 1);
      expect(engine.params().max_size).toBe(0.002);
      const n = got.length;
      region.pushBatch(0, batchOf(ticks.slice(half)));
      await until(() => engine.stats().ticks === all.count);
      await until(() => got.length > n);
      const after = got.slice(n);
      expect(after.every((s) => s.size <= 0.002 + 1e-12)).toBe(true);
      expect(after.every((s) => Number(s.sourceSequence) >= half)).toBe(true);
      expect(engine.stats().paramsRefused).toBe(0);
    } finally {
      engine.stop();
      source.close();
      region.unlink();
      region.close();
    }
  });

  it('a state-shaping parameter is refused while the engine runs (PARAM_NOT_LIVE) and taken when stopped', () => {
    const region = TickRegion.create({ name: `kestrel-test-params-nl-${process.pid}`, symbols: ['X-USD'], replace: true });
    const engine = new NativeEngine(region, {});
    try {
      engine.start();
      let err: unknown;
      try {
        engine.updateParams({ ou_window: 100 });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NativeEngineError);
      expect((err as NativeEngineError).code).toBe('PARAM_NOT_LIVE');
      expect((err as Error).message).toMatch(/ou_window/);
      expect(engine.params().ou_window).toBe(300);
      // an invalid value is refused before the queue, with the validation code
      expect(() => engine.updateParams({ kelly_fraction: 2 })).toThrow(/kelly_fraction/);
      expect(engine.params().kelly_fraction).toBe(0.25);
      engine.stop();
      engine.updateParams({ ou_window: 100 });
      expect(engine.params().ou_window).toBe(100);
    } finally {
      engine.stop();
      region.unlink();
      region.close();
    }
  });
});
