export * from './types.js';
export { BinanceAdapter, type BinanceAdapterOptions } from './binance/binance-adapter.js';
export { KrakenAdapter, type KrakenAdapterOptions } from './kraken/kraken-adapter.js';
export { OkxAdapter, type OkxAdapterOptions } from './okx/okx-adapter.js';
export { Backoff, DEFAULT_BACKOFF } from './common/backoff.js';
export { OrderBook, BookSide, type Level } from './common/book.js';
export { krakenChecksum, okxChecksum } from './common/checksum.js';
export { crc32, crc32Signed, crc32Bytes } from './common/crc32.js';

/** Public endpoints of the real venues (public market data needs no credentials). */
export const LIVE_ENDPOINTS = {
  kraken: { ws: 'wss://ws.kraken.com/v2' },
  binance: { ws: 'wss://stream.binance.com:9443/stream', rest: 'https://api.binance.com' },
  okx: { ws: 'wss://ws.okx.com:8443/ws/v5/public', rest: 'https://www.okx.com' },
} as const;
