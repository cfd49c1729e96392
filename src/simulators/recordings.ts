/**
 * Loaders that turn the real venue captures in ../shared/data into typed, timestamped message
 * sequences. Used by the venue simulators (replay) and by the paper matching engine (its book).
 *
 * - `binanceCapture()`  streams the 346 s Binance spot BTCUSDT capture lazily (async iterator over
 *   the gzip file); nothing is held in memory beyond one line.
 * - `loadKrakenBookCapture()` loads the Kraken WS v2 BTC/USD depth-10 book capture.
 * - `loadOkxRecording()` loads the OKX v5 public recording (tickers, trades, books).
 *
 * Every record carries `recvNs` (the capturing machine's receive time where the capture has one, else
 * the venue's timestamp) and `exchNs` (the venue's own timestamp, 0n where the message has none).
 */
import { createReadStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { parseRfc3339Ns } from '../venues/common/time.js';
import { projectRoot } from '../config/load.js';
import { KestrelError } from '../contracts/errors.js';

export class RecordingError extends KestrelError {
  override readonly name = 'RecordingError';
  constructor(message: string, options?: ErrorOptions) {
    super('RECORDING_NOT_FOUND', message, options);
  }
}

/**
 * The data folder of ../shared next to the repository root (never copied into the repo);
 * KESTREL_SHARED_DIR names another shared/ folder (the one variable TypeScript, Julia, the scripts and
 * the Dockerfile read). Resolved from the project root so that src/ (tests) and dist/ (CLI) agree.
 */
export function sharedDataDir(): string {
  const dir = path.join(process.env.KESTREL_SHARED_DIR ?? path.resolve(projectRoot, '..', 'shared'), 'data');
  if (!existsSync(dir)) {
    throw new RecordingError(
      `shared data folder not found at ${dir}: place the shared/ folder beside the repository or set KESTREL_SHARED_DIR to it`,
    );
  }
  return dir;
}

/** A file of the shared data folder, with a typed error naming it when it is missing. */
export function sharedDataFile(...parts: string[]): string {
  return dataFile(...parts);
}

function dataFile(...parts: string[]): string {
  const f = path.join(sharedDataDir(), ...parts);
  if (!existsSync(f)) throw new RecordingError(`recording missing: ${f}`);
  return f;
}

// ---------------------------------------------------------------------------------------------- Binance

/** [price, qty] as strings, exactly as Binance sends them. */
export type BinanceLevel = [string, string];

export interface BinanceDepthUpdate {
  e: 'depthUpdate';
  E: number;
  s: string;
  U: number;
  u: number;
  b: BinanceLevel[];
  a: BinanceLevel[];
}

export interface BinanceBookTicker {
  u: number;
  s: string;
  b: string;
  B: string;
  a: string;
  A: string;
}

export interface BinanceTrade {
  e: 'trade';
  E: number;
  s: string;
  t: number;
  p: string;
  q: string;
  T: number;
  m: boolean;
  M?: boolean;
}

export interface BinanceDepthSnapshot {
  lastUpdateId: number;
  bids: BinanceLevel[];
  asks: BinanceLevel[];
}

export type BinanceRecord =
  | { kind: 'depth'; recvNs: bigint; exchNs: bigint; stream: string; data: BinanceDepthUpdate }
  | { kind: 'bookTicker'; recvNs: bigint; exchNs: bigint; stream: string; data: BinanceBookTicker }
  | { kind: 'trade'; recvNs: bigint; exchNs: bigint; stream: string; data: BinanceTrade }
  | { kind: 'snapshot'; recvNs: bigint; exchNs: bigint; data: BinanceDepthSnapshot };

export const BINANCE_CAPTURE = ['binance', 'hftbacktest_spot_btcusdt_20240808.gz'] as const;

/** Parses one `<recv_ns> <json>` capture line; throws RecordingError on anything unexpected. */
export function parseBinanceCaptureLine(line: string): BinanceRecord {
  const sp = line.indexOf(' ');
  if (sp <= 0) throw new RecordingError(`binance capture: no timestamp separator in line`);
  const recvNs = BigInt(line.slice(0, sp));
  const j = JSON.parse(line.slice(sp + 1)) as Record<string, unknown>;
  if (typeof j.lastUpdateId === 'number') {
    return { kind: 'snapshot', recvNs, exchNs: 0n, data: j as unknown as BinanceDepthSnapshot };
  }
  const stream = j.stream;
  const data = j.data as Record<string, unknown> | undefined;
  if (typeof stream !== 'string' || data === undefined) throw new RecordingError('binance capture: unknown line shape');
  if (stream.endsWith('@bookTicker')) {
    // Spot bookTicker carries no event time; the capture's receive time is the only clock.
    return { kind: 'bookTicker', recvNs, exchNs: 0n, stream, data: data as unknown as BinanceBookTicker };
  }
  if (data.e === 'depthUpdate') {
    return { kind: 'depth', recvNs, exchNs: BigInt(data.E as number) * 1_000_000n, stream, data: data as unknown as BinanceDepthUpdate };
  }
  if (data.e === 'trade') {
    return { kind: 'trade', recvNs, exchNs: BigInt(data.T as number) * 1_000_000n, stream, data: data as unknown as BinanceTrade };
  }
  throw new RecordingError(`binance capture: unknown stream ${stream}`);
}

/** Lazily streams the Binance capture in file order. */
export async function* binanceCapture(file: string = dataFile(...BINANCE_CAPTURE)): AsyncGenerator<BinanceRecord> {
  const rl = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
  try {
    for await (const line of rl) {
      if (line.length === 0) continue;
      yield parseBinanceCaptureLine(line);
    }
  } finally {
    rl.close();
  }
}

// ----------------------------------------------------------------------------------------------- Kraken

export interface KrakenLevel {
  price: number;
  qty: number;
}

export interface KrakenBookData {
  symbol: string;
  bids: KrakenLevel[];
  asks: KrakenLevel[];
  checksum: number;
  /** RFC 3339; present on updates, absent on the snapshot. */
  timestamp?: string;
}

export interface KrakenBookMessage {
  channel: 'book';
  type: 'snapshot' | 'update';
  data: KrakenBookData[];
}

export interface KrakenRecord {
  /** The capture has no local receive time: the venue timestamp (snapshot: first update's). */
  recvNs: bigint;
  exchNs: bigint;
  message: KrakenBookMessage;
}

export interface KrakenBookCapture {
  symbol: string;
  depth: number;
  pricePrecision: number;
  qtyPrecision: number;
  snapshot: KrakenRecord;
  updates: KrakenRecord[];
}

/** RFC 3339 with up to 9 fractional digits → epoch ns (Date.parse keeps only ms). */
export function rfc3339ToNs(ts: string): bigint {
  const ns = parseRfc3339Ns(ts);
  if (ns === undefined) throw new RecordingError(`bad RFC 3339 timestamp: ${ts}`);
  return ns;
}

export async function loadKrakenBookCapture(
  file: string = dataFile('kraken', 'python-kraken-sdk_orderbook-v2_btcusd_20230730.json'),
): Promise<KrakenBookCapture> {
  const j = JSON.parse(await readFile(file, 'utf8')) as { init: KrakenBookMessage; updates: KrakenBookMessage[] };
  if (j.init?.type !== 'snapshot' || !Array.isArray(j.updates)) throw new RecordingError('kraken capture: unexpected shape');
  const updates = j.updates.map((message): KrakenRecord => {
    const ts = message.data[0]?.timestamp;
    if (ts === undefined) throw new RecordingError('kraken capture: update without timestamp');
    const ns = rfc3339ToNs(ts);
    return { recvNs: ns, exchNs: ns, message };
  });
  const first = updates[0]?.exchNs ?? 0n;
  const sym = j.init.data[0]?.symbol ?? 'BTC/USD';
  // Verified precisions of this capture (SOURCES.md): price 1, qty 8, depth 10.
  return {
    symbol: sym,
    depth: 10,
    pricePrecision: 1,
    qtyPrecision: 8,
    snapshot: { recvNs: first, exchNs: first, message: j.init },
    updates,
  };
}

// -------------------------------------------------------------------------------------------------- OKX

/** [price, size, deprecated, orderCount] strings as OKX sends them. */
export type OkxLevel = [string, string, string, string];

export interface OkxArg {
  channel: string;
  instId: string;
}

export interface OkxBookData {
  asks: OkxLevel[];
  bids: OkxLevel[];
  ts: string;
  checksum?: number;
  seqId?: number;
  prevSeqId?: number;
}

export interface OkxTradeData {
  instId: string;
  tradeId: string;
  px: string;
  sz: string;
  side: 'buy' | 'sell';
  ts: string;
}

export interface OkxTickerData {
  instId: string;
  bidPx: string;
  bidSz: string;
  askPx: string;
  askSz: string;
  last: string;
  lastSz: string;
  ts: string;
  [k: string]: string;
}

export type OkxRecord =
  | { kind: 'books'; recvNs: bigint; exchNs: bigint; instId: string; action: 'snapshot' | 'update'; arg: OkxArg; data: OkxBookData }
  | { kind: 'trades'; recvNs: bigint; exchNs: bigint; instId: string; arg: OkxArg; data: OkxTradeData }
  | { kind: 'tickers'; recvNs: bigint; exchNs: bigint; instId: string; arg: OkxArg; data: OkxTickerData };

/** Data messages received in the OKX recording, in order (subscribe acks and sent ops are skipped). */
export async function loadOkxRecording(file: string = dataFile('okx', 'cryptofeed_okx_ws_20220513.jsonl')): Promise<OkxRecord[]> {
  const out: OkxRecord[] = [];
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    if (line.trim().length === 0) continue;
    const r = JSON.parse(line) as { local_ts: number; dir: string; msg: { arg?: OkxArg; action?: string; data?: unknown[] } };
    if (r.dir !== 'recv' || r.msg.arg === undefined || !Array.isArray(r.msg.data)) continue;
    const recvNs = BigInt(Math.round(r.local_ts * 1e6)) * 1000n;
    const arg = r.msg.arg;
    for (const d of r.msg.data as Array<{ ts: string }>) {
      const exchNs = BigInt(d.ts) * 1_000_000n;
      if (arg.channel === 'books') {
        const action = r.msg.action === 'snapshot' ? 'snapshot' : 'update';
        out.push({ kind: 'books', recvNs, exchNs, instId: arg.instId, action, arg, data: d as unknown as OkxBookData });
      } else if (arg.channel === 'trades') {
        out.push({ kind: 'trades', recvNs, exchNs, instId: arg.instId, arg, data: d as unknown as OkxTradeData });
      } else if (arg.channel === 'tickers') {
        out.push({ kind: 'tickers', recvNs, exchNs, instId: arg.instId, arg, data: d as unknown as OkxTickerData });
      }
    }
  }
  return out;
}
