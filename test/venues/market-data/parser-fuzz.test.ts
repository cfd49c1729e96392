/**
 * Property tests for every venue parser: truncated, type-mutated and garbage messages derived from the
 * real captures are fed to adapters holding a synced real book. Each must be rejected with a typed
 * VenueParseError (counted, reported as a `parse` event), never throw out of the adapter, never emit a
 * tick, and leave the book exactly as it was. Truncations mostly die in JSON.parse; the inputs that
 * parse and are still wrong (replays, reorders, stale ids, NaN-ish numbers, off-by-one-tick prices,
 * crossed books with valid checksums) are in semantic-fuzz.test.ts.
 */
import { systemClock } from '../../../src/clock/clock.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinanceAdapter } from '../../../src/venues/binance/market-data.js';
import { KrakenAdapter } from '../../../src/venues/kraken/market-data.js';
import { OkxAdapter } from '../../../src/venues/okx/market-data.js';
import type { OrderBook } from '../../../src/venues/common/book.js';
import { BinanceSimulator } from '../../../src/venues/binance/simulator/market-data.js';
import { KrakenSimulator } from '../../../src/venues/kraken/simulator/market-data.js';
import { OkxSimulator } from '../../../src/venues/okx/simulator/market-data.js';
import { binanceCapture, loadKrakenBookCapture, loadOkxRecording } from '../../../src/simulators/recordings.js';
import { CollectingSink, sameBook } from './helpers.js';
import { until } from '../../support/wait.js';

type Json = Record<string, unknown>;
type Mutator = [name: string, fn: (m: Json) => void];

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

interface Harness {
  name: string;
  feed(text: string): void;
  feedBinary(b: Buffer): void;
  sink: CollectingSink;
  book(): OrderBook;
  parseErrors(): number;
  samples: string[];
  mutators: Mutator[];
}

const d0 = (m: Json) => (m.data as Json[])[0]!;
const dd = (m: Json) => m.data as Json;
const firstLevel = (side: unknown[], make: () => unknown) => {
  if (side.length === 0) side.push(make());
  return side[0];
};

const krakenMutators: Mutator[] = [
  ['data not an array', (m) => void (m.data = 'x')],
  ['entry null', (m) => void (m.data = [null])],
  ['bids not an array', (m) => void (d0(m).bids = {})],
  ['price not numeric', (m) => void ((firstLevel(d0(m).asks as unknown[], () => ({ price: 1, qty: 1 })) as Json).price = 'abc')],
  ['price null', (m) => void ((firstLevel(d0(m).bids as unknown[], () => ({ price: 1, qty: 1 })) as Json).price = null)],
  ['price zero', (m) => void ((firstLevel(d0(m).bids as unknown[], () => ({ price: 1, qty: 1 })) as Json).price = 0)],
  ['qty negative', (m) => void ((firstLevel(d0(m).asks as unknown[], () => ({ price: 1, qty: 1 })) as Json).qty = -1)],
  ['level is an array', (m) => void ((d0(m).asks as unknown[])[0] = [1, 2])],
  ['checksum a string', (m) => void (d0(m).checksum = '123')],
  ['checksum negative', (m) => void (d0(m).checksum = -5)],
  ['checksum fractional', (m) => void (d0(m).checksum = 1.5)],
  ['timestamp a number', (m) => void (d0(m).timestamp = 12345)],
  ['timestamp garbage', (m) => void (d0(m).timestamp = 'yesterday')],
  ['symbol a number', (m) => void (d0(m).symbol = 42)],
  ['unknown type', (m) => void (m.type = 'delta')],
  ['unknown channel', (m) => void (m.channel = 'bookz')],
];

const krakenTradeMutators: Mutator[] = [
  ['data not an array', (m) => void (m.data = 'x')],
  ['price garbage', (m) => void (d0(m).price = 'abc')],
  ['qty negative', (m) => void (d0(m).qty = -1)],
  ['side garbage', (m) => void (d0(m).side = 'long')],
  ['timestamp a number', (m) => void (d0(m).timestamp = 5)],
  ['symbol a number', (m) => void (d0(m).symbol = 42)],
  ['unknown type', (m) => void (m.type = 'delta')],
];

