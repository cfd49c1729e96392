/**
 * Feed the simulated venues' books from the real captures, paced like the recording.
 * source 'binance': the Binance BTC-USDT capture into all three venues. 'per-venue': each venue
 * replays its own venue's capture (Binance BTC-USDT, Kraken BTC-USD book, OKX BTC-USDT).
 */
import { BinanceReplayFeeder, KrakenReplayFeeder, OkxReplayFeeder, pacer, type BookSink } from '../matching/replay-feed.js';
import { binanceCapture } from '../recordings.js';
import type { PrivateVenueSim } from './core.js';
import type { PrivateVenues } from './venues.js';
import { KestrelError } from '../../contracts/errors.js';

export interface ReplayOptions {
  /** 1 = recorded pace, 0 = as fast as possible. */
  readonly speed: number;
  /** Limit of Binance capture records (0 = all). */
  readonly maxRecords?: number;
  readonly source?: 'binance' | 'per-venue';
}

class ReplayStopped extends KestrelError {
  constructor(message: string, options?: ErrorOptions) {
    super('REPLAY_STOPPED', message, options);
  }
}

function sinkOf(targets: readonly PrivateVenueSim[]): BookSink {
  return {
    book: (s, b, a) => targets.forEach((v) => v.feedBook(s, b, a)),
    trade: (s, p, q, ag) => targets.forEach((v) => v.feedTrade(s, p, q, ag)),
  };
}

async function replayBinance(
  targets: readonly PrivateVenueSim[],
  speed: number,
  maxRecords: number,
  stopped: () => boolean,
): Promise<number> {
  const feeder = new BinanceReplayFeeder(sinkOf(targets));
  const pace = pacer(speed);
  let n = 0;
  for await (const r of binanceCapture()) {
    if (stopped()) return n;
    await pace(r.recvNs);
    feeder.onRecord(r);
    if (++n === maxRecords) return n;
  }
  return n;
}

/** Resolves with the number of records applied once every replay ended (or `stopped()` turned true). */
export async function replayCaptures(venues: PrivateVenues, o: ReplayOptions, stopped: () => boolean): Promise<number> {
  const { speed, maxRecords = 0, source = 'binance' } = o;
  if (source === 'binance') return replayBinance(venues.all, speed, maxRecords, stopped);
  const guarded = () => {
    const pace = pacer(speed);
    return async (ns: bigint) => {
      if (stopped()) throw new ReplayStopped('replay stopped');
      await pace(ns);
    };
  };
  const quiet = (p: Promise<number>) => p.catch((e: unknown) => (e instanceof ReplayStopped ? 0 : Promise.reject(e)));
  const counts = await Promise.all([
    replayBinance([venues.binance], speed, maxRecords, stopped),
    quiet(new KrakenReplayFeeder(sinkOf([venues.kraken])).replay(guarded())),
    quiet(new OkxReplayFeeder(sinkOf([venues.okx])).replay(guarded())),
  ]);
  return counts.reduce((a, b) => a + b, 0);
}
