/**
 * Public market data from configured endpoints (a real venue, its test environment, or a simulator
 * process started by `kestrel run simulators`): one real adapter per venue over its public WebSocket
 * (REST snapshots where the venue needs them), for the session's canonical symbols. Used by
 * `kestrel start --mode paper|live` and `kestrel record`. Adapters reconnect and resync on their own.
 */
import { BinanceAdapter } from '../venues/binance/market-data.js';
import { KrakenAdapter } from '../venues/kraken/market-data.js';
import { OkxAdapter } from '../venues/okx/market-data.js';
import type { AdapterStats, MarketDataAdapter, MarketDataSink, SymbolMapping } from '../venues/common/adapter-types.js';
import type { Bus } from '../bus/bus.js';
import type { Clock } from '../clock/clock.js';
import type { Config } from '../config/schema.js';
import type { VenueName } from '../contracts/market.js';
import type { Namespace } from '../contracts/subjects.js';
import { resolveEndpoints, type VenueEndpoints } from '../venues/endpoints.js';
import { KestrelError } from '../contracts/errors.js';

export class VenueMarketDataError extends KestrelError {
  override readonly name = 'VenueMarketDataError';
  constructor(message: string, options?: ErrorOptions) {
    super('VENUE_MARKET_DATA', message, options);
  }
}

export interface SymbolSource {
  mappings(venue: string, canonical?: readonly string[]): Promise<SymbolMapping[]>;
}

export interface VenueMarketData {
  readonly adapters: Partial<Record<VenueName, MarketDataAdapter>>;
  /** Canonical symbols per venue actually subscribed. */
  readonly symbols: Readonly<Partial<Record<VenueName, SymbolMapping[]>>>;
  stats(): AdapterStats[];
  stop(): Promise<void>;
}

/** Every venue's resolved endpoints from config (preset + URL overrides). */
export function endpointsOf(config: Config): Record<VenueName, VenueEndpoints> {
  return {
    binance: resolveEndpoints('binance', config.venues.binance),
    kraken: resolveEndpoints('kraken', config.venues.kraken),
    okx: resolveEndpoints('okx', config.venues.okx),
  };
}

export async function startVenueMarketData(o: {
  venues: readonly VenueName[];
  symbols: readonly string[];
  endpoints: Readonly<Record<VenueName, VenueEndpoints>>;
  refData: SymbolSource;
  sink: MarketDataSink;
  clock: Clock;
  bus?: Bus;
  namespace?: Namespace;
  staleAfterMs?: number;
  maxSkewMs?: number;
}): Promise<VenueMarketData> {
  const adapters: Partial<Record<VenueName, MarketDataAdapter>> = {};
  const symbols: Partial<Record<VenueName, SymbolMapping[]>> = {};
  const common = {
    sink: o.sink,
    clock: o.clock,
    ...(o.bus ? { bus: o.bus } : {}),
    ...(o.namespace ? { namespace: o.namespace } : {}),
    ...(o.staleAfterMs !== undefined ? { staleAfterMs: o.staleAfterMs } : {}),
    ...(o.maxSkewMs !== undefined ? { maxSkewMs: o.maxSkewMs } : {}),
  };
  const started: MarketDataAdapter[] = [];
  const stop = async () => {
    for (const a of started.reverse()) await a.stop();
  };
  try {
    for (const venue of o.venues) {
      // One subscription per canonical symbol: a venue's legacy alias (Kraken XBT/USD beside BTC/USD)
      // would be a second, refused subscription of the same instrument.
      const maps = (await o.refData.mappings(venue, o.symbols)).filter((m, i, all) => all.findIndex((x) => x.symbol === m.symbol) === i);
      if (maps.length === 0) throw new VenueMarketDataError(`reference data maps none of ${o.symbols.join(', ')} on ${venue}`);
      symbols[venue] = maps;
      const e = o.endpoints[venue];
      const adapter: MarketDataAdapter =
        venue === 'binance'
          ? new BinanceAdapter({ ...common, url: e.publicWs, restUrl: e.publicRest, symbols: maps })
          : venue === 'kraken'
            ? new KrakenAdapter({ ...common, url: e.publicWs, symbols: maps })
            : new OkxAdapter({
                ...common,
                url: e.publicWs,
                restUrl: e.publicRest,
                snapshotSource: 'ws',
                checksum: 'required',
                symbols: maps,
              });
      adapters[venue] = adapter;
      await adapter.start();
      started.push(adapter);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { adapters, symbols, stats: () => started.map((a) => a.stats()), stop };
}
