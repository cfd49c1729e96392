/**
 * The peer benchmark's correctness half (bench/peers/ccxt-orderbook.bench.ts): on the bundled Binance
 * capture, Kestrel's adapter and CCXT's order-book handling end with the same book, level for level,
 * and both apply Binance's U/u rules (a gap stops both). Not a timing test.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ccxtSide, compareBooks, kestrelSide, loadDepthFrames, type DepthFrames } from '../../bench/peers/binance-books.js';

let frames: DepthFrames;
beforeAll(async () => {
  frames = await loadDepthFrames();
});

describe('peer bench: Kestrel and CCXT on the same Binance depth frames', () => {
  it('end with the same book: every level, price and size, and the same last update id', async () => {
    const k = kestrelSide(frames);
    const c = await ccxtSide(frames);
    for (const f of frames.after) {
      k.handle(f);
      c.handle(f);
    }
    const r = compareBooks(k, c, Infinity);
    expect(r.difference).toBeUndefined();
    expect(r.agree).toBe(true);
    const last = JSON.parse(frames.after[frames.after.length - 1]!) as { data: { u: number } };
    expect(r.nonce).toEqual({ kestrel: last.data.u, ccxt: last.data.u });
    const top = k.top(Infinity);
    expect(r.levelsCompared).toBe(top.bidLevels + top.askLevels);
    expect(top.bidLevels).toBeGreaterThan(1000);
    expect(k.adapter.stats().gaps).toBe(0);
    expect(k.adapter.appliedUpdates('BTCUSDT')).toBeGreaterThanOrEqual(frames.after.length);
  });

  it('the comparison reports a single changed size and a missing last frame', async () => {
    const k = kestrelSide(frames);
    const c = await ccxtSide(frames);
    for (const f of frames.after.slice(0, 500)) {
      k.handle(f);
      c.handle(f);
    }
    expect(compareBooks(k, c, Infinity).agree).toBe(true);
    c.book().asks[7]![1] += 0.5;
    expect(compareBooks(k, c, Infinity).difference).toMatch(/^asks\[7\]/);
    c.book().asks[7]![1] -= 0.5;
    k.handle(frames.after[500]!);
    expect(compareBooks(k, c, Infinity).difference).toMatch(/^last update id/);
  });

  it('both sides stop on a U/u gap: Kestrel counts it and unsyncs, CCXT drops its book', async () => {
    const k = kestrelSide(frames);
    const c = await ccxtSide(frames);
    // Skip one frame: the next one's U no longer follows the previous u.
    for (const f of [frames.after[0]!, frames.after[2]!]) {
      k.handle(f);
      c.handle(f);
    }
    expect(k.adapter.stats().gaps).toBe(1);
    expect(k.adapter.isSynced('BTCUSDT')).toBe(false);
    expect(() => c.book()).toThrow(/dropped/);
  });
});
