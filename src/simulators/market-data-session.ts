/**
 * "Simulator + adapter → ticks" for the default session: starts the venue simulators on 127.0.0.1
 * (ephemeral ports), connects the real adapters to them over real sockets, and replays the real
 * captures. Ticks and integrity events go to the given sink; VenueHealth goes on the bus when given.
 *
 *   const md = await startSimulatedMarketData({ sink: ingestion, bus, refData, pace: 'accelerated', speed: 10 });
 *   ...
 *   await md.stop();
 */
import { BinanceAdapter } from '../venues/binance/market-data.js';
import { KrakenAdapter } from '../venues/kraken/market-data.js';
import { OkxAdapter } from '../venues/okx/market-data.js';
import type { MarketDataAdapter, MarketDataSink, SymbolMapping } from '../venues/common/adapter-types.js';
import type { Bus } from '../bus/bus.js';
import type { Clock } from '../clock/clock.js';
import type { VenueName } from '../contracts/market.js';
import type { Namespace } from '../contracts/subjects.js';
import { BinanceSimulator } from '../venues/binance/simulator/market-data.js';
import type { Pace } from './common/simulator.js';
import { KrakenSimulator } from '../venues/kraken/simulator/market-data.js';
import { OkxSimulator, type OkxProtocol } from '../venues/okx/simulator/market-data.js';
import { KestrelError } from '../contracts/errors.js';

/** Anything that maps a venue's symbols (src/refdata's repositories fit as they are). */
export interface SymbolSource {
  mappings(venue: string): Promise<SymbolMapping[]>;
}

/** What each simulator can replay (the instruments in the real captures). */
export const SIMULATED_VENUE_SYMBOLS: Readonly<Record<VenueName, readonly string[]>> = {
  binance: ['BTCUSDT'],
  kraken: ['BTC/USD'],
  okx: ['BTC-USDT', 'BTC-USD-220527', 'UNI-USD-SWAP'],
};

/** Used when no SymbolSource is given; ids agree with the bundled reference-data seed for BTC. */
export const FALLBACK_SYMBOLS: Readonly<Record<VenueName, readonly SymbolMapping[]>> = {
  binance: [{ venueSymbol: 'BTCUSDT', symbol: 'BTC-USDT', symbolId: 1, pricePrecision: 2, qtyPrecision: 5 }],
  kraken: [{ venueSymbol: 'BTC/USD', symbol: 'BTC-USD', symbolId: 3, pricePrecision: 1, qtyPrecision: 8 }],
  okx: [{ venueSymbol: 'BTC-USDT', symbol: 'BTC-USDT', symbolId: 1, pricePrecision: 1, qtyPrecision: 8 }],
};

export interface SimulatedMarketDataOptions {
  sink: MarketDataSink;
  /** Default: all three. */
  venues?: readonly VenueName[];
  /** Default 'original' (real time); 'accelerated' uses `speed` (default 10); 'instant' as fast as possible. */
  pace?: Pace;
  speed?: number;
  refData?: SymbolSource;
  bus?: Bus;
  namespace?: Namespace;
  /** The trading side's clock (adapter receipt stamps, pacing); the simulated venues keep their own unless given it. */
  clock: Clock;
  /** OKX protocol generation to simulate (default 'legacy': WS snapshot + checksum). */
  okxProtocol?: OkxProtocol;
  /** Passed to every adapter (defaults are production values). */
  staleAfterMs?: number;
  maxSkewMs?: number;
  stallTimeoutMs?: number;
}

export interface SimulatedMarketData {
  simulators: { binance?: BinanceSimulator; kraken?: KrakenSimulator; okx?: OkxSimulator };
  adapters: { binance?: BinanceAdapter; kraken?: KrakenAdapter; okx?: OkxAdapter };
  /** Resolves when every simulator has replayed its whole recording. */
  finished(): Promise<void>;
  stop(): Promise<void>;
}

export class MarketDataSessionError extends KestrelError {
  override readonly name = 'MarketDataSessionError';
  constructor(message: string, options?: ErrorOptions) {
    super('MARKET_DATA_SESSION', message, options);
  }
}

export async function startSimulatedMarketData(opts: SimulatedMarketDataOptions): Promise<SimulatedMarketData> {
  const venues = opts.venues ?? (['binance', 'kraken', 'okx'] as const);
  const out: SimulatedMarketData = { simulators: {}, adapters: {}, finished: async () => {}, stop: async () => {} };
  const started: Array<{ sim: { stop(): Promise<void>; finished(): Promise<void> }; adapter: MarketDataAdapter }> = [];
  const common = {
    sink: opts.sink,
    ...(opts.bus ? { bus: opts.bus } : {}),
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    clock: opts.clock,
    ...(opts.staleAfterMs !== undefined ? { staleAfterMs: opts.staleAfterMs } : {}),
    ...(opts.maxSkewMs !== undefined ? { maxSkewMs: opts.maxSkewMs } : {}),
    ...(opts.stallTimeoutMs !== undefined ? { stallTimeoutMs: opts.stallTimeoutMs } : {}),
  };
  const stopAll = async () => {
    for (const s of started.reverse()) {
      await s.adapter.stop();
      await s.sim.stop();
    }
  };
  try {
    for (const venue of venues) {
      const all = opts.refData ? await opts.refData.mappings(venue) : [...FALLBACK_SYMBOLS[venue]];
      const symbols = all.filter((m) => SIMULATED_VENUE_SYMBOLS[venue].includes(m.venueSymbol));
      if (symbols.length === 0)
        throw new MarketDataSessionError(
          `no ${venue} symbol in reference data matches the ${venue} recording (${SIMULATED_VENUE_SYMBOLS[venue].join(', ')})`,
        );
      const clockOpt = opts.clock ? { clock: opts.clock } : {};
      if (venue === 'binance') {
        const sim = await BinanceSimulator.create(clockOpt);
        const adapter = new BinanceAdapter({ ...common, url: sim.wsUrl, restUrl: sim.restUrl, symbols });
        out.simulators.binance = sim;
        out.adapters.binance = adapter;
        started.push({ sim, adapter });
      } else if (venue === 'kraken') {
        const sim = await KrakenSimulator.create(clockOpt);
        const adapter = new KrakenAdapter({ ...common, url: sim.wsUrl, symbols });
        out.simulators.kraken = sim;
        out.adapters.kraken = adapter;
        started.push({ sim, adapter });
      } else {
        const protocol = opts.okxProtocol ?? 'legacy';
        const sim = await OkxSimulator.create({ ...clockOpt, protocol });
        const adapter = new OkxAdapter({
          ...common,
          url: sim.wsUrl,
          restUrl: sim.restUrl,
          snapshotSource: protocol === 'legacy' ? 'ws' : 'rest',
          checksum: protocol === 'legacy' ? 'required' : 'retired',
          symbols,
        });
        out.simulators.okx = sim;
        out.adapters.okx = adapter;
        started.push({ sim, adapter });
      }
    }
    const pace = opts.pace ?? 'original';
    for (const s of started) await s.adapter.start();
    for (const v of venues) {
      const sim = out.simulators[v];
      await sim!.start({ pace, ...(opts.speed !== undefined ? { speed: opts.speed } : {}) });
    }
  } catch (e) {
    await stopAll();
    throw e;
  }
  out.finished = async () => {
    await Promise.all(started.map((s) => s.sim.finished()));
  };
  out.stop = stopAll;
  return out;
}
