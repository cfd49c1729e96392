/**
 * Issue 10 item 7: a restarted risk gateway starts at version 1 again; executors must take its
 * limits (ordered by epoch = gateway start id, then version) instead of dropping them as old.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock/clock.js';
import { create } from '@bufbuild/protobuf';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { RiskLimitsSchema } from '../../src/contracts/index.js';
import { Executor } from '../../src/execution/executor.js';
import { LocalRiskGuard } from '../../src/execution/risk-guard.js';
import { SnapshotStore } from '../../src/execution/types.js';
import { StaticRiskGateway } from '../../src/risk/static-gateway.js';
import { binanceSpec, tmpDir } from '../execution/harness.js';
import { until } from '../support/wait.js';

describe('risk.limits epoch', () => {
  it('an executor takes the limits of a restarted gateway although its version starts again at 1', async () => {
    const bus = new InProcessBus();
    const dir = tmpDir('kestrel-epoch-');
    const ex = new Executor(
      { bus, clock: systemClock, venues: [binanceSpec()], market: new SnapshotStore() },
      { mode: 'live', namespace: 'live', walDir: dir, awaitRiskLimitsMs: 0 },
    );
    try {
      await ex.start();
      const first = new StaticRiskGateway(
        bus,
        { perSymbolNotional: 1000, portfolioNotional: 5000, maxOrderNotional: 500, publishIntervalMs: 5 },
        'live',
        { clock: systemClock },
      );
      first.start();
      await until(() => (ex.risk.current?.version ?? 0n) >= 20n);
      first.stop();
      // The replacement publishes tighter limits from version 1.
      const second = new StaticRiskGateway(
        bus,
        { perSymbolNotional: 100, portfolioNotional: 500, maxOrderNotional: 50, publishIntervalMs: 5 },
        'live',
        { clock: systemClock },
      );
      expect(second.epoch).toBeGreaterThan(first.epoch);
      second.start();
      await until(() => ex.risk.current?.epoch === second.epoch, 500);
      expect(ex.risk.current!.maxOrderNotional).toBe(50);
      expect(ex.risk.current!.version).toBeLessThan(20n);
      second.stop();
    } finally {
      await ex.close();
      await bus.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('drops a late message of the replaced gateway while the current limits are fresh; takes any epoch once they are stale', () => {
    const guard = new LocalRiskGuard(1_000_000_000n, 0.9);
    const lim = (epoch: bigint, version: bigint, maxOrderNotional: number) =>
      create(RiskLimitsSchema, { epoch, version, maxOrderNotional, tradingEnabled: true });
    guard.update(lim(200n, 1n, 50), 0n);
    guard.update(lim(100n, 90n, 500), 10n); // older gateway, higher version: ignored
    expect(guard.current!.maxOrderNotional).toBe(50);
    guard.update(lim(200n, 2n, 60), 20n);
    expect(guard.current!.maxOrderNotional).toBe(60);
    guard.update(lim(200n, 1n, 70), 30n); // same epoch, lower version: ignored
    expect(guard.current!.maxOrderNotional).toBe(60);
    // The epoch-200 gateway went silent past the staleness window: a gateway whose start id sorts
    // lower (clock stepped back) is still taken rather than leaving the guard blind.
    guard.update(lim(150n, 1n, 80), 2_000_000_000n);
    expect(guard.current!.maxOrderNotional).toBe(80);
  });
});
