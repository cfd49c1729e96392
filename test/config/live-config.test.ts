import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.js';
import { FileAuditSink, readAuditFile } from '../../src/audit/sinks.js';
import { verifyEvents } from '../../src/audit/verify.js';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { systemClock } from '../../src/clock/clock.js';
import { ConfigError, loadConfig, type Config } from '../../src/config/index.js';
import {
  ConfigApplyError,
  ConfigNotLiveError,
  LiveConfig,
  engineTarget,
  formatConfigSetReply,
  requestConfigSet,
  riskTarget,
} from '../../src/config/live.js';
import { subjects } from '../../src/contracts/subjects.js';
import { NativeEngine, TickRegion } from '../../src/native/index.js';
import { StaticRiskGateway } from '../../src/risk/static-gateway.js';
import { engineParams } from '../../src/session/wiring.js';
import { riskLimitsOf } from '../../src/config/live.js';
import { tmpDir } from '../support/tmp.js';
import { until } from '../support/wait.js';

const dir = tmpDir('liveconfig');
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A running engine thread, a risk gateway and an audit file: the parts a session reloads. */
async function setup(name: string, base: Config = loadConfig({ env: {} })) {
  const bus = new InProcessBus();
  const region = TickRegion.create({ name: `kestrel-test-live-${name}-${process.pid}`, symbols: ['X-USD'], replace: true });
  const engine = new NativeEngine(region, { params: engineParams(base) });
  engine.start();
  const risk = new StaticRiskGateway(bus, riskLimitsOf(base), 'live', { clock: systemClock });
  const auditFile = path.join(dir, `${name}.audit`);
  const audit = await AuditLog.open(new FileAuditSink(auditFile), { service: 'test', replay: false, clock: systemClock });
  const live = new LiveConfig(base, {
    clock: systemClock,
    bus,
    namespace: 'live',
    audit,
    targets: [riskTarget(risk), engineTarget(engine, (c: Config) => engineParams(c))],
  });
  cleanups.push(async () => {
    live.close();
    risk.stop();
    engine.stop();
    region.unlink();
    region.close();
    await audit.close();
    await bus.close();
  });
  const changes = async () => {
    await audit.flush();
    return readAuditFile(auditFile).events.filter((e) => e.eventType === 'config_change');
  };
  return { bus, engine, risk, live, audit, changes, auditFile };
}

