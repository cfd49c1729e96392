/** The adapters' one-pass decimal parser: same shape rule as the old RegExp and bit-exact with Number(). */
import { describe, expect, it } from 'vitest';
import { parseDecimal } from '../../../src/venues/common/base-adapter.js';

const SHAPE = /^\d{1,20}(?:\.\d{1,20})?$/;

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

describe('parseDecimal', () => {
  it('returns exactly Number(s) for well-formed venue decimals of every length, NaN for the rest', () => {
    const rnd = mulberry32(7);
    const digits = (n: number) => Array.from({ length: n }, () => String(Math.floor(rnd() * 10))).join('');
    for (let k = 0; k < 200_000; k++) {
      const ints = 1 + Math.floor(rnd() * 22);
      const fr = Math.floor(rnd() * 23);
      const s = fr === 0 ? digits(ints) : `${digits(ints)}.${digits(fr)}`;
      const want = SHAPE.test(s) ? Number(s) : NaN;
      const got = parseDecimal(s);
      if (!Object.is(got, want)) expect({ s, got }).toEqual({ s, got: want });
    }
  });

  it('rejects what Number() would accept but a venue decimal must not be', () => {
    for (const s of ['', '.', '1.', '.5', '1e3', '0x10', ' 5', '5 ', '-1', '+1', 'Infinity', 'NaN', '1.2.3', '1,5', '١'])
      expect(parseDecimal(s), s).toBeNaN();
    expect(parseDecimal('0.00000001')).toBe(1e-8);
    expect(parseDecimal('60123.40')).toBe(60123.4);
    expect(parseDecimal('000012')).toBe(12);
  });
});
