import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRefData, validateSeed } from '../../src/refdata/memory.js';
import { PostgresRefData, migrate, migrationsDir } from '../../src/refdata/postgres.js';
import { RefDataError, type RefDataRepository } from '../../src/refdata/repository.js';
import { DEFAULT_SEED, type RefDataSeed } from '../../src/refdata/seed.js';
import { PG_URL, requireServer } from '../support/servers.js';
import { tmpDir } from '../support/tmp.js';

const pgUp = await requireServer('PostgreSQL', PG_URL);
const SCHEMA = `kestrel_test_${process.pid}_${Date.now().toString(36)}`;

const stores: Array<[string, () => Promise<RefDataRepository>]> = [['memory', async () => new MemoryRefData()]];
if (pgUp) stores.push(['postgres', () => PostgresRefData.connect({ url: PG_URL, schema: SCHEMA, seed: DEFAULT_SEED })]);

afterAll(async () => {
  if (!pgUp) return;
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await c.end();
});

describe.each(stores)('reference data conformance: %s', (_name, open) => {
  let repo: RefDataRepository;
  beforeAll(async () => {
    repo = await open();
  });
  afterAll(async () => repo.close());

  it('lists the bundled symbols with fixed ids', async () => {
    const s = await repo.symbols();
    expect(s.map((x) => [x.id, x.canonical])).toEqual([
      [1, 'BTC-USDT'],
      [2, 'ETH-USDT'],
      [3, 'BTC-USD'],
      [4, 'ETH-USD'],
    ]);
    expect(await repo.symbol('BTC-USD')).toMatchObject({ base: 'BTC', quote: 'USD', decimalPlaces: 1 });
    expect(await repo.symbol('DOGE-USD')).toBeUndefined();
  });

  it('resolves venue spellings to canonical symbols, including Kraken XBT/USD', async () => {
    expect(await repo.resolve('binance', 'BTCUSDT')).toEqual({
      venueSymbol: 'BTCUSDT',
      symbol: 'BTC-USDT',
      symbolId: 1,
      pricePrecision: 2,
      qtyPrecision: 5,
    });
    expect(await repo.resolve('kraken', 'XBT/USD')).toMatchObject({ symbol: 'BTC-USD', symbolId: 3 });
    expect(await repo.resolve('kraken', 'BTC/USD')).toMatchObject({ symbol: 'BTC-USD', pricePrecision: 1, qtyPrecision: 8 });
    expect(await repo.resolve('okx', 'BTC-USDT')).toMatchObject({ symbol: 'BTC-USDT', symbolId: 1 });
    expect(await repo.resolve('okx', 'BTCUSDT')).toBeUndefined();
    expect((await repo.mappings('okx')).map((m) => m.symbol)).toEqual(['BTC-USDT', 'ETH-USDT']);
    expect((await repo.mappings('binance', ['ETH-USDT'])).map((m) => m.venueSymbol)).toEqual(['ETHUSDT']);
  });

  it('serves instrument precision and fees, and the VenueSpec contract', async () => {
    const [btc] = (await repo.instruments('okx')).filter((i) => i.venueSymbol === 'BTC-USDT');
    expect(btc).toMatchObject({
      minTick: 0.1,
      minLot: 0.00001,
      lotStep: 0.00000001,
      makerFee: 0.0008,
      takerFee: 0.001,
      liquidityTier: 'A',
    });
    const spec = await repo.venueSpec('kraken');
    expect(spec).toMatchObject({ venue: 'kraken', hasPrivateWs: true, venuePolicy: 'production' });
    expect(spec!.rateLimits).toMatchObject({ ordersPerSecond: 10, requestsPerMinute: 900 });
    expect(spec!.symbols.map((s) => s.venueSymbol)).toEqual(['BTC/USD', 'ETH/USD', 'XBT/USD']);
    expect(spec!.symbols[0]).toMatchObject({ symbol: 'BTC-USD', minTick: 0.1, takerFee: 0.004, supportsFok: false });
    expect(await repo.venueSpec('nasdaq')).toBeUndefined();
    expect((await repo.venues()).map((v) => v.venueId)).toEqual([1, 2, 3]);
  });

  it('returns the same instruments as the seed, field for field', async () => {
    const seeded = DEFAULT_SEED.instruments.map((i) => ({
      ...i,
      symbolId: DEFAULT_SEED.symbols.find((s) => s.canonical === i.canonical)!.id,
    }));
    const sorted = seeded.sort((a, b) => `${a.venue}|${a.venueSymbol}`.localeCompare(`${b.venue}|${b.venueSymbol}`));
    expect(await repo.instruments()).toEqual(sorted);
  });

  it('serves the market data bounds of the seed, by symbol', async () => {
    const b = await repo.marketDataBounds();
    expect(b.map((x) => x.canonical)).toEqual(['BTC-USD', 'BTC-USDT', 'ETH-USD', 'ETH-USDT']);
    expect(b.find((x) => x.canonical === 'BTC-USDT')).toEqual({
      canonical: 'BTC-USDT',
      maxTradeQty: 1000,
      maxLevelQty: 5000,
      maxMarkDeviationBps: 1000,
    });
  });
});

