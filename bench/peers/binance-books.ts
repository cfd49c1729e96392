/**
 * The two sides of the peer benchmark (bench/peers/ccxt-orderbook.bench.ts) and of its correctness
 * test (test/bench/peers.test.ts): the same Binance BTCUSDT diff-depth frames of the bundled capture,
 * byte for byte as recorded, through
 *
 * - Kestrel: `BinanceAdapter.handleRaw(text)`, the socket's entry point: JSON.parse, field and level
 *   validation (numbers parsed, original strings kept), U/u continuity, both book sides updated,
 *   crossed-book check, top-of-book change detection and a normalized tick delivered to the sink;
 * - CCXT (`ccxt` package, its pro `binance` class, no network): `WsClient.onMessage({ data: text })`,
 *   the path a frame takes in CCXT after its socket: its big-integer regex + JSON.parse,
 *   `binance.handleMessage` dispatch, `handleOrderBook` with Binance's spot U/u rules (buffer until the
 *   snapshot, drop u ≤ lastUpdateId, first event U-1 ≤ nonce ≤ u-1, then U-1 = nonce), `handleDeltas`
 *   → `OrderBookSide.store` (its bisected Float64Array index), nonce/timestamp/datetime and
 *   `client.resolve`. Its REST snapshot goes through CCXT's own `fetchOrderBookSnapshot` →
 *   `fetchOrderBook` → `parseOrderBook` with only the HTTP call (`publicGetDepth`) answered by the
 *   recorded snapshot body, so the cache unrolling is CCXT's too.
 *
 * No exchange instance connects anywhere: the client object is created and fed, never connected.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { systemClock } from '../../src/clock/clock.js';
import { BinanceAdapter } from '../../src/venues/binance/market-data.js';
import { BINANCE_CAPTURE, parseBinanceCaptureLine, sharedDataFile } from '../../src/simulators/recordings.js';

export const VENUE_SYMBOL = 'BTCUSDT';
export const CCXT_SYMBOL = 'BTC/USDT';
/** Depth CCXT's watchOrderBook asks for by default (`watchOrderBookLimit`), also its book's depth. */
export const SNAPSHOT_LIMIT = 1000;

export interface DepthFrames {
  /** Diff-depth frames received before the REST snapshot (both sides buffer them). */
  before: string[];
  /** The REST snapshot body (`{"lastUpdateId":…,"bids":…,"asks":…}`). */
  snapshot: string;
  /** Diff-depth frames after the snapshot: the measured ones. */
  after: string[];
}

/** The capture's diff-depth frames and its snapshot, each exactly as recorded (the JSON after `<recv_ns> `). */
export async function loadDepthFrames(file: string = sharedDataFile(...BINANCE_CAPTURE)): Promise<DepthFrames> {
  const out: DepthFrames = { before: [], snapshot: '', after: [] };
  const rl = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.length === 0) continue;
    const rec = parseBinanceCaptureLine(line);
    const json = line.slice(line.indexOf(' ') + 1);
    if (rec.kind === 'snapshot') {
      if (out.snapshot !== '') throw new Error('capture holds more than one depth snapshot');
      out.snapshot = json;
    } else if (rec.kind === 'depth') (out.snapshot === '' ? out.before : out.after).push(json);
  }
  if (out.snapshot === '' || out.after.length === 0) throw new Error('capture has no depth snapshot or no diff after it');
  return out;
}

/** [price, size] best first. */
export type Levels = Array<[number, number]>;

export interface BookSideBySide {
  /** Feeds one frame as its socket would; returns nothing, so the timed call is the whole cost. */
  handle(text: string): void;
  top(n: number): { bids: Levels; asks: Levels; nonce: number; bidLevels: number; askLevels: number };
}

export interface KestrelSide extends BookSideBySide {
  adapter: BinanceAdapter;
  ticks(): number;
}

export function kestrelSide(frames: DepthFrames): KestrelSide {
  let ticks = 0;
  const adapter = new BinanceAdapter({
    clock: systemClock,
    url: 'ws://127.0.0.1:9/unused',
    restUrl: 'http://127.0.0.1:9',
    symbols: [{ venueSymbol: VENUE_SYMBOL, symbol: 'BTC-USDT', symbolId: 1 }],
    sink: { onTick: () => void ticks++ },
    // The capture is years old: staleness and skew flags are not what is compared.
    staleAfterMs: 1e15,
    maxSkewMs: 1e15,
  });
  for (const f of frames.before) adapter.handleRaw(f);
  adapter.ingestSnapshot(VENUE_SYMBOL, frames.snapshot);
  return {
    adapter,
    ticks: () => ticks,
    handle: (text) => adapter.handleRaw(text),
    top(n) {
      const book = adapter.book(VENUE_SYMBOL)!;
      const side = (s: typeof book.bids): Levels => s.top(n).map((l) => [l.px, l.qty]);
      return {
        bids: side(book.bids),
        asks: side(book.asks),
        nonce: adapter.lastUpdateId(VENUE_SYMBOL),
        bidLevels: book.bids.size,
        askLevels: book.asks.size,
      };
    },
  };
}

