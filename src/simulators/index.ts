export * from './recordings.js';
export { VenueSimulator, type Pace, type StartOptions, type SimulatorStats } from './common/simulator.js';
export { type Fault, type FaultKind, FAULT_KINDS, FaultError, parseFault } from './common/faults.js';
export { BinanceSimulator } from './binance/binance-simulator.js';
export { KrakenSimulator } from './kraken/kraken-simulator.js';
export { OkxSimulator, type OkxProtocol } from './okx/okx-simulator.js';
export * from './market-data-session.js';
