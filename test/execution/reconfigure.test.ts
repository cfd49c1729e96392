import fs from 'node:fs';
import { fromBinary } from '@bufbuild/protobuf';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { systemClock } from '../../src/clock/clock.js';
import { loadConfig } from '../../src/config/index.js';
import { executorSettingsOf } from '../../src/config/live.js';
import { OrderRequestSchema, RejectReason, TimeInForce } from '../../src/contracts/index.js';
import { Executor, ExecutorConfigError, type RejectEvent } from '../../src/execution/executor.js';
import type { ExecSignal } from '../../src/execution/types.js';
import { StaticRiskGateway } from '../../src/risk/static-gateway.js';
import { until } from '../support/wait.js';
import { binanceSpec, startVenue, tmpDir, type TestVenue } from './harness.js';
import { execSignal } from '../support/factories.js';

const signal = (over: Partial<ExecSignal> = {}): ExecSignal => execSignal({ size: 0.01, ...over }, 'reconf');

describe('executor settings from config, changed live', () => {
  let bus: InProcessBus;
  let venue: TestVenue;
  let risk: StaticRiskGateway;
  let dir: string;
  let ex: Executor;
  const rejects: RejectEvent[] = [];

  beforeEach(async () => {
    bus = new InProcessBus();
    venue = await startVenue(bus);
    risk = new StaticRiskGateway(bus, { perSymbolNotional: 1e9, portfolioNotional: 1e10, maxOrderNotional: 1e8 }, 'live', {
      clock: systemClock,
    });
    risk.start();
    dir = tmpDir('kestrel-reconf-');
  });
  afterEach(async () => {
    await ex?.close();
    risk.stop();
    await venue.stop();
    await bus.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const tifOfLast = () => fromBinary(OrderRequestSchema, [...ex.orders.values()].at(-1)!.requestBytes).tif;

  it('execution.use_ioc and flow_control.queue_sizes.signals are acted on, at start and by reconfigure', async () => {
    const config = loadConfig({ env: {}, overrides: { execution: { use_ioc: true }, flow_control: { queue_sizes: { signals: 7 } } } });
    const s = executorSettingsOf(config);
    expect(s).toMatchObject({ tif: TimeInForce.IOC, laneCapacity: 7, minConfidence: config.strategy.confidence_threshold });
    ex = new Executor(
      { bus, clock: systemClock, venues: [binanceSpec()], market: venue.market, recon: { binance: venue.client } },
      { namespace: 'live', mode: 'live', walDir: dir, tif: s.tif, laneCapacity: s.laneCapacity },
    );
    ex.onReject((e) => rejects.push(e));
    await ex.start();
    await until(() => ex.risk.current !== undefined);
    expect(ex.liveSettings.laneCapacity).toBe(7);
    ex.onSignal(signal());
    await until(() => ex.counters.sent === 1);
    expect(tifOfLast()).toBe(TimeInForce.IOC);

    // use_ioc: false and a stricter confidence, live: the next signal sees both.
    const off = executorSettingsOf(
      loadConfig({ env: {}, overrides: { execution: { use_ioc: false }, strategy: { confidence_threshold: 0.95 } } }),
    );
    expect(off.tif).toBe(TimeInForce.GTC);
    ex.reconfigure(off);
    ex.onSignal(signal({ confidence: 0.9 }));
    expect(rejects.at(-1)).toMatchObject({ reason: RejectReason.LOW_CONFIDENCE });
    ex.onSignal(signal({ confidence: 0.99 }));
    await until(() => ex.counters.sent === 2);
    expect(tifOfLast()).toBe(TimeInForce.GTC);

    // A bad setting changes nothing (all or nothing).
    expect(() => ex.reconfigure({ ...off, minConfidence: 0.1, laneCapacity: 0 })).toThrow(ExecutorConfigError);
    expect(ex.liveSettings.minConfidence).toBe(0.95);
    expect(ex.liveSettings.laneCapacity).toBe(5000);
  });
});