const binanceDepthMutators: Mutator[] = [
  ['U a string', (m) => void (dd(m).U = 'x')],
  ['u null', (m) => void (dd(m).u = null)],
  ['u below U', (m) => void (dd(m).u = (dd(m).U as number) - 1)],
  ['U fractional', (m) => void (dd(m).U = 1.5)],
  ['E a string', (m) => void (dd(m).E = 'now')],
  ['bids an object', (m) => void (dd(m).b = {})],
  ['level too short', (m) => void ((dd(m).b as unknown[])[0] = ['1'])],
  ['level numbers not strings', (m) => void ((dd(m).a as unknown[])[0] = [1, 2])],
  ['price garbage', (m) => void ((firstLevel(dd(m).b as unknown[], () => ['1', '1']) as string[])[0] = 'abc')],
  ['qty negative', (m) => void ((firstLevel(dd(m).a as unknown[], () => ['1', '1']) as string[])[1] = '-1')],
  ['price infinite', (m) => void ((firstLevel(dd(m).a as unknown[], () => ['1', '1']) as string[])[0] = '1e999')],
  ['symbol a number', (m) => void (dd(m).s = 5)],
  ['data null', (m) => void (m.data = null)],
  ['stream a number', (m) => void (m.stream = 5)],
  ['unknown event', (m) => void (dd(m).e = 'depthUpdat')],
];
const binanceTradeMutators: Mutator[] = [
  ['price garbage', (m) => void (dd(m).p = 'x')],
  ['qty null', (m) => void (dd(m).q = null)],
  ['time a string', (m) => void (dd(m).T = 'x')],
  ['maker flag a string', (m) => void (dd(m).m = 'yes')],
];
const binanceTickerMutators: Mutator[] = [
  ['id a string', (m) => void (dd(m).u = 'x')],
  ['bid garbage', (m) => void (dd(m).b = 'x')],
  ['ask qty negative', (m) => void (dd(m).A = -1)],
  ['ask empty', (m) => void (dd(m).a = '')],
];

const okxMutators: Mutator[] = [
  ['unknown action', (m) => void (m.action = 'upd')],
  ['data an object', (m) => void (m.data = {})],
  ['data empty', (m) => void (m.data = [])],
  ['entry a string', (m) => void (m.data = ['x'])],
  ['ts a number', (m) => void (d0(m).ts = 123)],
  ['ts garbage', (m) => void (d0(m).ts = '12a')],
  ['seqId a string', (m) => void (d0(m).seqId = '5')],
  ['prevSeqId fractional', (m) => void (d0(m).prevSeqId = 1.5)],
  ['checksum a string', (m) => void (d0(m).checksum = 'x')],
  ['checksum beyond int32', (m) => void (d0(m).checksum = 2 ** 40)],
  ['level too short', (m) => void (d0(m).bids = [['1']])],
  ['price garbage', (m) => void ((firstLevel(d0(m).asks as unknown[], () => ['1', '1', '0', '1']) as string[])[0] = 'abc')],
  ['size negative', (m) => void ((firstLevel(d0(m).asks as unknown[], () => ['1', '1', '0', '1']) as string[])[1] = '-3')],
  ['arg null', (m) => void (m.arg = null)],
  ['instId a number', (m) => void ((m.arg as Json).instId = 5)],
];
const okxTradeMutators: Mutator[] = [
  ['side garbage', (m) => void (d0(m).side = 'long')],
  ['px garbage', (m) => void (d0(m).px = 'x')],
  ['ts a number', (m) => void (d0(m).ts = 5)],
];

const harnesses: Harness[] = [];
const stops: Array<() => Promise<void>> = [];