describe('LiveConfig: hot reload of a running system', () => {
  it('set: validated, versioned, applied to the risk gateway and the engine thread, announced and audited', async () => {
    const { bus, engine, risk, live, changes } = await setup('set');
    const reloads: string[] = [];
    bus.subscribe(subjects.configReload('live'), (m) => void reloads.push(new TextDecoder().decode(m.data)));
    const r = await live.set({ 'risk.max_order_notional': 500, 'strategy.kelly_fraction': 0.1 }, 'alice');
    expect(r).toMatchObject({ previousVersion: '1.0.0', version: '1.0.1' });
    expect(r.diff).toEqual({ 'risk.max_order_notional': { from: 100000, to: 500 }, 'strategy.kelly_fraction': { from: 0.25, to: 0.1 } });
    expect(live.version).toBe('1.0.1');
    expect(live.config.risk.max_order_notional).toBe(500);
    expect(risk.limits().maxOrderNotional).toBe(500);
    await until(() => engine.stats().paramsApplied === 1);
    expect(engine.params().kelly_fraction).toBe(0.1);
    await bus.flush();
    expect(JSON.parse(reloads[0]!)).toMatchObject({ version: '1.0.1', kind: 'apply' });
    // a second change numbers on
    expect((await live.set({ 'risk.max_order_notional': 600 })).version).toBe('1.0.2');
    const audited = await changes();
    expect(audited.map((e) => [e.metadata.kind, e.metadata.from_version, e.metadata.to_version])).toEqual([
      ['apply', '1.0.0', '1.0.1'],
      ['apply', '1.0.1', '1.0.2'],
    ]);
    expect(audited[0]!.metadata.operator).toBe('alice');
    expect(JSON.parse(audited[0]!.metadata.diff!)).toEqual(r.diff);
    expect(verifyEvents(audited).ok).toBe(true);
  });

  it('a key that cannot change live is refused with PARAM_NOT_LIVE and nothing changes', async () => {
    const { live, risk, changes } = await setup('notlive');
    const err = await live.set({ 'rings.capacity': 1024, 'risk.max_order_notional': 42 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigNotLiveError);
    expect((err as ConfigNotLiveError).code).toBe('PARAM_NOT_LIVE');
    expect((err as Error).message).toBe('rings.capacity cannot change while running (restart with --set rings.capacity=VALUE)');
    expect(live.version).toBe('1.0.0');
    expect(risk.limits().maxOrderNotional).toBe(100000);
    expect((await changes()).map((e) => [e.metadata.kind, e.metadata.reason, e.metadata.key])).toEqual([
      ['refused', 'PARAM_NOT_LIVE', 'rings.capacity'],
    ]);
  });

  it('an invalid value fails validation (zod) before any target sees it', async () => {
    const { live, risk } = await setup('invalid');
    await expect(live.set({ 'risk.max_order_notional': -5 })).rejects.toBeInstanceOf(ConfigError);
    await expect(live.set({ 'risk.no_such_key': 1 })).rejects.toThrow(/unknown key 'risk.no_such_key'/);
    expect(risk.limits().maxOrderNotional).toBe(100000);
    expect(live.version).toBe('1.0.0');
  });

  it('a target that refuses rolls back the targets already changed; version, limits and engine stay as they were', async () => {
    const { live, risk, engine, changes } = await setup('rollback');
    // Valid for the schema (positive), but below the engine's min_size: the engine thread refuses it.
    const err = await live.set({ 'risk.max_order_notional': 700, 'strategy.max_position': 0.00001 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigApplyError);
    expect((err as ConfigApplyError).target).toBe('engine');
    expect((err as ConfigApplyError).code).toBe('BAD_STRATEGY_PARAMS');
    expect((err as Error).message).toMatch(/max_size.*rolled back to 1\.0\.0/);
    // the risk gateway took 700 first, then got 100000 back
    expect(risk.limits().maxOrderNotional).toBe(100000);
    expect(live.version).toBe('1.0.0');
    expect(engine.params().max_size).toBe(0.5);
    expect(engine.stats().paramsApplied).toBe(0);
    const audited = await changes();
    expect(audited).toHaveLength(1);
    expect(audited[0]!.metadata).toMatchObject({ kind: 'rollback', failed_target: 'engine', from_version: '1.0.0', to_version: '1.0.1' });
    // and the next good change goes through
    expect((await live.set({ 'risk.max_order_notional': 700 })).version).toBe('1.0.1');
    expect(risk.limits().maxOrderNotional).toBe(700);
  });

  it('config.set over the bus answers with the new version, or a one-line refusal', async () => {
    const { bus, live } = await setup('bus');
    live.listen();
    const ok = await requestConfigSet(bus, 'live', { 'risk.position_limits.per_symbol': 5000 }, 'cli');
    expect(formatConfigSetReply(ok)).toBe('config 1.0.0 -> 1.0.1 applied: risk.position_limits.per_symbol 100000 -> 5000');
    const refused = await requestConfigSet(bus, 'live', { 'session.venues': ['okx'] }, 'cli');
    expect(refused).toMatchObject({ ok: false, code: 'PARAM_NOT_LIVE', key: 'session.venues' });
    expect(formatConfigSetReply(refused)).toBe(
      'config set refused (PARAM_NOT_LIVE): session.venues cannot change while running (restart with --set session.venues=VALUE)',
    );
    expect(formatConfigSetReply(refused).includes('\n')).toBe(false);
  });

  it('an edit of the watched config file is applied like a set', async () => {
    const file = path.join(dir, 'overlay.yaml');
    writeFileSync(file, 'risk:\n  max_order_notional: 100000\n');
    const { live, risk } = await setup('watch', loadConfig({ env: {}, file }));
    live.watchFile(file, () => loadConfig({ env: {}, file }), 20);
    // The watcher takes its baseline stat asynchronously: edit once it has one.
    await new Promise((r) => setTimeout(r, 200));
    writeFileSync(file, 'version: "1.2.0"\nrisk:\n  max_order_notional: 2500\n');
    await until(() => live.version === '1.2.0');
    expect(risk.limits().maxOrderNotional).toBe(2500);
  });
});
