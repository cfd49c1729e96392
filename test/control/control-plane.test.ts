import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { RejectReason, Side, Urgency } from '../../src/contracts/index.js';
import { ControlCommandError, ControlPlane, sendControl } from '../../src/control/control-plane.js';
import { ControlAudit } from '../../src/audit/control-audit.js';
import { FileAuditSink } from '../../src/audit/sinks.js';
import { verifyChain } from '../../src/audit/chain.js';
import { VirtualClock, systemClock } from '../../src/clock/clock.js';
import { ControlCommandSchema } from '../../src/contracts/index.js';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { Executor } from '../../src/execution/executor.js';
import { StaticRiskGateway } from '../../src/risk/static-gateway.js';
import { binanceSpec, startVenue, tmpDir, type TestVenue } from '../execution/harness.js';

describe('control plane over the bus', () => {
  let bus: InProcessBus;
  let venue: TestVenue;
  let ex: Executor;
  let risk: StaticRiskGateway;
  let dir: string;
  let plane: ControlPlane;
  let auditFile: string;
  let auditSink: FileAuditSink;
  const rejects: RejectReason[] = [];

  beforeEach(async () => {
    bus = new InProcessBus();
    venue = await startVenue(bus);
    risk = new StaticRiskGateway(bus, { perSymbolNotional: 1e9, portfolioNotional: 1e10, maxOrderNotional: 1e8 }, 'live', {
      clock: systemClock,
    });
    risk.start();
    dir = tmpDir('kestrel-ctl-');
    ex = new Executor(
      { bus, clock: systemClock, venues: [binanceSpec()], market: venue.market, recon: { binance: venue.client } },
      { namespace: 'live', mode: 'live', walDir: dir },
    );
    ex.onReject((e) => rejects.push(e.reason));
    await ex.start();
    auditFile = `${dir}/audit/control.log`;
    auditSink = new FileAuditSink(auditFile);
    plane = new ControlPlane(bus, ex, 'live', { audit: await ControlAudit.open(auditSink, 'executor', false, new VirtualClock(1n)) });
    plane.start();
    rejects.length = 0;
  });

  afterEach(async () => {
    plane.stop();
    await auditSink.close();
    await ex.close();
    risk.stop();
    await venue.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const sig = (traceId: string) => ({
    strategyId: 's',
    symbol: 'BTC-USDT',
    side: Side.BUY,
    size: 0.1,
    confidence: 0.9,
    ttlMs: 1000,
    maxSlippageBps: 50,
    minFillQty: 0,
    urgency: Urgency.NORMAL,
    traceId,
    sourceSequence: 0n,
    emitTsNs: systemClock.nowNs(),
    refPrice: 0,
  });

  it('kill switch, resume, venue pause/resume and breaker override arrive over ctl.*', async () => {
    await sendControl(bus, 'live', { command: 'kill', reason: 'test', operator: 'me' }, systemClock);
    ex.onSignal(sig('a'));
    expect(rejects).toEqual([RejectReason.KILL_SWITCH]);
    await sendControl(bus, 'live', { command: 'resume' }, systemClock);
    await sendControl(bus, 'live', { command: 'pause_venue', venue: 'binance' }, systemClock);
    expect(ex.isPaused('binance')).toBe(true);
    await sendControl(bus, 'live', { command: 'resume_venue', venue: 'binance' }, systemClock);
    await sendControl(bus, 'live', { command: 'circuit_open', venue: 'binance' }, systemClock);
    ex.onSignal(sig('b'));
    expect(rejects.at(-1)).toBe(RejectReason.CIRCUIT_OPEN);
    await sendControl(bus, 'live', { command: 'circuit_auto', venue: 'binance' }, systemClock);
    ex.onSignal(sig('c'));
    await new Promise((r) => setTimeout(r, 200));
    expect(ex.counters.fills).toBe(1);
    await expect(sendControl(bus, 'live', { command: 'pause_venue' }, systemClock)).rejects.toThrow(ControlCommandError);
    await expect(sendControl(bus, 'live', { command: 'explode' }, systemClock)).rejects.toThrow(/unknown control command/);
  });

  it('flatten closes every position, or only the named symbol', async () => {
    ex.onSignal(sig('f1'));
    await new Promise((r) => setTimeout(r, 200));
    expect(ex.book.quantity('binance', 'BTC-USDT')).toBeCloseTo(0.1, 12);
    await sendControl(bus, 'live', { command: 'flatten', symbol: 'ETH-USDT', reason: 'stop' }, systemClock);
    await new Promise((r) => setTimeout(r, 100));
    expect(ex.book.quantity('binance', 'BTC-USDT')).toBeCloseTo(0.1, 12); // another symbol's: untouched
    await sendControl(bus, 'live', { command: 'flatten', reason: 'eod' }, systemClock);
    await new Promise((r) => setTimeout(r, 200));
    expect(Math.abs(ex.book.quantity('binance', 'BTC-USDT'))).toBeLessThan(1e-12);
  });

  it('resume cannot clear a risk kill; clear_halt risk (operator + reason) does, and every step is in the audit chain', async () => {
    await sendControl(bus, 'live', { command: 'kill', haltCause: 'risk', reason: 'max drawdown', operator: 'risk-gateway' }, systemClock);
    await expect(sendControl(bus, 'live', { command: 'resume', operator: 'bob' }, systemClock)).rejects.toThrow(
      /resume cannot clear a risk halt/,
    );
    ex.onSignal(sig('r1'));
    expect(rejects).toEqual([RejectReason.KILL_SWITCH]);
    expect(ex.isHalted).toBe(true);
    await expect(sendControl(bus, 'live', { command: 'clear_halt', haltCause: 'risk' }, systemClock)).rejects.toThrow(
      /operator and reason/,
    );
    await expect(
      sendControl(bus, 'live', { command: 'clear_halt', haltCause: 'wal', operator: 'bob', reason: 'x' }, systemClock),
    ).rejects.toThrow(/no wal halt/);
    await expect(sendControl(bus, 'live', { command: 'kill', haltCause: 'wal', operator: 'mallory' }, systemClock)).rejects.toThrow(
      /haltCause must be empty or risk/,
    );
    await sendControl(bus, 'live', { command: 'clear_halt', haltCause: 'risk', operator: 'bob', reason: 'drawdown reviewed' }, systemClock);
    expect(ex.isHalted).toBe(false);
    ex.onSignal(sig('r2'));
    await new Promise((r) => setTimeout(r, 200));
    expect(ex.counters.fills).toBe(1);

    const events = FileAuditSink.readAll(auditFile);
    verifyChain(events);
    const trail = events.map((e) => {
      const c = anyUnpack(e.payload!, ControlCommandSchema)!;
      return `${c.command}:${c.haltCause}:${e.metadata.outcome}`;
    });
    expect(trail).toEqual([
      'kill:risk:applied',
      'resume::refused',
      'clear_halt:risk:refused',
      'clear_halt:wal:refused',
      'kill:wal:refused',
      'clear_halt:risk:applied',
    ]);
    expect(events.at(-1)!.metadata.source).toBe('bus');
  });

  it('an operator kill after a risk kill does not make the risk halt resumable', async () => {
    await sendControl(bus, 'live', { command: 'kill', haltCause: 'risk', reason: 'var', operator: 'risk-gateway' }, systemClock);
    await sendControl(bus, 'live', { command: 'kill', reason: 'manual', operator: 'bob' }, systemClock);
    await expect(sendControl(bus, 'live', { command: 'resume', operator: 'bob' }, systemClock)).rejects.toThrow(/risk halt/);
    expect(ex.isHalted).toBe(true);
    await sendControl(bus, 'live', { command: 'clear_halt', haltCause: 'risk', operator: 'bob', reason: 'ok' }, systemClock);
    expect(ex.isHalted).toBe(false);
  });
});