describe('seed validation', () => {
  const clone = (): RefDataSeed => structuredClone(DEFAULT_SEED);
  it('refuses a production venue without a private WebSocket, unknown references and bad precision', () => {
    const a = clone();
    a.venues[0]!.hasPrivateWs = false;
    expect(() => validateSeed(a)).toThrow(/private WebSocket/);
    const b = clone();
    b.instruments[0]!.canonical = 'NOPE-USD';
    expect(() => validateSeed(b)).toThrow(RefDataError);
    const c = clone();
    c.instruments[0]!.minTick = 0;
    expect(() => new MemoryRefData(c)).toThrow(/minTick/);
  });

  it('refuses market data bounds for unknown symbols, duplicated or not positive', () => {
    const a = clone();
    a.marketDataBounds[0]!.canonical = 'NOPE-USD';
    expect(() => validateSeed(a)).toThrow(/unknown canonical symbol NOPE-USD/);
    const b = clone();
    b.marketDataBounds.push({ ...b.marketDataBounds[0]! });
    expect(() => validateSeed(b)).toThrow(/duplicated/);
    const c = clone();
    c.marketDataBounds[1]!.maxTradeQty = Number.POSITIVE_INFINITY;
    expect(() => validateSeed(c)).toThrow(/maxTradeQty/);
  });
});

