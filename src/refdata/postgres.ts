/**
 * Reference data in PostgreSQL (SPEC schema, sql/*.sql). Migrations are plain SQL files applied in
 * name order, each once, inside a transaction under an advisory lock (several processes may start
 * together). `schema` puts every table in a PostgreSQL schema of its own (tests use a fresh one per run).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { SymbolMapping } from '../venues/common/adapter-types.js';
import type { VenueSpec } from '../contracts/gen/kestrel/v1/venue_pb.js';
import { validateSeed } from './memory.js';
import {
  RefDataError,
  toMapping,
  toVenueSpec,
  type InstrumentRecord,
  type MarketDataBoundsRecord,
  type RefDataRepository,
  type SymbolRecord,
  type VenueRecord,
} from './repository.js';
import type { RefDataSeed } from './seed.js';

export interface PostgresRefDataOptions {
  url: string;
  /** PostgreSQL schema for the tables (created if missing); default: the connection's search_path. */
  schema?: string;
  /** Apply pending migrations on connect (default true). */
  migrate?: boolean;
  /** Insert this seed where rows are missing (existing rows are left alone). */
  seed?: RefDataSeed;
  maxConnections?: number;
}

const IDENT = /^[a-z_][a-z0-9_]*$/;
/** Arbitrary number shared by every Kestrel process: serialises concurrent migrations. */
const MIGRATION_LOCK = 0x6b657374;

/** sql/ beside this module, or the source tree's when running from a build without copied SQL. */
export function migrationsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'sql'), path.resolve(here, '../../../src/refdata/sql')];
  const found = candidates.find((d) => fs.existsSync(d));
  if (!found) throw new RefDataError(`reference data migrations not found (looked in ${candidates.join(', ')})`);
  return found;
}

export class PostgresRefData implements RefDataRepository {
  readonly kind = 'postgres' as const;

  private constructor(private readonly pool: pg.Pool) {}

