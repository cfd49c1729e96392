/**
 * The embedded default: the bundled seed served from memory, no server. Chosen over embedded
 * PostgreSQL (PGlite) after measuring PGlite here: 4.5 s to start and ~730 MB RSS for a few dozen
 * rows (docs/STORAGE.md). The seed is validated with the same rules the SQL schema's constraints
 * enforce, so bad seed data fails the same way in both stores.
 */
import type { SymbolMapping } from '../venues/common/adapter-types.js';
import type { VenueSpec } from '../contracts/gen/kestrel/v1/venue_pb.js';
import { DEFAULT_SEED, type RefDataSeed } from './seed.js';
import {
  RefDataError,
  byVenueSymbol,
  toMapping,
  toVenueSpec,
  type InstrumentRecord,
  type MarketDataBoundsRecord,
  type RefDataRepository,
  type SymbolRecord,
  type VenueRecord,
} from './repository.js';

export class MemoryRefData implements RefDataRepository {
  readonly kind = 'memory' as const;
  private readonly bySymbol: Map<string, SymbolRecord>;
  private readonly venueMap: Map<string, VenueRecord>;
  private readonly all: InstrumentRecord[];
  private readonly bounds: MarketDataBoundsRecord[];

  constructor(seed: RefDataSeed = DEFAULT_SEED) {
    validateSeed(seed);
    this.bySymbol = new Map(seed.symbols.map((s) => [s.canonical, { ...s }]));
    this.venueMap = new Map(seed.venues.map((v) => [v.venue, { ...v, supportedTif: [...v.supportedTif] }]));
    this.all = seed.instruments
      .map((i) => ({ ...i, orderTypes: [...i.orderTypes], symbolId: this.bySymbol.get(i.canonical)!.id }))
      .sort(byVenueSymbol);
    this.bounds = seed.marketDataBounds
      .map((b) => ({ ...b }))
      .sort((a, b) => (a.canonical < b.canonical ? -1 : a.canonical > b.canonical ? 1 : 0));
  }

  async symbols(): Promise<SymbolRecord[]> {
    return [...this.bySymbol.values()].sort((a, b) => a.id - b.id).map((s) => ({ ...s }));
  }

  async symbol(canonical: string): Promise<SymbolRecord | undefined> {
    const s = this.bySymbol.get(canonical);
    return s && { ...s };
  }

  async venues(): Promise<VenueRecord[]> {
    return [...this.venueMap.values()].sort((a, b) => a.venueId - b.venueId).map((v) => ({ ...v, supportedTif: [...v.supportedTif] }));
  }

  async instruments(venue?: string): Promise<InstrumentRecord[]> {
    return this.all.filter((i) => venue === undefined || i.venue === venue).map((i) => ({ ...i, orderTypes: [...i.orderTypes] }));
  }

  async resolve(venue: string, venueSymbol: string): Promise<SymbolMapping | undefined> {
    const i = this.all.find((x) => x.venue === venue && x.venueSymbol === venueSymbol && x.active);
    return i && toMapping(i);
  }

  async mappings(venue: string, canonical?: readonly string[]): Promise<SymbolMapping[]> {
    return this.all
      .filter((i) => i.venue === venue && i.active && (canonical === undefined || canonical.includes(i.canonical)))
      .map(toMapping);
  }

  async venueSpec(venue: string): Promise<VenueSpec | undefined> {
    const v = this.venueMap.get(venue);
    return (
      v &&
      toVenueSpec(
        v,
        this.all.filter((i) => i.venue === venue),
      )
    );
  }

  async marketDataBounds(): Promise<MarketDataBoundsRecord[]> {
    return this.bounds.map((b) => ({ ...b }));
  }

  async close(): Promise<void> {}
}

/** The checks of sql/001_schema.sql (keys, references, CHECK constraints), for data that never meets PostgreSQL. */
export function validateSeed(seed: RefDataSeed): void {
  const fail = (m: string): never => {
    throw new RefDataError(`invalid reference data: ${m}`);
  };
  const ids = new Set<number>();
  const names = new Set<string>();
  for (const s of seed.symbols) {
    if (!Number.isInteger(s.id) || s.id <= 0 || ids.has(s.id)) fail(`symbol id ${s.id} missing or duplicated`);
    if (names.has(s.canonical) || s.canonical.length === 0 || s.canonical.length > 20)
      fail(`symbol ${s.canonical} duplicated or bad length`);
    if (!Number.isInteger(s.decimalPlaces) || s.decimalPlaces < 0 || s.decimalPlaces > 18) fail(`symbol ${s.canonical} decimal_places`);
    ids.add(s.id);
    names.add(s.canonical);
  }
  const venues = new Set<string>();
  const venueIds = new Set<number>();
  for (const v of seed.venues) {
    if (venues.has(v.venue) || venueIds.has(v.venueId) || v.venueId <= 0) fail(`venue ${v.venue} duplicated or bad id`);
    if (v.policy !== 'production' && v.policy !== 'shadow_only') fail(`venue ${v.venue} policy ${String(v.policy)}`);
    if (v.policy === 'production' && !v.hasPrivateWs) fail(`venue ${v.venue}: production venues must have a private WebSocket`);
    if (v.ordersPerSecond <= 0 || v.requestsPerMinute <= 0) fail(`venue ${v.venue} rate limits`);
    venues.add(v.venue);
    venueIds.add(v.venueId);
  }
  const keys = new Set<string>();
  for (const i of seed.instruments) {
    const k = `${i.venue}|${i.venueSymbol}`;
    if (keys.has(k)) fail(`instrument ${k} duplicated`);
    keys.add(k);
    if (!venues.has(i.venue)) fail(`instrument ${k}: unknown venue`);
    if (!names.has(i.canonical)) fail(`instrument ${k}: unknown canonical symbol ${i.canonical}`);
    for (const f of ['minTick', 'minLot', 'lotStep', 'maxOrderSize', 'priceBandBps'] as const) {
      if (!(i[f] > 0) || !Number.isFinite(i[f])) fail(`instrument ${k}: ${f} must be > 0`);
    }
    if (!(i.priceBandBps <= 10_000)) fail(`instrument ${k}: priceBandBps must be <= 10000 (basis points)`);
    for (const f of ['pricePrecision', 'qtyPrecision'] as const) {
      if (!Number.isInteger(i[f]) || i[f] < 0 || i[f] > 18) fail(`instrument ${k}: ${f} must be 0..18`);
    }
    if (!['A', 'B', 'C'].includes(i.liquidityTier)) fail(`instrument ${k}: liquidity tier`);
  }
  // sql/003_market_data_bounds.sql
  const bounded = new Set<string>();
  for (const b of seed.marketDataBounds) {
    if (!names.has(b.canonical)) fail(`market data bounds: unknown canonical symbol ${b.canonical}`);
    if (bounded.has(b.canonical)) fail(`market data bounds: ${b.canonical} duplicated`);
    bounded.add(b.canonical);
    for (const f of ['maxTradeQty', 'maxLevelQty', 'maxMarkDeviationBps'] as const) {
      if (!(b[f] > 0) || !Number.isFinite(b[f])) fail(`market data bounds ${b.canonical}: ${f} must be > 0`);
    }
  }
}
