/**
 * `kestrel start --mode paper|live` as an operator runs it, in real processes: the venue simulators
 * run as their own process (`kestrel run simulators --private`), and the session is pointed at them by
 * overriding the venue URLs, exactly as it would be pointed at a venue.
 */
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_SEED, PostgresRefData } from '../../src/refdata/index.js';
import type { SessionSummary } from '../../src/session/trading-session.js';
import { kestrel, type KestrelProcess } from '../support/processes.js';
import { PG_URL, requireServer } from '../support/servers.js';
import { tmpDir } from '../support/tmp.js';

interface Announced {
  venue: string;
  private?: boolean;
  wsUrl: string;
  restUrl: string;
  stateUrl?: string;
}

async function simulators(
  extra: string[] = [],
): Promise<{ proc: KestrelProcess; pub: Record<string, Announced>; priv: Record<string, Announced> }> {
  const proc = kestrel(['run', 'simulators', '--private', '--pace', 'accelerated', '--speed', '10', ...extra]);
  await proc.line(/"service":"simulators"/, 60_000);
  const lines = proc.stdout.filter((l) => l.startsWith('{"venue"')).map((l) => JSON.parse(l) as Announced);
  return {
    proc,
    pub: Object.fromEntries(lines.filter((l) => !l.private).map((l) => [l.venue, l])),
    priv: Object.fromEntries(lines.filter((l) => l.private).map((l) => [l.venue, l])),
  };
}

function urlOverrides(pub: Record<string, Announced>): string[] {
  return [
    `venues.binance.endpoints.public_ws=${pub.binance!.wsUrl}`,
    `venues.binance.endpoints.public_rest=${pub.binance!.restUrl}`,
    `venues.kraken.endpoints.public_ws=${pub.kraken!.wsUrl}`,
    `venues.okx.endpoints.public_ws=${pub.okx!.wsUrl}`,
    `venues.okx.endpoints.public_rest=${pub.okx!.restUrl}`,
  ].flatMap((s) => ['--set', s]);
}

function sandbox(): string[] {
  const dir = tmpDir('start-modes');
  return [
    `execution.wal_dir=${path.join(dir, 'wal')}`,
    `audit.file=${path.join(dir, 'audit.log')}`,
    `storage.capture_dir=${path.join(dir, 'capture')}`,
    `admin.token_file=${path.join(dir, 'token')}`,
    'admin.port=-1',
  ].flatMap((s) => ['--set', s]);
}

const running: KestrelProcess[] = [];
afterAll(async () => {
  for (const p of running) await p.stop();
});

describe('kestrel start --mode paper against a simulator process', () => {
  it("ticks flow from all three venues, orders fill on the local matching engine, nothing reaches the venues' order entry", async () => {
    const sims = await simulators();
    running.push(sims.proc);
    const session = kestrel([
      'start',
      '--mode',
      'paper',
      '--venues',
      'binance,kraken,okx',
      '--symbols',
      'BTC-USDT,BTC-USD',
      '--max-ticks',
      '12000',
      '--json',
      // The simulator process replays 10x faster than recorded: the engine's time constants follow.
      '--set',
      'session.pace=accelerated',
      '--set',
      'session.speed=10',
      ...urlOverrides(sims.pub),
      ...sandbox(),
    ]);
    running.push(session);
    expect(await session.exited).toBe(0);
    const summary = JSON.parse(session.stdout.find((l) => l.startsWith('{"mode"'))!) as SessionSummary;
    expect(summary.mode).toBe('paper');
    expect(summary.ticks.received).toBeGreaterThanOrEqual(12_000);
    for (const stream of ['binance:BTC-USDT', 'kraken:BTC-USD', 'okx:BTC-USDT'])
      expect(summary.ticks.perStream[stream] ?? 0).toBeGreaterThan(0);
    expect(summary.orders.sent).toBeGreaterThan(0);
    expect(summary.fills).toBeGreaterThan(0);
    // The simulated venues' order entry saw no request at all.
    for (const v of ['binance', 'kraken', 'okx']) {
      const state = (await (await fetch(sims.priv[v]!.stateUrl!)).json()) as { received: Record<string, unknown>; open: unknown[] };
      expect(state.received, v).toEqual({});
      expect(state.open, v).toEqual([]);
    }
  }, 180_000);
});

function privateOverrides(priv: Record<string, Announced>): string[] {
  return (['binance', 'kraken', 'okx'] as const).flatMap((v) => [
    '--set',
    `venues.${v}.endpoints.private_ws=${priv[v]!.wsUrl}`,
    '--set',
    `venues.${v}.endpoints.private_rest=${priv[v]!.restUrl}`,
  ]);
}

