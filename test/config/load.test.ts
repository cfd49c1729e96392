import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { tmpDir } from '../support/tmp.js';

function tmpYaml(text: string): string {
  const dir = tmpDir('cfg');
  const file = path.join(dir, 'c.yaml');
  writeFileSync(file, text);
  return file;
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config loading', () => {
  it('loads the embedded defaults as a valid, versioned config', () => {
    const c = loadConfig({ env: {} });
    expect(c.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(c.bus.kind).toBe('in-process');
    expect(c.strategy.kelly_fraction).toBe(0.25);
    expect(c.rings.capacity).toBe(65536);
  });

  it('merges an overlay file key by key', () => {
    const c = loadConfig({ env: {}, file: tmpYaml('strategy:\n  kelly_fraction: 0.1\n') });
    expect(c.strategy.kelly_fraction).toBe(0.1);
    expect(c.strategy.confidence_threshold).toBe(0.35);
  });

  it('applies typed environment overrides', () => {
    const c = loadConfig({ env: { KESTREL__BUS__KIND: 'nats', KESTREL__SESSION__MAX_TICKS: '500' } });
    expect(c.bus.kind).toBe('nats');
    expect(c.session.max_ticks).toBe(500);
  });

  it('names the bad key and the bad value in one line', () => {
    const e = errorOf(() => loadConfig({ env: {}, file: tmpYaml('strategy:\n  kelly_fraction: 7\n') }));
    expect(e.key).toBe('strategy.kelly_fraction');
    expect(e.message).toContain('strategy.kelly_fraction');
    expect(e.message).toContain('7');
    expect(e.message.split('\n')).toHaveLength(1);
  });

  it('refuses an unknown key as a typo', () => {
    const e = errorOf(() => loadConfig({ env: {}, file: tmpYaml('risk:\n  max_posiiton_pct: 0.1\n') }));
    expect(e.message).toBe("config error: unknown key 'risk.max_posiiton_pct'");
  });

  it('refuses a wrong type from the environment', () => {
    const e = errorOf(() => loadConfig({ env: { KESTREL__RINGS__CAPACITY: '1000' } }));
    expect(e.message).toContain('rings.capacity');
    expect(e.message).toContain('power of two');
  });

  it('reports malformed YAML and unreadable files as ConfigError', () => {
    expect(() => loadConfig({ env: {}, file: tmpYaml('a: [1, 2\n') })).toThrow(/not valid YAML/);
    expect(() => loadConfig({ env: {}, file: '/nonexistent/k.yaml' })).toThrow(/cannot be read: ENOENT/);
  });
});
