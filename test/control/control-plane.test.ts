import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { RejectReason, Side, Urgency } from '../../src/contracts/index.js';
import { ControlCommandError, ControlPlane, sendControl } from '../../src/control/control-plane.js';
import { Executor } from '../../src/execution/executor.js';
import { nowNs } from '../../src/execution/types.js';
import { StaticRiskGateway } from '../../src/risk/static-gateway.js';
import { binanceSpec, startVenue, tmpDir, type TestVenue } from '../execution/harness.js';

describe('control plane over the bus', () => {
  let bus: InProcessBus;
  let venue: TestVenue;
  let ex: Executor;
  let risk: StaticRiskGateway;
  let dir: string;
  let plane: ControlPlane;
  const rejects: RejectReason[] = [];

  beforeEach(async () => {
    bus = new InProcessBus();
    venue = await startVenue(bus);
    risk = new StaticRiskGateway(bus, { perSymbolNotional: 1e9, portfolioNotional: 1e10, maxOrderNotional: 1e8 }, 'live');
    risk.start();
    dir = tmpDir('kestrel-ctl-');
    ex = new Executor({ bus, venues: [binanceSpec()], market: venue.market, recon: { binance: venue.client } }, { namespace: 'live', mode: 'live', walDir: dir });
    ex.onReject((e) => rejects.push(e.reason));
    await ex.start();
    plane = new ControlPlane(bus, ex, 'live');
    plane.start();
    rejects.length = 0;
  });

  afterEach(async () => {
    plane.stop();
    await ex.close();
    risk.stop();
    await venue.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const sig = (traceId: string) => ({
    strategyId: 's', symbol: 'BTC-USDT', side: Side.BUY, size: 0.1, confidence: 0.9, ttlMs: 1000, maxSlippageBps: 50,
    minFillQty: 0, urgency: Urgency.NORMAL, traceId, sourceSequence: 0n, emitTsNs: nowNs(), refPrice: 0,
  });

  it('kill switch, resume, venue pause/resume and breaker override arrive over ctl.*', async () => {
    await sendControl(bus, 'live', { command: 'kill', reason: 'test', operator: 'me' });
    ex.onSignal(sig('a'));
    expect(rejects).toEqual([RejectReason.KILL_SWITCH]);
    await sendControl(bus, 'live', { command: 'resume' });
    await sendControl(bus, 'live', { command: 'pause_venue', venue: 'binance' });
    expect(ex.isPaused('binance')).toBe(true);
    await sendControl(bus, 'live', { command: 'resume_venue', venue: 'binance' });
    await sendControl(bus, 'live', { command: 'circuit_open', venue: 'binance' });
    ex.onSignal(sig('b'));
    expect(rejects.at(-1)).toBe(RejectReason.CIRCUIT_OPEN);
    await sendControl(bus, 'live', { command: 'circuit_auto', venue: 'binance' });
    ex.onSignal(sig('c'));
    await new Promise((r) => setTimeout(r, 200));
    expect(ex.counters.fills).toBe(1);
    await expect(sendControl(bus, 'live', { command: 'pause_venue' })).rejects.toThrow(ControlCommandError);
    await expect(sendControl(bus, 'live', { command: 'explode' })).rejects.toThrow(/unknown control command/);
  });

  it('flatten closes every position, or only the named symbol', async () => {
    ex.onSignal(sig('f1'));
    await new Promise((r) => setTimeout(r, 200));
    expect(ex.book.quantity('binance', 'BTC-USDT')).toBeCloseTo(0.1, 12);
    await sendControl(bus, 'live', { command: 'flatten', symbol: 'ETH-USDT', reason: 'stop' });
    await new Promise((r) => setTimeout(r, 100));
    expect(ex.book.quantity('binance', 'BTC-USDT')).toBeCloseTo(0.1, 12); // another symbol's: untouched
    await sendControl(bus, 'live', { command: 'flatten', reason: 'eod' });
    await new Promise((r) => setTimeout(r, 200));
    expect(Math.abs(ex.book.quantity('binance', 'BTC-USDT'))).toBeLessThan(1e-12);
  });
});
