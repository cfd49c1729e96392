/**
 * Reference data access: one interface, two stores. `PostgresRefData` reads the SQL schema of
 * sql/*.sql; `MemoryRefData` serves the bundled seed with no server (the embedded default). Both pass
 * one conformance suite (test/refdata), so callers cannot tell them apart.
 */
import { create } from '@bufbuild/protobuf';
import { RateLimitsSchema, SymbolSpecSchema, VenueSpecSchema, type VenueSpec } from '../contracts/gen/kestrel/v1/venue_pb.js';
import type { SymbolMapping } from '../venues/common/adapter-types.js';
import type { SeedInstrument, SeedMarketDataBounds, SeedSymbol, SeedVenue } from './seed.js';
import { KestrelError } from '../contracts/errors.js';

export type SymbolRecord = SeedSymbol;
export type VenueRecord = SeedVenue;
export type MarketDataBoundsRecord = SeedMarketDataBounds;
/** One venue instrument with its canonical symbol id and precision/fees. */
export interface InstrumentRecord extends SeedInstrument {
  symbolId: number;
}

export interface RefDataRepository {
  readonly kind: 'postgres' | 'memory';
  symbols(): Promise<SymbolRecord[]>;
  symbol(canonical: string): Promise<SymbolRecord | undefined>;
  venues(): Promise<VenueRecord[]>;
  /** Instruments of a venue (all venues when omitted), active and inactive, ordered by venue, venue symbol. */
  instruments(venue?: string): Promise<InstrumentRecord[]>;
  /** Venue symbol -> canonical symbol + id, active instruments only. */
  resolve(venue: string, venueSymbol: string): Promise<SymbolMapping | undefined>;
  /** What an adapter needs for its subscriptions: active instruments of `venue`, optionally only these canonical symbols. */
  mappings(venue: string, canonical?: readonly string[]): Promise<SymbolMapping[]>;
  /** VenueSpec (protobuf contract) of a venue with its active instruments. */
  venueSpec(venue: string): Promise<VenueSpec | undefined>;
  /** Market-data bounds per canonical symbol, ordered by symbol (symbols without a row are unbounded). */
  marketDataBounds(): Promise<MarketDataBoundsRecord[]>;
  close(): Promise<void>;
}

export class RefDataError extends KestrelError {
  override readonly name = 'RefDataError';
  constructor(message: string, options?: ErrorOptions) {
    super('REFDATA_INVALID', message, options);
  }
}

export function toMapping(i: InstrumentRecord): SymbolMapping {
  return {
    venueSymbol: i.venueSymbol,
    symbol: i.canonical,
    symbolId: i.symbolId,
    pricePrecision: i.pricePrecision,
    qtyPrecision: i.qtyPrecision,
  };
}

export function toVenueSpec(v: VenueRecord, instruments: readonly InstrumentRecord[]): VenueSpec {
  return create(VenueSpecSchema, {
    venue: v.venue,
    hasPrivateWs: v.hasPrivateWs,
    venuePolicy: v.policy,
    supportedTif: [...v.supportedTif],
    rateLimits: create(RateLimitsSchema, { ordersPerSecond: v.ordersPerSecond, requestsPerMinute: v.requestsPerMinute }),
    symbols: instruments
      .filter((i) => i.active)
      .map((i) =>
        create(SymbolSpecSchema, {
          symbol: i.canonical,
          venueSymbol: i.venueSymbol,
          minTick: i.minTick,
          minLot: i.minLot,
          lotStep: i.lotStep,
          maxOrderSize: i.maxOrderSize,
          supportsIoc: i.supportsIoc,
          supportsFok: i.supportsFok,
          orderTypes: [...i.orderTypes],
          priceBandBps: i.priceBandBps,
          liquidityTier: i.liquidityTier,
          makerFee: i.makerFee,
          takerFee: i.takerFee,
        }),
      ),
  });
}

export function byVenueSymbol(a: InstrumentRecord, b: InstrumentRecord): number {
  return a.venue < b.venue ? -1 : a.venue > b.venue ? 1 : a.venueSymbol < b.venueSymbol ? -1 : a.venueSymbol > b.venueSymbol ? 1 : 0;
}
