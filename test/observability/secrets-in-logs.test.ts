/**
 * Secrets never reach a log line. Unit level: every secret-named key is censored and credentials in
 * URLs are masked, in objects, errors and messages. Session level: a whole `kestrel start` at trace
 * level, with venue keys, the admin token and passwords in the NATS and PostgreSQL URLs set, trades
 * (so the keys were really used) and none of those values appears anywhere in its output.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, loggerOptions } from '../../src/observability/logger.js';
import { maskUrlCredentials, SECRET_LOG_KEYS } from '../../src/observability/redact.js';
import { NATS_URL, PG_URL, requireServer } from '../support/servers.js';
import { tmpDir } from '../support/tmp.js';

const root = path.resolve(import.meta.dirname, '../..');

function capture(): { lines: string[]; log: pino.Logger } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, log: pino(loggerOptions('trace'), sink) };
}

describe('log redaction', () => {
  it('censors every secret-named key, nested or not, and masks URL credentials in every string', () => {
    const { lines, log } = capture();
    const SECRET = 'S3cr3tValue-do-not-log';
    for (const k of SECRET_LOG_KEYS) {
      log.info({ [k]: SECRET }, 'top level');
      log.info({ headers: { [k]: SECRET } }, 'in headers');
      log.info({ config: { [k]: SECRET } }, 'in config');
    }
    log.info({ credentials: { apiKey: SECRET, apiSecret: SECRET } }, 'whole credentials object');
    log.info({ url: `nats://executor:${SECRET}@10.0.0.1:4222` }, 'url field');
    log.info(
      { bus: { nats_url: `nats://executor:${SECRET}@10.0.0.1:4222` }, list: [`postgres://kestrel:${SECRET}@db/kestrel`] },
      'nested urls',
    );
    log.warn(`cannot reach https://user:${SECRET}@venue.example/api?x=1`);
    log.warn(`GET /api/v3/order?symbol=BTCUSDT&signature=${SECRET}&timestamp=1`);
    log.error({ err: new Error(`connect failed: wss://k:${SECRET}@ws.example/ws`) }, 'error object');
    createLogger('svc', { apiSecret: SECRET, url: `https://u:${SECRET}@h/` }, log).info('service logger bindings');
    log.info({ deep: { a: { b: { c: { Password: SECRET } } } }, arr: [{ token: SECRET }] }, 'any depth, any case');
    expect(lines.length).toBeGreaterThan(3 * SECRET_LOG_KEYS.length);
    const all = lines.join('');
    expect(all).not.toContain(SECRET);
    expect(all).toContain('[REDACTED]');
    expect(all).toContain('nats://***@10.0.0.1:4222');
    expect(all).toContain('signature=***');
  });

  it('masks only credentials: plain URLs and text stay readable', () => {
    expect(maskUrlCredentials('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
    expect(maskUrlCredentials('see http://a:b@h/p and ws://h2/q?apiKey=zz&n=1')).toBe('see http://***@h/p and ws://h2/q?apiKey=***&n=1');
  });
});

const natsUp = await requireServer('NATS', NATS_URL);
const pgUp = await requireServer('PostgreSQL', PG_URL);

describe.skipIf(!natsUp || !pgUp)('a whole session with credentials set logs none of them', () => {
  it('greps all trace-level output of `kestrel start` for every secret value', async () => {
    const dir = tmpDir('secrets-log');
    const secrets = {
      KESTREL_BINANCE_API_KEY: 'binance-key-7f3a9c21e8d4',
      KESTREL_BINANCE_API_SECRET: 'binance-secret-5b2e8f0a91c7d6e3',
      KESTREL_ADMIN_TOKEN: 'admin-token-a81f5c09d2e74b36',
    };
    const natsPassword = 'nats-url-pw-3e9d1a7c';
    const pgPassword = 'pg-url-pw-6c2b8e4f';
    const withUser = (u: string, user: string, pw: string) => u.replace('://', `://${user}:${pw}@`);
    const args = [
      '--import',
      'tsx',
      path.join(root, 'src/cli/main.ts'),
      'start',
      '--json',
      '--max-ticks',
      '20000',
      '--bus',
      'nats',
      '--set',
      `bus.nats_url=${withUser(NATS_URL, 'kestrel', natsPassword)}`,
      '--set',
      `refdata.postgres_url=${withUser(PG_URL, 'postgres', pgPassword)}`,
      '--set',
      'logging.level=trace',
      '--set',
      'session.speed=50',
      '--set',
      'strategy.confidence_threshold=0.2',
      '--set',
      'admin.port=0',
      // Trace logging on a loaded machine can lag the loop past the skew/staleness budgets; tainted
      // ticks make no signals and then no signed orders, which this test needs to see (seen once in CI).
      '--set',
      'data_quality.staleness_threshold_ms=60000',
      '--set',
      'data_quality.max_time_skew_ms=60000',
      '--set',
      `admin.token_file=${path.join(dir, 'token')}`,
      '--set',
      `audit.file=${path.join(dir, 'audit.log')}`,
      '--set',
      `execution.wal_dir=${path.join(dir, 'wal')}`,
      '--set',
      `storage.capture_dir=${path.join(dir, 'capture')}`,
    ];
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...process.env, ...secrets, KESTREL_LOG_LEVEL: 'trace' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += String(d)));
    child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    fs.rmSync(dir, { recursive: true, force: true });
    expect(code, stderr.slice(-2000)).toBe(0);
    // The keys were used: the venue accepted the client's signed orders.
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as { fills: number };
    expect(summary.fills, stdout).toBeGreaterThan(0);
    // The log output is real (the startup line carries both URLs, masked).
    expect(stderr).toContain('"nats_url":"nats://***@');
    expect(stderr).toContain('"postgres_url":"postgres://***@');
    const everything = stdout + stderr;
    for (const v of [...Object.values(secrets), natsPassword, pgPassword]) expect(everything, v).not.toContain(v);
  }, 120_000);
});