describe('kestrel start --mode live against a simulator process', () => {
  it("sends every order to the venues' order entry with the account credentials from the environment", async () => {
    const sims = await simulators();
    running.push(sims.proc);
    const { TEST_CREDENTIALS } = await import('../../src/simulators/private/venues.js');
    const env = {
      KESTREL_BINANCE_API_KEY: TEST_CREDENTIALS.binance.apiKey,
      KESTREL_BINANCE_API_SECRET: TEST_CREDENTIALS.binance.apiSecret,
      KESTREL_KRAKEN_API_KEY: TEST_CREDENTIALS.kraken.apiKey,
      KESTREL_KRAKEN_API_SECRET: TEST_CREDENTIALS.kraken.apiSecret,
      KESTREL_OKX_API_KEY: TEST_CREDENTIALS.okx.apiKey,
      KESTREL_OKX_API_SECRET: TEST_CREDENTIALS.okx.apiSecret,
      KESTREL_OKX_PASSPHRASE: TEST_CREDENTIALS.okx.passphrase!,
    };
    const session = kestrel(
      [
        'start',
        '--mode',
        'live',
        '--i-understand-live',
        '--venues',
        'binance,kraken,okx',
        '--symbols',
        'BTC-USDT,BTC-USD',
        '--max-ticks',
        '12000',
        '--json',
        '--set',
        'session.pace=accelerated',
        '--set',
        'session.speed=10',
        ...urlOverrides(sims.pub),
        ...privateOverrides(sims.priv),
        ...sandbox(),
      ],
      env,
    );
    running.push(session);
    expect(await session.exited, session.stderr().slice(-1500)).toBe(0);
    const summary = JSON.parse(session.stdout.find((l) => l.startsWith('{"mode"'))!) as SessionSummary;
    expect(summary.mode).toBe('live');
    expect(summary.orders.sent).toBeGreaterThan(0);
    expect(summary.fills).toBeGreaterThan(0);
    // Every order the executor sent was placed at the venues' order entry, each exactly once.
    let placed = 0;
    for (const v of ['binance', 'kraken', 'okx']) {
      const state = (await (await fetch(sims.priv[v]!.stateUrl!)).json()) as {
        received: Record<string, { place: number }>;
        duplicates: string[];
      };
      for (const r of Object.values(state.received)) placed += r.place;
      expect(state.duplicates, v).toEqual([]);
    }
    expect(placed).toBe(summary.orders.sent);
  }, 180_000);
});

describe('kestrel start --mode live refuses, one line, exit 2', () => {
  const noCreds = Object.fromEntries(
    Object.keys(process.env)
      .filter((k) => /^KESTREL_(BINANCE|KRAKEN|OKX)_/.test(k))
      .map((k) => [k, '']),
  );
  const creds = {
    ...noCreds,
    KESTREL_BINANCE_API_KEY: 'k',
    KESTREL_BINANCE_API_SECRET: 's',
    KESTREL_KRAKEN_API_KEY: 'k',
    KESTREL_KRAKEN_API_SECRET: Buffer.from('s').toString('base64'),
  };
  const refused = async (args: string[], env: NodeJS.ProcessEnv, reason: RegExp) => {
    const p = kestrel(['start', '--mode', 'live', ...args, ...sandbox()], env);
    running.push(p);
    expect(await p.exited).toBe(2);
    // Log records are JSON lines (piped); the refusal is the one plain line.
    const lines = p
      .stderr()
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('{"level"'));
    expect(lines, p.stderr()).toHaveLength(1);
    expect(lines[0]).toMatch(/^kestrel: live refused: /);
    expect(lines[0]).toMatch(reason);
    expect(p.stdout).toEqual([]);
  };

  it('without --i-understand-live', async () => {
    await refused(['--venues', 'binance'], creds, /--i-understand-live/);
  });

  it('without credentials', async () => {
    await refused(['--venues', 'binance', '--i-understand-live'], noCreds, /no credentials for binance .*KESTREL_BINANCE_API_KEY/);
  });

  it('with a venue whose policy is shadow_only', async () => {
    if (!(await requireServer('PostgreSQL', PG_URL))) return;
    const db = `kestrel_shadow_${process.pid}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${db}`);
      await admin.query(`CREATE DATABASE ${db}`);
      const url = new URL(PG_URL);
      url.pathname = `/${db}`;
      const ref = await PostgresRefData.connect({ url: url.toString(), seed: DEFAULT_SEED });
      await ref.close();
      const c = new pg.Client({ connectionString: url.toString() });
      await c.connect();
      await c.query(`UPDATE venues SET venue_policy = 'shadow_only' WHERE venue = 'kraken'`);
      await c.end();
      await refused(
        ['--venues', 'binance,kraken', '--symbols', 'BTC-USD', '--i-understand-live', '--set', `refdata.postgres_url=${url.toString()}`],
        creds,
        /kraken is shadow_only|of kraken is shadow_only/,
      );
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await admin.end();
    }
  }, 60_000);
});
