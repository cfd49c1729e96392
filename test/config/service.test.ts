import { describe, expect, it } from 'vitest';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { systemClock } from '../../src/clock/clock.js';
import { ConfigError, ConfigService, loadConfig, type Config } from '../../src/config/index.js';

const base = loadConfig({ env: {} });

function bump(c: Config, patch: (c: Config) => void, version: string): Config {
  const next = structuredClone(c);
  patch(next);
  next.version = version;
  return next;
}

describe('config service', () => {
  it('applies a newer valid version atomically and announces it on the bus', async () => {
    const bus = new InProcessBus();
    const seen: string[] = [];
    bus.subscribe('config.>', (m) => void seen.push(m.subject));
    const svc = new ConfigService(base, systemClock, bus);
    const next = svc.apply(bump(base, (c) => (c.strategy.kelly_fraction = 0.1), '1.0.1'));
    await bus.flush();
    expect(svc.config).toBe(next);
    expect(seen).toEqual(['config.strategy', 'config.reload']);
    expect(svc.changes.at(-1)).toMatchObject({ from: base.version, to: '1.0.1', sections: ['strategy'] });
  });

  it('refuses an invalid or non-newer update and keeps the running config', () => {
    const svc = new ConfigService(base, systemClock);
    expect(() => svc.apply(bump(base, (c) => (c.strategy.kelly_fraction = 3), '1.0.1'))).toThrow(ConfigError);
    expect(() => svc.apply(bump(base, (c) => (c.strategy.kelly_fraction = 0.2), base.version))).toThrow(/must be newer/);
    expect(svc.config).toBe(base);
  });

  it('rolls back to the previous config', () => {
    const svc = new ConfigService(base, systemClock);
    svc.apply(bump(base, (c) => (c.risk.max_correlation = 0.5), '1.0.1'));
    expect(svc.rollback()).toBe(base);
    expect(svc.config.risk.max_correlation).toBe(0.7);
    expect(() => svc.rollback()).toThrow(/nothing to roll back/);
  });

  it('survives a stampede of 50 updates with every listener seeing whole, ordered versions', () => {
    const svc = new ConfigService(base, systemClock);
    const observed: Array<[string, number]> = [];
    svc.onChange((next) => observed.push([next.version, next.strategy.kelly_fraction]));
    let cur = base;
    for (let i = 1; i <= 50; i++) {
      cur = bump(cur, (c) => (c.strategy.kelly_fraction = i / 100), `1.0.${i}`);
      svc.apply(cur);
    }
    expect(observed).toHaveLength(50);
    observed.forEach(([v, k], i) => {
      expect(v).toBe(`1.0.${i + 1}`);
      expect(k).toBe((i + 1) / 100);
    });
  });
});
