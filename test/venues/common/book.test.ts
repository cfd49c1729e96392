import { describe, expect, it } from 'vitest';
import { OrderBook } from '../../../src/venues/common/book.js';

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

describe('OrderBook', () => {
  it('matches a reference model under random sets, deletes and truncations', () => {
    const rnd = mulberry32(42);
    const book = new OrderBook();
    const ref = { bids: new Map<number, number>(), asks: new Map<number, number>() };
    for (let step = 0; step < 20_000; step++) {
      const side = rnd() < 0.5 ? 'bids' : 'asks';
      const px = Math.round((100 + rnd() * 50) * 100) / 100;
      const r = rnd();
      if (r < 0.01) {
        const depth = Math.floor(rnd() * 40);
        book[side].truncate(depth);
        const kept = [...ref[side].keys()].sort((a, b) => (side === 'bids' ? b - a : a - b)).slice(0, depth);
        for (const k of [...ref[side].keys()]) if (!kept.includes(k)) ref[side].delete(k);
      } else {
        const qty = r < 0.35 ? 0 : Math.round(rnd() * 1000) / 100;
        book[side].set(px, qty, String(px), String(qty));
        if (qty === 0) ref[side].delete(px);
        else ref[side].set(px, qty);
      }
      if (step % 500 === 0 || step === 19_999) {
        for (const s of ['bids', 'asks'] as const) {
          const expected = [...ref[s].entries()].sort((a, b) => (s === 'bids' ? b[0] - a[0] : a[0] - b[0]));
          expect(book[s].size).toBe(expected.length);
          expect(book[s].top().map((l) => [l.px, l.qty])).toEqual(expected);
          expect(book[s].best()?.px).toBe(expected[0]?.[0]);
          for (let i = 0; i < 5; i++) expect(book[s].at(i)?.px).toBe(expected[i]?.[0]);
        }
      }
    }
    const c = book.clone();
    expect(c.bids.top()).toEqual(book.bids.top());
    expect(c.asks.top()).toEqual(book.asks.top());
    c.bids.set(1, 1, '1', '1');
    expect(book.bids.get(1)).toBeUndefined();
  });

  it('detects a crossed book', () => {
    const b = new OrderBook();
    b.bids.set(100, 1, '100', '1');
    b.asks.set(101, 1, '101', '1');
    expect(b.isCrossed()).toBe(false);
    b.bids.set(101, 1, '101', '1');
    expect(b.isCrossed()).toBe(true);
  });
});
