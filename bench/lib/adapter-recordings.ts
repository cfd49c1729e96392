/**
 * The bundled venue recordings as the frames each adapter's `handleRaw` receives (what the socket
 * would deliver), plus adapter factories configured for them. Shared by bench/adapters.bench.ts and
 * test/venues/market-data/recording-stream.test.ts so the benchmark and the behaviour pin see the same input.
 *
 * - Binance: the whole 346 s capture (combined-stream frames + its REST snapshot line).
 * - Kraken: the CRC32-verified BTC/USD book (snapshot + updates).
 * - OKX: the 2022 recording (books with checksums and a synthesized seqId chain, trades), 3 instruments.
 */
import type { Clock } from '../../src/clock/clock.js';
import { BinanceAdapter } from '../../src/venues/binance/market-data.js';
import { KrakenAdapter } from '../../src/venues/kraken/market-data.js';
import { OkxAdapter } from '../../src/venues/okx/market-data.js';
import type { BaseAdapter } from '../../src/venues/common/base-adapter.js';
import type { MarketDataSink } from '../../src/venues/common/adapter-types.js';
import { binanceCapture, loadKrakenBookCapture, loadOkxRecording } from '../../src/simulators/recordings.js';

export type RecordedFrame = { text: string } | { snapshot: string };

export interface RecordingWorkload {
  venue: 'binance' | 'kraken' | 'okx';
  frames: RecordedFrame[];
  make(sink: MarketDataSink, clock: Clock): BaseAdapter;
}

const noUrl = 'ws://127.0.0.1:9/unused';
// Huge thresholds: recorded timestamps are years old; staleness flags are not what is measured.
const quiet = { staleAfterMs: 1e15, maxSkewMs: 1e15 };

/** The adapter classes to build (another tree's, e.g. main's, for an interleaved before/after run). */
export interface AdapterClasses {
  BinanceAdapter: typeof BinanceAdapter;
  KrakenAdapter: typeof KrakenAdapter;
  OkxAdapter: typeof OkxAdapter;
}

export async function recordingWorkloads(
  classes: AdapterClasses = { BinanceAdapter, KrakenAdapter, OkxAdapter },
): Promise<RecordingWorkload[]> {
  const bin: RecordedFrame[] = [];
  for await (const r of binanceCapture()) {
    if (r.kind === 'snapshot') bin.push({ snapshot: JSON.stringify(r.data) });
    else bin.push({ text: JSON.stringify({ stream: r.stream, data: r.data }) });
  }
  const k = await loadKrakenBookCapture();
  const kr: RecordedFrame[] = [
    { text: JSON.stringify(k.snapshot.message) },
    ...k.updates.map((u) => ({ text: JSON.stringify(u.message) })),
  ];
  const seq = new Map<string, number>();
  const ok: RecordedFrame[] = [];
  for (const r of await loadOkxRecording()) {
    if (r.kind === 'tickers') continue;
    if (r.kind === 'trades') {
      ok.push({ text: JSON.stringify({ arg: r.arg, data: [r.data] }) });
      continue;
    }
    const prev = seq.get(r.instId) ?? 1000;
    const next = r.action === 'snapshot' ? prev : prev + 1;
    seq.set(r.instId, next);
    ok.push({
      text: JSON.stringify({
        arg: r.arg,
        action: r.action,
        data: [{ ...r.data, prevSeqId: r.action === 'snapshot' ? -1 : prev, seqId: next }],
      }),
    });
  }
  return [
    {
      venue: 'binance',
      frames: bin,
      make: (sink, clock) =>
        new classes.BinanceAdapter({
          clock,
          url: noUrl,
          restUrl: 'http://127.0.0.1:9',
          symbols: [{ venueSymbol: 'BTCUSDT', symbol: 'BTC-USDT', symbolId: 1 }],
          sink,
          ...quiet,
        }),
    },
    {
      venue: 'kraken',
      frames: kr,
      make: (sink, clock) =>
        new classes.KrakenAdapter({
          clock,
          url: noUrl,
          symbols: [{ venueSymbol: 'BTC/USD', symbol: 'BTC-USD', symbolId: 3, pricePrecision: 1, qtyPrecision: 8 }],
          sink,
          ...quiet,
        }),
    },
    {
      venue: 'okx',
      frames: ok,
      make: (sink, clock) =>
        new classes.OkxAdapter({
          clock,
          url: noUrl,
          symbols: ['BTC-USDT', 'BTC-USD-220527', 'UNI-USD-SWAP'].map((i, n) => ({ venueSymbol: i, symbol: i, symbolId: 10 + n })),
          sink,
          checksum: 'required',
          ...quiet,
        }),
    },
  ];
}

/** Feeds one frame (the Binance snapshot line goes through `ingestSnapshot`, as a replay does). */
export function feed(a: BaseAdapter, f: RecordedFrame): void {
  if ('snapshot' in f) (a as BinanceAdapter).ingestSnapshot('BTCUSDT', f.snapshot);
  else a.handleRaw(f.text);
}
