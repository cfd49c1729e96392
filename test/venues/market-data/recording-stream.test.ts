/**
 * Behaviour pin for the adapters' hot path: each venue's bundled recording, fed frame by frame,
 * yields exactly the tick stream (every field of every tick, in order, read at delivery time), the
 * integrity events and the counters that main's adapters produced before the parse-floor rework
 * (issue 15 item 2). The pinned hashes were computed on main at 59d18c8; a change that alters any
 * emitted tick, event or counter on these recordings fails here.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src/clock/clock.js';
import type { MarketDataEvent } from '../../../src/contracts/gen/kestrel/v1/market_pb.js';
import type { NormalizedTick } from '../../../src/contracts/market.js';
import { feed, recordingWorkloads } from '../../../bench/lib/adapter-recordings.js';

const PINNED: Record<string, { sha256: string; ticks: number }> = {
  binance: { sha256: '08e1cab190954f866b347d28d2bb81cf1c029ea048451dd5b8e159773060303e', ticks: 37797 },
  kraken: { sha256: 'e1cbd20602809c1957047d708fb4d0959d367789ae3af5a48a274b721cc428c9', ticks: 209 },
  okx: { sha256: '04ac46a3a520058e05ada5ca06bee99fc20436f84309e5a11d4ae9f55c7d5629', ticks: 278 },
};

function tickLine(t: NormalizedTick): string {
  return `T ${t.exchTsNs} ${t.recvTsNs} ${t.venueId} ${t.symbolId} ${t.venue} ${t.symbol} ${t.bid} ${t.ask} ${t.bidSize} ${t.askSize} ${t.sequence} ${t.flags} ${t.lastPx} ${t.lastQty} ${t.aggressor}\n`;
}

function eventLine(e: MarketDataEvent): string {
  return `E ${e.venue} ${e.symbol} ${e.kind} ${e.detail} ${e.expectedSequence} ${e.receivedSequence} ${e.tsNs}\n`;
}

describe('adapter output on the bundled recordings is pinned', async () => {
  const workloads = await recordingWorkloads();
  for (const w of workloads) {
    it(`${w.venue}: the emitted tick stream, events and counters hash to the value main produced`, () => {
      const h = createHash('sha256');
      let ticks = 0;
      const clock = new VirtualClock(1_700_000_000_000_000_000n);
      const a = w.make(
        {
          onTick: (t) => {
            ticks++;
            h.update(tickLine(t));
          },
          onEvent: (e) => void h.update(eventLine(e)),
        },
        clock,
      );
      let ns = clock.nowNs();
      for (const f of w.frames) {
        ns += 1000n;
        clock.set(ns);
        feed(a, f);
      }
      const s = a.stats();
      h.update(
        `S ${s.messages} ${s.ticks} ${s.trades} ${s.parseErrors} ${s.gaps} ${s.checksumFailures} ${s.crossed} ${s.replays} ${s.stale} ${s.skewed} ${s.resyncs} ${s.suppressed}\n`,
      );
      const got = { sha256: h.digest('hex'), ticks };
      if (process.env.KESTREL_PRINT_STREAM_HASH) console.log(w.venue, JSON.stringify(got));
      expect(ticks).toBeGreaterThan(100);
      expect(got).toEqual(PINNED[w.venue]);
    });
  }

  // Each venue's one-pass reader (Binance depth/bookTicker, Kraken book, OKX books) declines a frame
  // padded by a space, so this is the recording through the general JSON.parse path alone.
  for (const w of workloads) {
    it(`${w.venue}: with every frame padded by a space (so the one-pass reader declines it and JSON.parse handles it) the output is the same`, () => {
      const h = createHash('sha256');
      let ticks = 0;
      const clock = new VirtualClock(1_700_000_000_000_000_000n);
      const a = w.make(
        {
          onTick: (t) => {
            ticks++;
            h.update(tickLine(t));
          },
          onEvent: (e) => void h.update(eventLine(e)),
        },
        clock,
      );
      let ns = clock.nowNs();
      for (const f of w.frames) {
        ns += 1000n;
        clock.set(ns);
        feed(a, 'text' in f ? { text: `${f.text} ` } : f);
      }
      const s = a.stats();
      h.update(
        `S ${s.messages} ${s.ticks} ${s.trades} ${s.parseErrors} ${s.gaps} ${s.checksumFailures} ${s.crossed} ${s.replays} ${s.stale} ${s.skewed} ${s.resyncs} ${s.suppressed}\n`,
      );
      expect({ sha256: h.digest('hex'), ticks }).toEqual(PINNED[w.venue]);
    });
  }
});
