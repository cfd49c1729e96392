/** Venue order-entry clients behind one interface; `createOrderClient` picks the protocol by venue. */
import type { VenueName } from '../../contracts/index.js';
import { BinanceOrderClient, type BinanceClientOptions } from './binance.js';
import { KrakenOrderClient, type KrakenClientOptions } from './kraken.js';
import { OkxOrderClient } from './okx.js';
import type { VenueClientOptions, VenueOrderClient } from './types.js';

export * from './types.js';
export { BinanceOrderClient, mapBinanceError } from './binance.js';
export { KrakenOrderClient, mapKrakenError } from './kraken.js';
export { OkxOrderClient, mapOkxError } from './okx.js';
export { OrderGateway, type OrderGatewayOptions } from './order-gateway.js';

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
