/** Pick the order-entry protocol by venue. */
import type { VenueName } from '../contracts/index.js';
import { BinanceOrderClient, type BinanceClientOptions } from './binance/order-entry.js';
import { KrakenOrderClient, type KrakenClientOptions } from './kraken/order-entry.js';
import { OkxOrderClient } from './okx/order-entry.js';
import type { VenueClientOptions, VenueOrderClient } from './common/order-types.js';

export function createOrderClient(
  venue: VenueName,
  opts: VenueClientOptions & Partial<BinanceClientOptions> & Partial<KrakenClientOptions>,
): VenueOrderClient {
  switch (venue) {
    case 'binance':
      return new BinanceOrderClient(opts);
    case 'kraken':
      return new KrakenOrderClient(opts);
    case 'okx':
      return new OkxOrderClient(opts);
  }
}
export { startSimulatedOrderEntry, type SimulatedOrderEntry, type SimulatedOrderEntryOptions } from './order-entry-session.js';