describe.runIf(pgUp)('PostgreSQL specifics (real server)', () => {
  let pool: pg.Pool;
  beforeAll(async () => {
    // Make sure the schema exists even when this block runs first.
    await (await PostgresRefData.connect({ url: PG_URL, schema: SCHEMA, seed: DEFAULT_SEED })).close();
    pool = new pg.Pool({ connectionString: PG_URL, options: `-c search_path=${SCHEMA}` });
  });
  afterAll(async () => pool.end());

  it('applies each migration once', async () => {
    expect(await migrate(pool)).toEqual([]);
    const r = await pool.query('SELECT name FROM schema_migrations');
    const files = fs
      .readdirSync(migrationsDir())
      .filter((f) => f.endsWith('.sql'))
      .sort();
    expect(files).toContain('002_price_band_bps.sql');
    expect(files).toContain('003_market_data_bounds.sql');
    expect(r.rows.map((x) => x.name).sort()).toEqual(files);
  });

  it('stores market data bounds with their constraints, and a re-seed overwrites none', async () => {
    await expect(pool.query("INSERT INTO market_data_bounds VALUES ('DOGE-USDT', 1, 1, 1)")).rejects.toThrow(/foreign key/);
    await expect(pool.query("UPDATE market_data_bounds SET max_trade_qty = 0 WHERE canonical_symbol = 'BTC-USDT'")).rejects.toThrow(
      /check constraint/,
    );
    await pool.query("UPDATE market_data_bounds SET max_mark_deviation_bps = 750 WHERE canonical_symbol = 'ETH-USD'");
    const repo = await PostgresRefData.connect({ url: PG_URL, schema: SCHEMA, seed: DEFAULT_SEED });
    try {
      const b = await repo.marketDataBounds();
      expect(b.find((x) => x.canonical === 'ETH-USD')!.maxMarkDeviationBps).toBe(750);
      expect(b.find((x) => x.canonical === 'BTC-USDT')).toEqual(DEFAULT_SEED.marketDataBounds.find((x) => x.canonical === 'BTC-USDT'));
    } finally {
      await repo.close();
    }
  });

  it('enforces the venue policy and references in the database itself', async () => {
    await expect(pool.query("INSERT INTO venues VALUES ('bybit', 9, false, 'production', 10, 600, ARRAY['GTC'])")).rejects.toThrow(
      /check constraint/,
    );
    await expect(pool.query("INSERT INTO venue_symbols VALUES ('binance', 'DOGEUSDT', 'DOGE-USDT', true)")).rejects.toThrow(/foreign key/);
  });

  it('round-trips rows written with SQL: a new symbol, a deactivated instrument, and a re-seed that overwrites nothing', async () => {
    await pool.query(
      "INSERT INTO symbols (canonical_symbol, asset_class, base_currency, quote_currency, decimal_places) VALUES ('SOL-USDT', 'crypto', 'SOL', 'USDT', 2)",
    );
    await pool.query("INSERT INTO venue_symbols VALUES ('okx', 'SOL-USDT', 'SOL-USDT', true)");
    await pool.query(
      "INSERT INTO venue_symbol_specs VALUES ('okx', 'SOL-USDT', 0.01, 0.01, 0.000001, 50000, 2, 6, 500, 0.0008, 0.001, true, true, ARRAY['limit'], 'B')",
    );
    await pool.query("UPDATE venue_symbols SET active = false WHERE venue = 'kraken' AND venue_symbol = 'XBT/USD'");
    await pool.query("UPDATE venue_symbol_specs SET taker_fee = 0.0035 WHERE venue = 'kraken' AND venue_symbol = 'BTC/USD'");
    const repo = await PostgresRefData.connect({ url: PG_URL, schema: SCHEMA, seed: DEFAULT_SEED });
    try {
      const sol = await repo.resolve('okx', 'SOL-USDT');
      expect(sol).toEqual({ venueSymbol: 'SOL-USDT', symbol: 'SOL-USDT', symbolId: 5, pricePrecision: 2, qtyPrecision: 6 });
      expect(await repo.resolve('kraken', 'XBT/USD')).toBeUndefined();
      const spec = await repo.venueSpec('kraken');
      expect(spec!.symbols.map((s) => s.venueSymbol)).toEqual(['BTC/USD', 'ETH/USD']);
      expect(spec!.symbols[0]!.takerFee).toBe(0.0035);
      const okx = await repo.venueSpec('okx');
      expect(okx!.symbols.find((s) => s.venueSymbol === 'SOL-USDT')).toMatchObject({
        liquidityTier: 'B',
        lotStep: 0.000001,
        priceBandBps: 500,
      });
    } finally {
      await repo.close();
    }
  });

  it('migrates a database whose bands were stored in percent to basis points (5 → 500)', async () => {
    const old = `${SCHEMA}_pct`;
    const p = new pg.Pool({ connectionString: PG_URL, options: `-c search_path=${old}` });
    const only001 = tmpDir('mig');
    try {
      await p.query(`CREATE SCHEMA ${old}`);
      fs.copyFileSync(path.join(migrationsDir(), '001_schema.sql'), path.join(only001, '001_schema.sql'));
      await migrate(p, only001);
      await p.query(
        "INSERT INTO symbols (id, canonical_symbol, asset_class, base_currency, quote_currency, decimal_places) VALUES (1, 'BTC-USDT', 'crypto', 'BTC', 'USDT', 2)",
      );
      await p.query("INSERT INTO venues VALUES ('binance', 1, true, 'production', 50, 6000, ARRAY['GTC'])");
      await p.query("INSERT INTO venue_symbols VALUES ('binance', 'BTCUSDT', 'BTC-USDT', true)");
      await p.query(
        "INSERT INTO venue_symbol_specs VALUES ('binance', 'BTCUSDT', 0.01, 0.00001, 0.00001, 9000, 2, 5, 5, 0.001, 0.001, true, true, ARRAY['limit'], 'A')",
      );
      const repo = await PostgresRefData.connect({ url: PG_URL, schema: old });
      try {
        expect((await repo.venueSpec('binance'))!.symbols[0]!.priceBandBps).toBe(500);
      } finally {
        await repo.close();
      }
      await expect(p.query('UPDATE venue_symbol_specs SET price_band_bps = 20000')).rejects.toThrow(/check constraint/);
    } finally {
      await p.query(`DROP SCHEMA IF EXISTS ${old} CASCADE`);
      await p.end();
      fs.rmSync(only001, { recursive: true, force: true });
    }
  });
});
