/**
 * One kernel (issue 11 items 2 and 6): `kestrel backtest` and `kestrel start` run the same executor,
 * order gateway and risk gateway (src/session/kernel.ts). The old backtest re-implemented the guards
 * with strategy.max_position and never read the risk section: risk limits changing the backtest, with
 * the reject reason of the real path, is what proves the real path runs. The event clock and the
 * settle points make the decisions independent of the bus: in-process and NATS give one digest.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { loadConfig } from '../../src/config/index.js';
import { runBacktest } from '../../src/replay/backtest.js';
import { runTradingSession } from '../../src/session/trading-session.js';
import { NATS_URL, requireServer } from '../support/servers.js';
import { tmpDir } from '../support/tmp.js';

const config = (over: Record<string, unknown> = {}) => loadConfig({ env: {}, overrides: { logging: { level: 'silent' }, ...over } });
/** Every signal of the bundled recording lies in its first 20,000 ticks. */
const SHORT = { session: { max_ticks: 20_000 } };
/** 100 USDT per symbol: not even the exchange's minimum lot of BTC fits. */
const TINY = { position_limits: { per_symbol: 100 } };

describe('the backtest runs the real executor and risk gateway', () => {
  it('a risk limit the old backtest never read changes the result, refused with the real RISK_LIMIT', async () => {
    const base = await runBacktest(config(SHORT));
    const tiny = await runBacktest(config({ ...SHORT, risk: TINY }));
    expect(base.signals).toBeGreaterThan(0);
    expect(base.orders).toBeGreaterThan(0);
    expect(tiny.signals).toBe(base.signals);
    // Every order refused before it left: by the executor's local risk guard on risk.limits (or the
    // gateway's risk.check on a boundary case), under strategy.max_position unchanged.
    expect(tiny.orders).toBe(0);
    expect(tiny.fills).toBe(0);
    expect(tiny.position).toBe(0);
    expect(tiny.rejects.RISK_LIMIT).toBeGreaterThan(base.rejects.RISK_LIMIT ?? 0);
    expect(tiny.digest).not.toBe(base.digest);
  });

  it('a per-order notional cap below one lot refuses every order the same way', async () => {
    const r = await runBacktest(config({ ...SHORT, risk: { max_order_notional: 10 } }));
    expect(r.orders).toBe(0);
    expect(r.rejects.RISK_LIMIT).toBe(r.signals);
  });

  it('keeps the real position notional under risk.position_limits.per_symbol (not strategy.max_position)', async () => {
    const c = config({ ...SHORT, risk: { position_limits: { per_symbol: 20_000 } } });
    const r = await runBacktest(c);
    expect(r.fills).toBeGreaterThan(0);
    expect(Math.abs(r.position) * r.avgPrice).toBeLessThanOrEqual(20_000 * 1.01);
  });

  it('the live session refuses with the same reason under the same limit (same kernel)', async () => {
    const dir = tmpDir('one-kernel-session');
    const bus = new InProcessBus();
    const s = await runTradingSession(
      config({
        session: { pace: 'accelerated', speed: 100, max_ticks: 20_000 },
        admin: { port: -1 },
        audit: { file: path.join(dir, 'audit.log') },
        risk: TINY,
      }),
      bus,
    );
    await bus.close();
    expect(s.signals).toBeGreaterThan(0);
    expect(s.orders.sent).toBe(0);
    expect(s.orders.rejectReasons.RISK_LIMIT).toBeGreaterThan(0);
  });
});

describe('the bus does not change the decisions', () => {
  it('in-process and NATS give the same digest, orders and fills', async () => {
    if (!(await requireServer('NATS', NATS_URL.replace('nats:', 'http:')))) return;
    const a = await runBacktest(config(SHORT), {}, { bus: 'in-process' });
    // risk.check_timeout_ms is a wall-time bound: a backtest must not let it decide (under load a NATS
    // round trip took longer than the 10 ms default and one boundary order became RISK_TIMEOUT).
    const b = await runBacktest(config({ ...SHORT, bus: { nats_url: NATS_URL }, risk: { check_timeout_ms: 1 } }), {}, { bus: 'nats' });
    expect(b.bus).toBe('nats');
    expect(b.riskChecks).toBeGreaterThan(0); // boundary orders did ask the gateway over NATS
    expect(b.orders).toBe(a.orders);
    expect(b.fills).toBe(a.fills);
    expect(b.rejects).toEqual(a.rejects);
    expect(b.digest).toBe(a.digest);
  });

  it('a fsynced WAL (--wal tmp) gives the same digest as none and is kept', async () => {
    const a = await runBacktest(config(SHORT), {}, { wal: 'off' });
    const b = await runBacktest(config(SHORT), {}, { wal: 'tmp' });
    expect(a.walDir).toBe('');
    expect(b.walDir).not.toBe('');
    expect(b.digest).toBe(a.digest);
    rmSync(b.walDir, { recursive: true, force: true });
  });
});
