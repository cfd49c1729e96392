import { describe, expect, it } from 'vitest';
import {
  binanceCapture,
  loadKrakenBookCapture,
  loadOkxRecording,
  parseBinanceCaptureLine,
  RecordingError,
  rfc3339ToNs,
} from '../../src/simulators/recordings.js';

describe('recording loaders', () => {
  it('streams the whole Binance capture lazily with the documented counts', async () => {
    const counts: Record<string, number> = {};
    let prev = 0n;
    let ordered = true;
    for await (const r of binanceCapture()) {
      counts[r.kind] = (counts[r.kind] ?? 0) + 1;
      if (r.recvNs < prev) ordered = false;
      prev = r.recvNs;
    }
    expect(counts).toEqual({ depth: 3451, bookTicker: 28040, trade: 9757, snapshot: 1 });
    expect(ordered).toBe(true);
  });

  it('loads the Kraken book capture: snapshot + 509 timestamped updates', async () => {
    const k = await loadKrakenBookCapture();
    expect(k.updates).toHaveLength(509);
    expect(k.snapshot.message.type).toBe('snapshot');
    expect(k.updates[0]!.exchNs).toBe(1690730998343415000n);
    expect(k.depth).toBe(10);
  });

  it('loads the OKX recording with books, trades and tickers per instrument', async () => {
    const o = await loadOkxRecording();
    expect(o.filter((r) => r.kind === 'books')).toHaveLength(290);
    expect(o.filter((r) => r.kind === 'books' && r.action === 'snapshot')).toHaveLength(3);
    expect(o.filter((r) => r.kind === 'trades').length).toBeGreaterThan(70);
  });

  it('rejects malformed capture lines with a RecordingError', () => {
    expect(() => parseBinanceCaptureLine('nospace')).toThrow(RecordingError);
    expect(() => parseBinanceCaptureLine('123 {"stream":"x@unknown","data":{}}')).toThrow(RecordingError);
    expect(() => rfc3339ToNs('2023-07-30 15:29:58')).toThrow(RecordingError);
    expect(rfc3339ToNs('2023-07-30T15:29:58.343415Z')).toBe(1690730998343415000n);
  });
});
