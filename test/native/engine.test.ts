import { describe, expect, it } from 'vitest';
import { Side } from '../../src/contracts/index.js';
import { systemClock } from '../../src/clock/clock.js';
import type { ExecSignal } from '../../src/execution/types.js';
import {
  defaultIdleSpinNs,
  LAYOUT,
  NativeEngine,
  NativeEngineError,
  RingSignalSource,
  SignalBatch,
  TickBatch,
  TickRegion,
  replay,
} from '../../src/native/index.js';
import { syntheticTicks } from '../../scripts/gen-golden-synthetic.js';
import { until } from '../support/wait.js';

/** Seeded OU quote stream (scripts/gen-golden-synthetic.ts); it produces a handful of signals. */
function meanRevertingTicks(): TickBatch {
  return syntheticTicks({ ticks: 6000, seed: 7n }).batch;
}

describe('engine thread', () => {
  it('drains the tick ring, runs the native strategy, and wakes JS with the same signals replay computes', async () => {
    const ticks = meanRevertingTicks();
    const expected = replay(ticks).signals;
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.every((s) => s.side === (s.zscore > 0 ? Side.SELL : Side.BUY))).toBe(true);

    const region = TickRegion.create({ name: `kestrel-test-engine-${process.pid}`, symbols: ['X-USD'], replace: true });
    const source = new RingSignalSource(region, { clock: systemClock });
    const got: ExecSignal[] = [];
    source.onSignal((s) => got.push(s));
    const engine = new NativeEngine(region, { engine: 'native', onSignals: source.notify });
    try {
      engine.start();
      expect(engine.running).toBe(true);
      expect(region.counters().engineRunning).toBe(true);
      region.pushBatch(0, ticks);
      await until(() => got.length >= expected.length && engine.stats().ticks === ticks.count);
      expect(got.map((s) => s.sourceSequence)).toEqual(expected.map((s) => s.sourceSeq));
      expect(got.map((s) => s.size)).toEqual(expected.map((s) => s.size));
      // the regime byte (SignalRecord @35) reaches the executor's signal unchanged
      expect(got.map((s) => s.regime)).toEqual(expected.map((s) => s.regime));
      expect(expected.some((s) => s.regime !== 0)).toBe(true);
      expect(got[0]!.symbol).toBe('X-USD');
      expect(got[0]!.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(engine.stats().notifies).toBeGreaterThan(0);
      expect(engine.stats().notifies).toBeLessThanOrEqual(got.length);
      engine.stop();
      expect(engine.running).toBe(false);
      expect(engine.lastError()).toBeNull();
      expect(region.counters().engineRunning).toBe(false);

      // restart on the same region: the engine resumes where the ring's tail is
      engine.start();
      region.pushTick(0, { tsNs: 10n ** 13n, flags: 0, bid: 99, ask: 99.01, bidSize: 1, askSize: 1 });
      await until(() => region.counters().ticks[0]!.tail === ticks.count + 1);
      engine.stop();
    } finally {
      engine.stop();
      source.close();
      region.unlink();
      region.close();
    }
  });

  it('refuses a second consumer on the same region, and julia without the runtime, with typed errors', () => {
    const region = TickRegion.create({ name: `kestrel-test-engine2-${process.pid}`, symbols: ['X-USD'], replace: true });
    const a = new NativeEngine(region);
    const b = new NativeEngine(region);
    try {
      a.start();
      expect(() => b.start()).toThrow(expect.objectContaining({ code: 'ENGINE_ALREADY_RUNNING' }));
      a.stop();
      const j = new NativeEngine(region, { engine: 'julia', juliaHome: '/nonexistent/julia' });
      let err: unknown;
      try {
        j.start();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NativeEngineError);
      expect((err as NativeEngineError).code).toMatch(/^(JULIA_|SYSIMAGE_)/);
      expect(j.running).toBe(false);
      expect(region.counters().engineRunning).toBe(false);
      expect(() => new NativeEngine(region, { params: { kelly_fraction: 2 } })).toThrow(
        expect.objectContaining({ code: 'BAD_STRATEGY_PARAMS' }),
      );
      expect(() => new NativeEngine(region, { engine: 'rust' as 'native' })).toThrow(expect.objectContaining({ code: 'BAD_ENGINE' }));
      // pinning: a CPU that does not exist fails start() cleanly and leaves the region unclaimed
      const pinnedBad = new NativeEngine(region, { cpu: 1023 });
      expect(() => pinnedBad.start()).toThrow(expect.objectContaining({ code: 'BAD_ENGINE_OPTIONS' }));
      expect(region.counters().engineRunning).toBe(false);
      const pinned = new NativeEngine(region, { cpu: 0 });
      pinned.start();
      expect(pinned.running).toBe(true);
      pinned.stop();
    } finally {
      a.stop();
      b.stop();
      region.unlink();
      region.close();
    }
  });

  it('signal ring overflow drops the oldest signals and the drain reports how many', async () => {
    const region = TickRegion.create({ name: `kestrel-test-sigov-${process.pid}`, symbols: ['X-USD'], signalCapacity: 16, replace: true });
    // Loose thresholds and no cooldown: many signals, nobody draining while the engine runs.
    const params = { z_entry: 0.1, z_high: 5, cooldown_ns: 0, min_confidence: 0, vpin_max: 1 };
    const ticks = syntheticTicks({ ticks: 6000, seed: 7n }).batch;
    const total = replay(ticks, { params }).signals;
    expect(total.length).toBeGreaterThan(100);
    const engine = new NativeEngine(region, { params });
    try {
      engine.start();
      region.pushBatch(0, ticks);
      await until(() => engine.stats().ticks === ticks.count);
      engine.stop();
      const batch = new SignalBatch(64);
      expect(region.drainSignals(batch)).toEqual({ count: 16, missed: total.length - 16 });
      // what survives is the newest 16, in order
      expect(batch.get(0).sourceSeq).toBe(total[total.length - 16]!.sourceSeq);
      expect(batch.get(15).sourceSeq).toBe(total[total.length - 1]!.sourceSeq);
      expect(region.counters().signals.drops).toBe(total.length - 16);
      expect(LAYOUT.kSignalRecordSize).toBe(128);
    } finally {
      engine.stop();
      region.unlink();
      region.close();
    }
  });
});

