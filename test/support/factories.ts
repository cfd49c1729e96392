// Factories for the records tests build over and over: a canonical tick, an executor signal. Defaults
// are valid; a test overrides only what it is about.
import { Side, Urgency } from '../../src/contracts/index.js';
import { TickFlag, VENUE_IDS, type NormalizedTick, type VenueName } from '../../src/contracts/market.js';
import { systemClock } from '../../src/clock/clock.js';
import type { ExecSignal } from '../../src/execution/types.js';

const BASE_NS = 1_723_100_000_000_000_000n;

/** A valid top-of-book tick; `i` drives sequence and time (1 ms apart, 2 ms receive latency). */
export function normalizedTick(i: number, over: Partial<NormalizedTick> = {}): NormalizedTick {
  const venue: VenueName = over.venue ?? 'binance';
  const exch = BASE_NS + BigInt(i) * 1_000_000n;
  return {
    exchTsNs: exch,
    recvTsNs: exch + 2_000_000n,
    venueId: VENUE_IDS[venue],
    symbolId: 1,
    venue,
    symbol: 'BTC-USDT',
    bid: 60_000 + (i % 7),
    ask: 60_000.5 + (i % 7),
    bidSize: 1.5,
    askSize: 2.5,
    sequence: BigInt(i),
    flags: TickFlag.NONE,
    lastPx: 0,
    lastQty: 0,
    aggressor: 0,
    ...over,
  };
}

let signalSeq = 0;
// Trace ids are client-id roots: unique per process run, so a WAL or venue journal kept between
// runs never sees one twice.
const RUN = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

/** A valid executor signal (BUY 0.5 BTC-USDT at 0.9 confidence); `tracePrefix` names the test in ids. */
export function execSignal(over: Partial<ExecSignal> = {}, tracePrefix = 'sig'): ExecSignal {
  signalSeq++;
  return {
    strategyId: 'core',
    symbol: 'BTC-USDT',
    side: Side.BUY,
    size: 0.5,
    confidence: 0.9,
    ttlMs: 1000,
    maxSlippageBps: 50,
    minFillQty: 0,
    urgency: Urgency.NORMAL,
    traceId: `${tracePrefix}-${RUN}-${signalSeq}`,
    sourceSequence: BigInt(signalSeq),
    emitTsNs: systemClock.nowNs(),
    refPrice: 0,
    ...over,
  };
}