  static async connect(opts: PostgresRefDataOptions): Promise<PostgresRefData> {
    if (opts.schema !== undefined && !IDENT.test(opts.schema)) throw new RefDataError(`invalid schema name ${JSON.stringify(opts.schema)}`);
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.maxConnections ?? 4,
      ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
    });
    // An idle client's error (server restart) must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    try {
      if (opts.schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${opts.schema}`);
      if (opts.migrate ?? true) await migrate(pool);
      if (opts.seed) await seedPostgres(pool, opts.seed);
      return new PostgresRefData(pool);
    } catch (err) {
      await pool.end();
      throw err;
    }
  }

  async symbols(): Promise<SymbolRecord[]> {
    const r = await this.pool.query<SymbolRow>(`${SYMBOL_SELECT} ORDER BY id`);
    return r.rows.map(symbolFromRow);
  }

  async symbol(canonical: string): Promise<SymbolRecord | undefined> {
    const r = await this.pool.query<SymbolRow>(`${SYMBOL_SELECT} WHERE canonical_symbol = $1`, [canonical]);
    return r.rows[0] && symbolFromRow(r.rows[0]);
  }

  async venues(): Promise<VenueRecord[]> {
    const r = await this.pool.query<VenueRow>(`${VENUE_SELECT} ORDER BY venue_id`);
    return r.rows.map(venueFromRow);
  }

  async instruments(venue?: string): Promise<InstrumentRecord[]> {
    const r =
      venue === undefined
        ? await this.pool.query<InstrumentRow>(`${INSTRUMENT_SELECT} ORDER BY vs.venue, vs.venue_symbol`)
        : await this.pool.query<InstrumentRow>(`${INSTRUMENT_SELECT} WHERE vs.venue = $1 ORDER BY vs.venue, vs.venue_symbol`, [venue]);
    return r.rows.map(instrumentFromRow);
  }

  async resolve(venue: string, venueSymbol: string): Promise<SymbolMapping | undefined> {
    const r = await this.pool.query<InstrumentRow>(`${INSTRUMENT_SELECT} WHERE vs.venue = $1 AND vs.venue_symbol = $2 AND vs.active`, [
      venue,
      venueSymbol,
    ]);
    return r.rows[0] && toMapping(instrumentFromRow(r.rows[0]));
  }

  async mappings(venue: string, canonical?: readonly string[]): Promise<SymbolMapping[]> {
    const r =
      canonical === undefined
        ? await this.pool.query<InstrumentRow>(`${INSTRUMENT_SELECT} WHERE vs.venue = $1 AND vs.active ORDER BY vs.venue_symbol`, [venue])
        : await this.pool.query<InstrumentRow>(
            `${INSTRUMENT_SELECT} WHERE vs.venue = $1 AND vs.active AND vs.canonical_symbol = ANY($2::text[]) ORDER BY vs.venue_symbol`,
            [venue, [...canonical]],
          );
    return r.rows.map((row) => toMapping(instrumentFromRow(row)));
  }

  async venueSpec(venue: string): Promise<VenueSpec | undefined> {
    const v = await this.pool.query<VenueRow>(`${VENUE_SELECT} WHERE venue = $1`, [venue]);
    if (!v.rows[0]) return undefined;
    return toVenueSpec(venueFromRow(v.rows[0]), await this.instruments(venue));
  }

  async marketDataBounds(): Promise<MarketDataBoundsRecord[]> {
    const r = await this.pool.query<BoundsRow>(
      'SELECT canonical_symbol, max_trade_qty, max_level_qty, max_mark_deviation_bps FROM market_data_bounds ORDER BY canonical_symbol',
    );
    return r.rows.map((b) => ({
      canonical: b.canonical_symbol,
      maxTradeQty: Number(b.max_trade_qty),
      maxLevelQty: Number(b.max_level_qty),
      maxMarkDeviationBps: Number(b.max_mark_deviation_bps),
    }));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

interface BoundsRow {
  canonical_symbol: string;
  max_trade_qty: string;
  max_level_qty: string;
  max_mark_deviation_bps: string;
}

/** Applies sql/NNN_*.sql files not yet recorded in schema_migrations; returns the names applied. */
export async function migrate(pool: pg.Pool, dir = migrationsDir()): Promise<string[]> {
  const files = fs
    .readdirSync(dir)
    .filter((f) => /^\d+_.*\.sql$/.test(f))
    .sort();
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW())',
    );
    const done = new Set((await client.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name));
    for (const f of files) {
      if (done.has(f)) continue;
      await client.query(fs.readFileSync(path.join(dir, f), 'utf8'));
      await client.query('INSERT INTO schema_migrations (name) VALUES ($1)', [f]);
      applied.push(f);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Inserts the seed's rows that are missing (by key), in one transaction; never overwrites. */
export async function seedPostgres(pool: pg.Pool, seed: RefDataSeed): Promise<void> {
  validateSeed(seed);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    for (const s of seed.symbols) {
      await client.query(
        `INSERT INTO symbols (id, canonical_symbol, asset_class, base_currency, quote_currency, decimal_places)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
        [s.id, s.canonical, s.assetClass, s.base, s.quote, s.decimalPlaces],
      );
    }
    // Explicit ids bypass SERIAL: move the sequence past them so later inserts do not collide.
    await client.query(`SELECT setval(pg_get_serial_sequence('symbols', 'id'), GREATEST((SELECT MAX(id) FROM symbols), 1))`);
    for (const v of seed.venues) {
      await client.query(
        `INSERT INTO venues (venue, venue_id, has_private_ws, venue_policy, orders_per_second, requests_per_minute, supported_tif)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
        [v.venue, v.venueId, v.hasPrivateWs, v.policy, v.ordersPerSecond, v.requestsPerMinute, v.supportedTif],
      );
    }
    for (const i of seed.instruments) {
      await client.query(
        `INSERT INTO venue_symbols (venue, venue_symbol, canonical_symbol, active) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
        [i.venue, i.venueSymbol, i.canonical, i.active],
      );
      await client.query(
        `INSERT INTO venue_symbol_specs (venue, venue_symbol, min_tick, min_lot, lot_step, max_order_size, price_precision,
           qty_precision, price_band_bps, maker_fee, taker_fee, supports_ioc, supports_fok, order_types, liquidity_tier)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT DO NOTHING`,
        [
          i.venue,
          i.venueSymbol,
          String(i.minTick),
          String(i.minLot),
          String(i.lotStep),
          String(i.maxOrderSize),
          i.pricePrecision,
          i.qtyPrecision,
          String(i.priceBandBps),
          String(i.makerFee),
          String(i.takerFee),
          i.supportsIoc,
          i.supportsFok,
          i.orderTypes,
          i.liquidityTier,
        ],
      );
    }
    for (const b of seed.marketDataBounds) {
      await client.query(
        `INSERT INTO market_data_bounds (canonical_symbol, max_trade_qty, max_level_qty, max_mark_deviation_bps)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
        [b.canonical, String(b.maxTradeQty), String(b.maxLevelQty), String(b.maxMarkDeviationBps)],
      );
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

interface SymbolRow {
  id: number;
  canonical_symbol: string;
  asset_class: string;
  base_currency: string;
  quote_currency: string;
  decimal_places: number;
}
const SYMBOL_SELECT = 'SELECT id, canonical_symbol, asset_class, base_currency, quote_currency, decimal_places FROM symbols';
function symbolFromRow(r: SymbolRow): SymbolRecord {
  return {
    id: r.id,
    canonical: r.canonical_symbol,
    assetClass: r.asset_class,
    base: r.base_currency,
    quote: r.quote_currency,
    decimalPlaces: r.decimal_places,
  };
}

interface VenueRow {
  venue: string;
  venue_id: number;
  has_private_ws: boolean;
  venue_policy: string;
  orders_per_second: number;
  requests_per_minute: number;
  supported_tif: string[];
}
const VENUE_SELECT =
  'SELECT venue, venue_id, has_private_ws, venue_policy, orders_per_second, requests_per_minute, supported_tif FROM venues';
function venueFromRow(r: VenueRow): VenueRecord {
  if (r.venue_policy !== 'production' && r.venue_policy !== 'shadow_only') {
    throw new RefDataError(`venue ${r.venue}: unknown policy ${r.venue_policy}`);
  }
  return {
    venue: r.venue,
    venueId: r.venue_id,
    hasPrivateWs: r.has_private_ws,
    policy: r.venue_policy,
    ordersPerSecond: r.orders_per_second,
    requestsPerMinute: r.requests_per_minute,
    supportedTif: r.supported_tif,
  };
}

interface InstrumentRow {
  venue: string;
  venue_symbol: string;
  canonical_symbol: string;
  active: boolean;
  symbol_id: number;
  min_tick: string;
  min_lot: string;
  lot_step: string;
  max_order_size: string;
  price_precision: number;
  qty_precision: number;
  price_band_bps: string;
  maker_fee: string;
  taker_fee: string;
  supports_ioc: boolean;
  supports_fok: boolean;
  order_types: string[];
  liquidity_tier: string;
}
const INSTRUMENT_SELECT = `SELECT vs.venue, vs.venue_symbol, vs.canonical_symbol, vs.active, s.id AS symbol_id,
  sp.min_tick, sp.min_lot, sp.lot_step, sp.max_order_size, sp.price_precision, sp.qty_precision, sp.price_band_bps,
  sp.maker_fee, sp.taker_fee, sp.supports_ioc, sp.supports_fok, sp.order_types, sp.liquidity_tier
FROM venue_symbols vs
JOIN symbols s ON s.canonical_symbol = vs.canonical_symbol
JOIN venue_symbol_specs sp ON sp.venue = vs.venue AND sp.venue_symbol = vs.venue_symbol`;
function instrumentFromRow(r: InstrumentRow): InstrumentRecord {
  // NUMERIC arrives as an exact decimal string; the contracts carry doubles.
  const num = (v: string) => Number(v);
  const tier = r.liquidity_tier;
  if (tier !== 'A' && tier !== 'B' && tier !== 'C') throw new RefDataError(`${r.venue} ${r.venue_symbol}: liquidity tier ${tier}`);
  return {
    venue: r.venue,
    venueSymbol: r.venue_symbol,
    canonical: r.canonical_symbol,
    active: r.active,
    symbolId: r.symbol_id,
    minTick: num(r.min_tick),
    minLot: num(r.min_lot),
    lotStep: num(r.lot_step),
    maxOrderSize: num(r.max_order_size),
    pricePrecision: r.price_precision,
    qtyPrecision: r.qty_precision,
    priceBandBps: num(r.price_band_bps),
    makerFee: num(r.maker_fee),
    takerFee: num(r.taker_fee),
    supportsIoc: r.supports_ioc,
    supportsFok: r.supports_fok,
    orderTypes: r.order_types,
    liquidityTier: tier,
  };
}