beforeAll(async () => {
  // Kraken: synced on the real capture through its simulator.
  {
    const sim = await KrakenSimulator.create();
    const sink = new CollectingSink();
    const a = new KrakenAdapter({
      clock: systemClock,
      url: sim.wsUrl,
      symbols: [{ venueSymbol: 'BTC/USD', symbol: 'BTC-USD', symbolId: 1, pricePrecision: 1, qtyPrecision: 8 }],
      sink,
    });
    stops.push(
      () => a.stop(),
      () => sim.stop(),
    );
    await a.start();
    await sim.start({ pace: 'instant' });
    await sim.finished();
    await until(() => a.isSynced('BTC/USD') && sameBook(a.book('BTC/USD')!, sim.currentBook()), 5000, 'kraken synced');
    const cap = await loadKrakenBookCapture();
    const samples = cap.updates.slice(0, 40).map((u) => JSON.stringify(u.message));
    samples.push(
      JSON.stringify({
        channel: 'trade',
        type: 'update',
        data: [
          {
            symbol: 'BTC/USD',
            side: 'buy',
            price: 68500.0,
            qty: 0.01,
            ord_type: 'limit',
            trade_id: 1,
            timestamp: '2024-05-27T12:43:11.798009Z',
          },
        ],
      }),
    );
    harnesses.push({
      name: 'kraken',
      feed: (t) => a.handleRaw(t),
      feedBinary: (b) => a.handleRaw(b, true),
      sink,
      book: () => a.book('BTC/USD')!,
      parseErrors: () => a.stats().parseErrors,
      samples,
      mutators: krakenMutators,
    });
  }
  // Binance.
  {
    const sim = await BinanceSimulator.create();
    const sink = new CollectingSink();
    const a = new BinanceAdapter({
      clock: systemClock,
      url: sim.wsUrl,
      restUrl: sim.restUrl,
      symbols: [{ venueSymbol: 'BTCUSDT', symbol: 'BTC-USDT', symbolId: 2 }],
      sink,
    });
    stops.push(
      () => a.stop(),
      () => sim.stop(),
    );
    await a.start();
    await sim.start({ pace: 'instant' });
    await sim.finished();
    await until(() => a.isSynced('BTCUSDT') && a.lastUpdateId('BTCUSDT') === sim.currentBook().lastUpdateId, 10_000, 'binance synced');
    const samples: string[] = [];
    for await (const r of binanceCapture()) {
      if (r.kind !== 'snapshot') samples.push(JSON.stringify({ stream: r.stream, data: r.data }));
      if (samples.length >= 60) break;
    }
    harnesses.push({
      name: 'binance',
      feed: (t) => a.handleRaw(t),
      feedBinary: (b) => a.handleRaw(b, true),
      sink,
      book: () => a.book('BTCUSDT')!,
      parseErrors: () => a.stats().parseErrors,
      samples,
      mutators: [],
    });
  }
  // OKX.
  {
    const sim = await OkxSimulator.create();
    const sink = new CollectingSink();
    const a = new OkxAdapter({
      clock: systemClock,
      url: sim.wsUrl,
      symbols: [{ venueSymbol: 'BTC-USDT', symbol: 'BTC-USDT', symbolId: 3 }],
      sink,
      checksum: 'required',
    });
    stops.push(
      () => a.stop(),
      () => sim.stop(),
    );
    await a.start();
    await sim.start({ pace: 'instant' });
    await sim.finished();
    await until(() => a.isSynced('BTC-USDT') && a.lastSeqId('BTC-USDT') === sim.currentBook('BTC-USDT')?.seqId, 5000, 'okx synced');
    const recs = (await loadOkxRecording()).filter((r) => r.instId === 'BTC-USDT' && r.kind !== 'tickers').slice(0, 60);
    const samples = recs.map((r) =>
      JSON.stringify(
        r.kind === 'books'
          ? { arg: r.arg, action: r.action, data: [{ ...r.data, seqId: 5, prevSeqId: 4 }] }
          : { arg: r.arg, data: [r.data] },
      ),
    );
    harnesses.push({
      name: 'okx',
      feed: (t) => a.handleRaw(t),
      feedBinary: (b) => a.handleRaw(b, true),
      sink,
      book: () => a.book('BTC-USDT')!,
      parseErrors: () => a.stats().parseErrors,
      samples,
      mutators: okxMutators,
    });
  }
}, 60_000);

