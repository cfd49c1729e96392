/**
 * Property test for the one-pass frame readers (Binance depth/bookTicker, Kraken book, OKX books):
 * on frames of each venue's recording mutated at random (a digit changed, a byte inserted, deleted or
 * duplicated, whitespace, an exponent, an escape, a sign...), an adapter fed the mutated frame and an
 * adapter fed the same frame padded by a space (which every fast reader declines, so JSON.parse and
 * the general validation handle it) emit the same ticks, events and counters and hold the same book.
 * Some mutated frames must be accepted by the fast readers (a changed digit keeps the shape) and some
 * declined, so both branches of the property are exercised.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src/clock/clock.js';
import type { MarketDataEvent } from '../../../src/contracts/gen/kestrel/v1/market_pb.js';
import type { NormalizedTick } from '../../../src/contracts/market.js';
import type { BaseAdapter } from '../../../src/venues/common/base-adapter.js';
import type { OrderBook } from '../../../src/venues/common/book.js';
import { isBookTickerStream, newDepthScan, scanBookTicker, scanDepthFrame, streamNameEnd } from '../../../src/venues/binance/depth-scan.js';
import { newKrakenBookScan, scanKrakenBook } from '../../../src/venues/kraken/book-scan.js';
import { newOkxBookScan, scanOkxBook } from '../../../src/venues/okx/book-scan.js';
import { feed, recordingWorkloads, type RecordedFrame } from '../../../bench/lib/adapter-recordings.js';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INSERTS = [' ', '\n', '0', '1', '9', '.', '-', 'e', 'E', '+', ',', '"', '\\', '\\u0030', '[', ']', '{', '}', ':'];
/** Edits at a number's edge: where number grammar (signs, exponents, leading zeros, fractions) is decided. */
const BEFORE_DIGIT = ['0', '-', ' ', '"', '.'];
const AFTER_DIGIT = ['e1', 'E-1', 'e+0', '.', '.0', '0', '000000000000000', ' ', '"', ',', '}'];

/** One random mutation of `t`; most keep the frame parseable or at least close to the fast shape. */
function mutate(t: string, rnd: () => number): string {
  const isDigit = (c: number) => c >= 48 && c <= 57;
  const digits: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  for (let i = 0; i < t.length; i++) {
    if (!isDigit(t.charCodeAt(i))) continue;
    digits.push(i);
    if (!isDigit(t.charCodeAt(i - 1)) && t.charCodeAt(i - 1) !== 46) starts.push(i);
    if (!isDigit(t.charCodeAt(i + 1)) && t.charCodeAt(i + 1) !== 46) ends.push(i);
  }
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const i = pick(digits);
  const at = Math.floor(rnd() * t.length);
  const s0 = pick(starts);
  const e0 = pick(ends);
  switch (Math.floor(rnd() * 9)) {
    case 0:
    case 1:
      // Change a digit (twice as likely: it keeps the exact shape, so the fast reader must agree on values).
      return t.slice(0, i) + String(Math.floor(rnd() * 10)) + t.slice(i + 1);
    case 2:
    case 3:
      return t.slice(0, s0) + pick(BEFORE_DIGIT) + t.slice(s0);
    case 7:
    case 8:
      return t.slice(0, e0 + 1) + pick(AFTER_DIGIT) + t.slice(e0 + 1);
    case 4:
      return t.slice(0, at) + pick(INSERTS) + t.slice(at);
    case 5:
      return t.slice(0, at) + t.slice(at + 1 + Math.floor(rnd() * 3));
    default:
      // Replace one character, or duplicate a few.
      return rnd() < 0.5 ? t.slice(0, at) + pick(INSERTS) + t.slice(at + 1) : t.slice(0, at) + t.slice(at, at + 3) + t.slice(at);
  }
}

function fastAccepts(venue: string, t: string): boolean {
  if (venue === 'kraken') return scanKrakenBook(t, newKrakenBookScan());
  if (venue === 'okx') return scanOkxBook(t, newOkxBookScan());
  const p = streamNameEnd(t);
  if (p < 0) return false;
  return isBookTickerStream(t, p)
    ? scanBookTicker(t, p, { u: 0, symStart: 0, symEnd: 0, bid: 0, bidSz: 0, ask: 0, askSz: 0 })
    : scanDepthFrame(t, newDepthScan());
}

