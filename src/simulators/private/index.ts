/** Simulated private venues (order entry) speaking each venue's real wire protocol. */
export * from './core.js';
export { BinancePrivateSim, BINANCE_ERRORS } from '../../venues/binance/simulator/order-entry.js';
export { KrakenPrivateSim, KRAKEN_ERRORS } from '../../venues/kraken/simulator/order-entry.js';
export { OkxPrivateSim, OKX_ERRORS } from '../../venues/okx/simulator/order-entry.js';
export {
  startPrivateVenues,
  TEST_CREDENTIALS,
  TEST_BINANCE_ED25519,
  DEFAULT_SYMBOLS,
  DEFAULT_BALANCES,
  type PrivateVenues,
} from './venues.js';
export { replayCaptures, type ReplayOptions } from './replay.js';
