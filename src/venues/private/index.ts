/** Venue order-entry clients behind one interface; `createOrderClient` picks the protocol by venue. */
export * from './types.js';
export { createOrderClient } from './factory.js';
export { BinanceOrderClient, mapBinanceError } from './binance.js';
export { KrakenOrderClient, mapKrakenError } from './kraken.js';
export { OkxOrderClient, mapOkxError } from './okx.js';
export { OrderGateway, type OrderGatewayOptions } from './order-gateway.js';

export { startSimulatedOrderEntry, type SimulatedOrderEntry, type SimulatedOrderEntryOptions } from './session.js';
