/**
 * The one-pass frame readers' decimal field: `"<decimal>"` in the adapters' decimal shape (the
 * shape `parseDecimal` accepts), read in place without slicing the text. Shared by the Binance
 * depth reader and the OKX books reader.
 */

/** 10^k for k = 0..22: exact doubles. */
const POW10 = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/** The value read by the last successful readDec (a live binding: a second return value without allocation). */
export let decVal = 0;

/**
 * Reads `"<decimal>"` at `p` (the opening quote) in the adapters' decimal shape (1-20 integer digits,
 * optional '.' and 1-20 fraction digits); value in `decVal` (bit-exact with Number), -1 otherwise.
 */
export function readDec(t: string, p: number): number {
  if (t.charCodeAt(p) !== 34) return -1;
  p++;
  const start = p;
  const n = t.length;
  let m = 0;
  while (p < n) {
    const c = t.charCodeAt(p) - 48;
    if (c < 0 || c > 9) break;
    m = m * 10 + c;
    p++;
  }
  const intDigits = p - start;
  if (intDigits === 0 || intDigits > 20) return -1;
  let fracDigits = 0;
  if (t.charCodeAt(p) === 46) {
    p++;
    const fs = p;
    while (p < n) {
      const c = t.charCodeAt(p) - 48;
      if (c < 0 || c > 9) break;
      m = m * 10 + c;
      p++;
    }
    fracDigits = p - fs;
    if (fracDigits === 0 || fracDigits > 20) return -1;
  }
  if (t.charCodeAt(p) !== 34) return -1;
  decVal = intDigits + fracDigits <= 15 ? m / POW10[fracDigits]! : Number(t.slice(start, p));
  return p + 1;
}
