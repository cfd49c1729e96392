/** Venue order-entry clients behind one interface; `createOrderClient` picks the protocol by venue. */
export * from './common/order-types.js';
export { createOrderClient } from './factory.js';
export { BinanceOrderClient, mapBinanceError } from './binance/order-entry.js';
export { KrakenOrderClient, mapKrakenError } from './kraken/order-entry.js';
export { OkxOrderClient, mapOkxError } from './okx/order-entry.js';
export { OrderGateway, type OrderGatewayOptions } from './order-gateway.js';

export { startSimulatedOrderEntry, type SimulatedOrderEntry, type SimulatedOrderEntryOptions } from './order-entry-session.js';
