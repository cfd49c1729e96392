import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { readSecret, resolveAdminToken, SecretError, venueCredentialsFromEnv } from '../../src/config/secrets.js';
import { tmpDir } from '../support/tmp.js';

describe('secrets from the environment or owner-only files', () => {
  let dir: string;
  beforeEach(() => {
    dir = tmpDir('secrets');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, content: string, mode: number) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    fs.chmodSync(p, mode);
    return p;
  };

  it('reads NAME or NAME_FILE, refuses group/world-readable files with a typed error, and ambiguity', () => {
    expect(readSecret('X', { X: 'v' })).toBe('v');
    expect(readSecret('X', {})).toBeUndefined();
    expect(readSecret('X', { X_FILE: file('ok', 'from-file\n', 0o600) })).toBe('from-file');
    expect(readSecret('X', { X_FILE: file('ro', 'read-only', 0o400) })).toBe('read-only');
    for (const mode of [0o640, 0o604, 0o644, 0o660]) {
      const p = file(`bad${mode.toString(8)}`, 's', mode);
      let err: unknown;
      try {
        readSecret('X', { X_FILE: p });
      } catch (e) {
        err = e;
      }
      expect(err, mode.toString(8)).toBeInstanceOf(SecretError);
      expect((err as SecretError).source).toBe('X_FILE');
      expect(String(err)).toMatch(/readable by group or others/);
    }
    expect(() => readSecret('X', { X: 'a', X_FILE: file('both', 'b', 0o600) })).toThrow(/both X and X_FILE/);
    expect(() => readSecret('X', { X_FILE: path.join(dir, 'missing') })).toThrow(SecretError);
    expect(() => readSecret('X', { X_FILE: file('empty', '', 0o600) })).toThrow(/empty/);
  });

  it('builds venue credentials from KESTREL_<VENUE>_* and refuses half of a pair', () => {
    expect(venueCredentialsFromEnv('okx', {})).toBeUndefined();
    expect(
      venueCredentialsFromEnv('okx', {
        KESTREL_OKX_API_KEY: 'k',
        KESTREL_OKX_API_SECRET_FILE: file('okx', 's\n', 0o600),
        KESTREL_OKX_PASSPHRASE: 'p',
      }),
    ).toEqual({ apiKey: 'k', apiSecret: 's', passphrase: 'p' });
    expect(() => venueCredentialsFromEnv('binance', { KESTREL_BINANCE_API_KEY: 'k' })).toThrow(/KESTREL_BINANCE_API_SECRET/);
    expect(() =>
      venueCredentialsFromEnv('kraken', { KESTREL_KRAKEN_API_KEY: 'k', KESTREL_KRAKEN_API_SECRET_FILE: file('kr', 's', 0o644) }),
    ).toThrow(SecretError);
  });

  it('generates the admin token once, owner-only, and reuses it; env wins; a loose file is refused', () => {
    const tokenFile = path.join(dir, 'admin', 'token');
    const a = resolveAdminToken(tokenFile, {});
    expect(a.token).toMatch(/^[0-9a-f]{64}$/);
    expect(fs.statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(resolveAdminToken(tokenFile, {}).token).toBe(a.token);
    expect(resolveAdminToken(tokenFile, { KESTREL_ADMIN_TOKEN: 'an-operator-chosen-token' })).toEqual({
      token: 'an-operator-chosen-token',
      source: 'env',
    });
    expect(() => resolveAdminToken(tokenFile, { KESTREL_ADMIN_TOKEN: 'short' })).toThrow(/16 characters/);
    fs.chmodSync(tokenFile, 0o644);
    expect(() => resolveAdminToken(tokenFile, {})).toThrow(SecretError);
  });

  it('refuses secrets in the config file or as config env overrides, naming the key', () => {
    const overlay = file('c.yaml', 'bus:\n  auth:\n    user: executor\n    password: hunter2\n', 0o600);
    expect(() => loadConfig({ file: overlay, env: {} })).toThrow(ConfigError);
    expect(() => loadConfig({ file: overlay, env: {} })).toThrow(/'bus\.auth\.password' looks like a secret/);
    expect(() => loadConfig({ env: { KESTREL__bus__auth__token: 'abc' } })).toThrow(/bus\.auth\.token/);
    expect(() => loadConfig({ env: {}, overrides: { venues: { binance: { api_secret: 'x' } } } })).toThrow(/venues\.binance\.api_secret/);
    // Non-secret settings of the same sections load.
    expect(
      loadConfig({ env: {}, overrides: { bus: { auth: { user: 'executor' }, tls: { ca: '/etc/ca.pem', cert: '', key: '' } } } }).bus.auth
        .user,
    ).toBe('executor');
  });
});