describe('engine idle spin default', () => {
  it('spins 50 µs only with a core of its own: pinned, or more than two CPUs; sleeps at once otherwise', () => {
    expect(defaultIdleSpinNs(undefined, 2)).toBe(0);
    expect(defaultIdleSpinNs(-1, 1)).toBe(0);
    expect(defaultIdleSpinNs(1, 2)).toBe(50_000);
    expect(defaultIdleSpinNs(undefined, 8)).toBe(50_000);
  });
});

describe('engine wake-up across processes', () => {
  it('a sleeping engine is woken by ticks another process pushes (shared futex doorbell)', async () => {
    const { fork } = await import('node:child_process');
    const path = await import('node:path');
    const { fileURLToPath } = await import('node:url');
    const here = path.dirname(fileURLToPath(import.meta.url));
    const region = TickRegion.create({ name: `kestrel-test-wake-${process.pid}`, symbols: ['X'], replace: true });
    const engine = new NativeEngine(region, { idleSpinNs: 1000 });
    try {
      engine.start();
      await until(() => engine.stats().sleeps > 0); // idle: spun 1 µs, now asleep on the doorbell
      const child = fork(path.join(here, 'fixtures/ring-producer.ts'), [region.name, '1000', '1'], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      await new Promise<void>((r) => child.once('message', () => r()));
      const sleepsBefore = engine.stats().sleeps;
      const header = new DataView(region.buffer());
      const bellBefore = header.getUint32(LAYOUT.kRegionDoorbellOffset, true);
      child.send('go');
      await until(() => engine.stats().ticks === 1000);
      expect(region.counters().ticks[0]).toMatchObject({ head: 1000, tail: 1000, drops: 0 });
      // the child rang the doorbell (it saw the engine's waiter flag), not just the 100 ms timeout
      expect(header.getUint32(LAYOUT.kRegionDoorbellOffset, true)).toBeGreaterThan(bellBefore);
      // it went back to sleep afterwards instead of spinning forever
      await until(() => engine.stats().sleeps > sleepsBefore);
    } finally {
      engine.stop();
      region.unlink();
      region.close();
    }
  });
});