/** The parts of CCXT's pro binance class this bench calls (its .d.ts types them loosely or not at all). */
interface CcxtBook {
  bids: Array<[number, number]>;
  asks: Array<[number, number]>;
  nonce: number | undefined;
  cache: unknown[];
}
interface CcxtClient {
  url: string;
  onMessage(ev: { data: string }): void;
}
interface CcxtBinancePro {
  urls: { api: { ws: { spot: string } } };
  orderbooks: Record<string, CcxtBook | undefined>;
  setMarkets(markets: object[]): void;
  stream(type: string, hash: string): string;
  client(url: string): CcxtClient;
  orderBook(snapshot: object, depth: number): CcxtBook;
  publicGetDepth(req: object): Promise<unknown>;
  fetchOrderBookSnapshot(client: CcxtClient, message: object, subscription: object): Promise<void>;
}

export interface CcxtSide extends BookSideBySide {
  exchange: CcxtBinancePro;
  book(): CcxtBook;
}

/** CCXT's binance pro class with one spot market and no network (markets set, REST answered from the capture). */
export async function ccxtSide(frames: DepthFrames): Promise<CcxtSide> {
  // Loaded here, not at the top: the perf gate uses the Kestrel side only and need not load CCXT.
  const { default: ccxt } = await import('ccxt');
  const ex = new ccxt.pro.binance({ enableRateLimit: false }) as unknown as CcxtBinancePro;
  ex.setMarkets([
    {
      id: VENUE_SYMBOL,
      symbol: CCXT_SYMBOL,
      base: 'BTC',
      quote: 'USDT',
      baseId: 'BTC',
      quoteId: 'USDT',
      type: 'spot',
      spot: true,
      margin: false,
      swap: false,
      future: false,
      option: false,
      contract: false,
      active: true,
      precision: { amount: 1e-8, price: 0.01 },
      limits: {},
      info: {},
    },
  ]);
  const snapshotBody = JSON.parse(frames.snapshot) as unknown;
  // The only replaced part: the HTTP request for the REST depth snapshot.
  ex.publicGetDepth = () => Promise.resolve(snapshotBody);
  // What watchOrderBook does before it subscribes: the client for its stream URL and an empty book.
  const client = ex.client(`${ex.urls.api.ws.spot}/${ex.stream('spot', `orderbook::${CCXT_SYMBOL}`)}`);
  if (!client.url.includes('/stream')) throw new Error(`ccxt client url ${client.url} is not a spot stream url`);
  ex.orderbooks[CCXT_SYMBOL] = ex.orderBook({}, SNAPSHOT_LIMIT);
  for (const f of frames.before) client.onMessage({ data: f });
  await ex.fetchOrderBookSnapshot(client, {}, { symbol: CCXT_SYMBOL, limit: SNAPSHOT_LIMIT, type: 'spot', params: {} });
  const book = (): CcxtBook => {
    const b = ex.orderbooks[CCXT_SYMBOL];
    // handleOrderBook deletes the book when Binance's U/u rules fail (its ChecksumError path).
    if (b === undefined) throw new Error('ccxt dropped the BTC/USDT book (U/u rule failed)');
    return b;
  };
  return {
    exchange: ex,
    book,
    handle: (text) => client.onMessage({ data: text }),
    top(n) {
      const b = book();
      const side = (s: Array<[number, number]>): Levels => s.slice(0, n).map((l) => [l[0], l[1]]);
      return { bids: side(b.bids), asks: side(b.asks), nonce: b.nonce ?? -1, bidLevels: b.bids.length, askLevels: b.asks.length };
    },
  };
}

export interface Agreement {
  agree: boolean;
  levelsCompared: number;
  nonce: { kestrel: number; ccxt: number };
  /** First difference found, when any. */
  difference?: string;
}

/** Top `n` levels of both sides, prices and sizes, and the last applied update id. */
export function compareBooks(k: BookSideBySide, c: BookSideBySide, n: number): Agreement {
  const a = k.top(n);
  const b = c.top(n);
  const nonce = { kestrel: a.nonce, ccxt: b.nonce };
  const diff = (): string | undefined => {
    if (a.nonce !== b.nonce) return `last update id ${a.nonce} vs ${b.nonce}`;
    for (const side of ['bids', 'asks'] as const) {
      const x = a[side];
      const y = b[side];
      if (x.length !== y.length) return `${side}: ${x.length} vs ${y.length} levels in the top ${n}`;
      for (let i = 0; i < x.length; i++) {
        if (x[i]![0] !== y[i]![0] || x[i]![1] !== y[i]![1]) return `${side}[${i}]: ${x[i]!.join('@')} vs ${y[i]!.join('@')}`;
      }
    }
    return undefined;
  };
  const d = diff();
  return d === undefined
    ? { agree: true, levelsCompared: Math.min(a.bids.length, b.bids.length) + Math.min(a.asks.length, b.asks.length), nonce }
    : { agree: false, levelsCompared: 0, nonce, difference: d };
}
