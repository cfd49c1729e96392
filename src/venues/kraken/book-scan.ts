/**
 * Single-pass reader for Kraken WS v2 `book` frames in the exact shape Kraken sends:
 *
 *   {"channel":"book","type":"update"|"snapshot","data":[{"symbol":"<SYM>",
 *    "bids":[{"price":<num>,"qty":<num>},...],"asks":[...],"checksum":<int>[,"timestamp":"<ts>"]}]}
 *
 * (no whitespace, one data entry). Prices and quantities are JSON numbers: each becomes a double
 * bit-exact with JSON.parse (at most 15 digits: one correctly rounded division) and its digits stay
 * a text range, from which the adapter builds the checksum string without `toFixed` (krakenFieldAt).
 * Anything else (whitespace, escapes, other key order, exponents, signs, leading zeros, more digits,
 * a zero price, a checksum beyond 32 bits, several entries...) answers false and the adapter takes
 * the general JSON.parse path, which validates and reports it as before.
 */

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

export interface KrakenBookScan {
  snapshot: boolean;
  symStart: number;
  symEnd: number;
  nb: number;
  na: number;
  /** px, qty pairs, bids then asks (grown on demand). */
  nums: Float64Array;
  /** Per number (px, qty, px, qty, ...): start, '.' position (-1: none), end. */
  pos: Int32Array;
  checksum: number;
  /** The timestamp is text[tsStart, tsEnd); tsStart -1: the entry had no timestamp. */
  tsStart: number;
  tsEnd: number;
}

export function newKrakenBookScan(): KrakenBookScan {
  return {
    snapshot: false,
    symStart: 0,
    symEnd: 0,
    nb: 0,
    na: 0,
    nums: new Float64Array(64),
    pos: new Int32Array(96),
    checksum: 0,
    tsStart: -1,
    tsEnd: -1,
  };
}

const HEAD = '{"channel":"book","type":"';

/** Position after a plain string body starting at `p` (no escape, no control char), at its closing quote; -1 otherwise. */
function stringEnd(t: string, p: number): number {
  const n = t.length;
  while (p < n) {
    const c = t.charCodeAt(p);
    if (c === 34) return p;
    if (c === 92 || c < 32) return -1;
    p++;
  }
  return -1;
}

/**
 * Reads a JSON number at `p` of the shape `0|[1-9][0-9]*` with optional `.[0-9]+`, at most 15 digits
 * in all; stores value and positions at number index `k` of `out`; returns the position after it or -1.
 */
function readNum(t: string, p: number, out: KrakenBookScan, k: number): number {
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
  if (intDigits === 0 || (intDigits > 1 && t.charCodeAt(start) === 48)) return -1;
  let dot = -1;
  let fracDigits = 0;
  if (t.charCodeAt(p) === 46) {
    dot = p;
    p++;
    const fs = p;
    while (p < n) {
      const c = t.charCodeAt(p) - 48;
      if (c < 0 || c > 9) break;
      m = m * 10 + c;
      p++;
    }
    fracDigits = p - fs;
    if (fracDigits === 0) return -1;
  }
  if (intDigits + fracDigits > 15) return -1;
  const c = t.charCodeAt(p);
  if (c === 101 || c === 69) return -1; // exponent: JSON.parse's business
  out.nums[k] = m / POW10[fracDigits]!;
  const pos = out.pos;
  pos[3 * k] = start;
  pos[3 * k + 1] = dot;
  pos[3 * k + 2] = p;
  return p;
}

let levelCount = 0;