afterAll(async () => {
  for (const s of stops.reverse()) await s();
});

/** Feeds one malformed message and checks the full property. */
function rejects(h: Harness, text: string, what: string): void {
  const before = h.book().clone();
  const ticks = h.sink.ticks.length;
  const errs = h.parseErrors();
  const events = h.sink.events.length;
  expect(() => h.feed(text), what).not.toThrow();
  expect(h.parseErrors(), `${h.name}: ${what} must be a typed parse error`).toBe(errs + 1);
  expect(h.sink.ticks.length, `${h.name}: ${what} published a tick`).toBe(ticks);
  expect(sameBook(h.book(), before), `${h.name}: ${what} changed the book`).toBe(true);
  const ev = h.sink.events.slice(events);
  expect(ev.map((e) => e.kind)).toEqual(['parse']);
}

function mutatorsFor(h: Harness, sample: Json): Mutator[] {
  if (h.name !== 'binance') {
    if (h.name === 'okx' && (sample.arg as Json).channel === 'trades') return okxTradeMutators;
    if (h.name === 'kraken' && sample.channel === 'trade') return krakenTradeMutators;
    return h.mutators;
  }
  const s = sample.stream as string;
  return s.endsWith('@bookTicker') ? binanceTickerMutators : s.endsWith('@trade') ? binanceTradeMutators : binanceDepthMutators;
}

describe.each(['kraken', 'binance', 'okx'])('%s parser under malformed input', (venue) => {
  const h = () => harnesses.find((x) => x.name === venue)!;

  it('rejects every truncation of real messages', () => {
    const rnd = mulberry32(venue.length);
    let n = 0;
    for (const s of h().samples.slice(0, 20)) {
      // Every cut of short messages, a random sample of cuts of long ones.
      const cuts = s.length <= 200 ? [...Array(s.length).keys()] : Array.from({ length: 60 }, () => Math.floor(rnd() * s.length));
      for (const c of cuts) {
        rejects(h(), s.slice(0, c), `truncated at ${c}/${s.length}`);
        n++;
      }
    }
    expect(n).toBeGreaterThan(500);
  });

  it('rejects type-mutated real messages field by field', () => {
    let n = 0;
    for (const s of h().samples) {
      for (const [name, fn] of mutatorsFor(h(), JSON.parse(s) as Json)) {
        const m = JSON.parse(s) as Json;
        fn(m);
        rejects(h(), JSON.stringify(m), name);
        n++;
      }
    }
    expect(n).toBeGreaterThan(100);
  });

  it('rejects garbage frames and non-object JSON', () => {
    const rnd = mulberry32(7 + venue.length);
    const fixed = ['', ' ', 'null', '[]', '42', '"x"', 'true', '{', '}{', '\u0000\u0001', '[{"channel":"book"}]'];
    for (const f of fixed) rejects(h(), f, `fixed ${JSON.stringify(f)}`);
    for (let i = 0; i < 300; i++) {
      const len = 1 + Math.floor(rnd() * 80);
      let t = '';
      for (let k = 0; k < len; k++) t += String.fromCharCode(1 + Math.floor(rnd() * 126));
      // Make sure it is not accidentally a valid frame (an object or OKX's 'pong').
      if (t.trimStart().startsWith('{') || t === 'pong') t = `#${t}`;
      rejects(h(), t, `garbage ${i}`);
    }
    // Binary frames are not part of any of these protocols.
    const before = h().parseErrors();
    const ticks = h().sink.ticks.length;
    expect(() => h().feedBinary(Buffer.from(h().samples[0]!))).not.toThrow();
    expect(h().parseErrors()).toBe(before + 1);
    expect(h().sink.ticks.length).toBe(ticks);
  });
});