interface Run {
  adapter: BaseAdapter;
  out: string[];
  clock: VirtualClock;
}

function run(
  make: (sink: { onTick(t: NormalizedTick): void; onEvent(e: MarketDataEvent): void }, clock: VirtualClock) => BaseAdapter,
): Run {
  const out: string[] = [];
  const clock = new VirtualClock(1_700_000_000_000_000_000n);
  const adapter = make(
    {
      onTick: (t) =>
        void out.push(
          `T ${t.exchTsNs} ${t.symbolId} ${t.bid} ${t.ask} ${t.bidSize} ${t.askSize} ${t.sequence} ${t.flags} ${t.lastPx} ${t.lastQty} ${t.aggressor}`,
        ),
      onEvent: (e) => void out.push(`E ${e.symbol} ${e.kind} ${e.detail} ${e.expectedSequence} ${e.receivedSequence}`),
    },
    clock,
  );
  return { adapter, out, clock };
}

function counters(a: BaseAdapter): string {
  const s = a.stats();
  return `${s.messages} ${s.ticks} ${s.trades} ${s.parseErrors} ${s.gaps} ${s.checksumFailures} ${s.crossed} ${s.replays} ${s.resyncs} ${s.suppressed}`;
}

function bookOf(a: BaseAdapter, venueSymbol: string): string {
  const b = (a as unknown as { book(s: string): OrderBook | undefined }).book(venueSymbol);
  if (!b) return '';
  const side = (s: OrderBook['bids']) =>
    s
      .top()
      .map((l) => `${l.px}/${l.qty}/${l.pxStr}/${l.qtyStr}`)
      .join(' ');
  return `${side(b.bids)} | ${side(b.asks)}`;
}

const SYMBOLS: Record<string, string[]> = {
  binance: ['BTCUSDT'],
  kraken: ['BTC/USD'],
  okx: ['BTC-USDT', 'BTC-USD-220527', 'UNI-USD-SWAP'],
};
/** Frames each trial replays after its mutated one (Binance's capture is long: trials stay in its first part). */
const TRIALS = 300;
const AFTER = 15;

describe('fast readers agree with the general path on mutated recording frames', async () => {
  const workloads = await recordingWorkloads();
  for (const w of workloads) {
    it(`${w.venue}: ${TRIALS} trials, one mutated frame each, same output and book as through JSON.parse`, () => {
      const rnd = mulberry32(0x5eed + w.venue.length);
      const texts = w.frames.map((f, i) => ('text' in f ? i : -1)).filter((i) => i >= 0);
      const span = w.venue === 'binance' ? Math.min(texts.length, 600) : texts.length;
      let accepted = 0;
      let declined = 0;
      for (let trial = 0; trial < TRIALS; trial++) {
        const target = texts[Math.floor(rnd() * span)]!;
        const original = (w.frames[target] as { text: string }).text;
        const mutated = mutate(original, rnd);
        if (fastAccepts(w.venue, mutated)) accepted++;
        else declined++;
        const fast = run(w.make);
        const general = run(w.make);
        const end = Math.min(w.frames.length, target + AFTER);
        for (let i = 0; i < end; i++) {
          const f: RecordedFrame = i === target ? { text: mutated } : w.frames[i]!;
          const ns = 1_700_000_000_000_000_000n + BigInt(i) * 1000n;
          fast.clock.set(ns);
          general.clock.set(ns);
          feed(fast.adapter, f);
          feed(general.adapter, 'text' in f ? { text: `${f.text} ` } : f);
        }
        expect(fast.out, `trial ${trial}: ${mutated.slice(0, 160)}`).toEqual(general.out);
        expect(counters(fast.adapter)).toBe(counters(general.adapter));
        for (const s of SYMBOLS[w.venue]!) expect(bookOf(fast.adapter, s)).toBe(bookOf(general.adapter, s));
      }
      expect(accepted).toBeGreaterThan(5);
      expect(declined).toBeGreaterThan(5);
    }, 120_000);
  }
});