/** Reads `[{"price":<num>,"qty":<num>},...]` at `p` from pair index `j`; position after `]` or -1; count in levelCount. */
function readLevels(t: string, p: number, out: KrakenBookScan, j: number): number {
  if (t.charCodeAt(p) !== 91 /* [ */) return -1;
  p++;
  let count = 0;
  if (t.charCodeAt(p) === 93) {
    levelCount = 0;
    return p + 1;
  }
  for (;;) {
    const k = 2 * (j + count);
    if (k + 2 > out.nums.length) {
      const nums = new Float64Array(out.nums.length * 2);
      nums.set(out.nums);
      out.nums = nums;
      const pos = new Int32Array(out.pos.length * 2);
      pos.set(out.pos);
      out.pos = pos;
    }
    if (!t.startsWith('{"price":', p)) return -1;
    p = readNum(t, p + 9, out, k);
    if (p < 0 || out.nums[k] === 0) return -1; // a zero price is an error: the general path reports it
    if (!t.startsWith(',"qty":', p)) return -1;
    p = readNum(t, p + 7, out, k + 1);
    if (p < 0 || t.charCodeAt(p) !== 125 /* } */) return -1;
    count++;
    p++;
    const c = t.charCodeAt(p);
    if (c === 93) break;
    if (c !== 44) return -1;
    p++;
  }
  levelCount = count;
  return p + 1;
}

/** True when `t` is a book frame in Kraken's exact shape; fields in `out`. */
export function scanKrakenBook(t: string, out: KrakenBookScan): boolean {
  if (!t.startsWith(HEAD)) return false;
  let p = HEAD.length;
  if (t.startsWith('update"', p)) {
    out.snapshot = false;
    p += 7;
  } else if (t.startsWith('snapshot"', p)) {
    out.snapshot = true;
    p += 9;
  } else return false;
  if (!t.startsWith(',"data":[{"symbol":"', p)) return false;
  p += 20;
  out.symStart = p;
  p = stringEnd(t, p);
  if (p < 0) return false;
  out.symEnd = p;
  if (!t.startsWith('","bids":', p)) return false;
  p = readLevels(t, p + 9, out, 0);
  if (p < 0) return false;
  out.nb = levelCount;
  if (!t.startsWith(',"asks":', p)) return false;
  p = readLevels(t, p + 8, out, out.nb);
  if (p < 0) return false;
  out.na = levelCount;
  if (!t.startsWith(',"checksum":', p)) return false;
  p += 12;
  const cs = p;
  let v = 0;
  while (p < t.length) {
    const c = t.charCodeAt(p) - 48;
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
    p++;
  }
  const digits = p - cs;
  if (digits === 0 || digits > 10 || (digits > 1 && t.charCodeAt(cs) === 48) || v > 0xffffffff) return false;
  out.checksum = v;
  out.tsStart = -1;
  out.tsEnd = -1;
  if (t.startsWith(',"timestamp":"', p)) {
    out.tsStart = p + 14;
    p = stringEnd(t, p + 14);
    if (p < 0) return false;
    out.tsEnd = p;
    p++;
  }
  return p + 3 === t.length && t.startsWith('}]}', p);
}

/** '0' repeated k times, k = 0..15. */
const ZEROS = Array.from({ length: 16 }, (_, k) => '0'.repeat(k));

/**
 * `krakenField(value, precision)` (checksum.ts) built from the number's digits at index `k` of a
 * scan, or undefined when that cannot be proven equal: with f ≤ precision fraction digits and
 * integer digits + precision ≤ 15, the double is within far less than half a unit of the last
 * place of the decimal text, so `toFixed(precision)` is the text padded with zeros; the field is
 * that without the point and without leading zeros. A zero value gives undefined (never a field).
 */
export function krakenFieldAt(t: string, scan: KrakenBookScan, k: number, precision: number): string | undefined {
  const pos = scan.pos;
  const start = pos[3 * k]!;
  const dot = pos[3 * k + 1]!;
  const end = pos[3 * k + 2]!;
  const intEnd = dot < 0 ? end : dot;
  const frac = dot < 0 ? 0 : end - dot - 1;
  if (frac > precision || intEnd - start + precision > 15) return undefined;
  let f = start;
  while (f < end && (t.charCodeAt(f) === 48 || t.charCodeAt(f) === 46)) f++;
  if (f === end) return undefined;
  const pad = ZEROS[precision - frac]!;
  if (f > dot) return pad.length === 0 ? t.slice(f, end) : t.slice(f, end) + pad; // dot < 0 → f > dot too
  return t.slice(f, dot) + t.slice(dot + 1, end) + pad;
}
