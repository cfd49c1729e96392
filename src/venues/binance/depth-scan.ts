/**
 * Single-pass readers for Binance combined-stream diff-depth (and bookTicker, see scanBookTicker)
 * frames in the exact shape Binance sends:
 *
 *   {"stream":"<name>","data":{"e":"depthUpdate","E":<int>,"s":"<SYM>","U":<int>,"u":<int>,
 *    "b":[["<px>","<qty>"],...],"a":[["<px>","<qty>"],...]}}      (no whitespace)
 *
 * It walks the text once, turning each price and quantity straight into a double (no parsed JSON
 * object, no level arrays, no second scan of the digit strings) and keeps each level's strings as
 * slices. It accepts a frame only when `JSON.parse` + the adapter's checks would accept it with the
 * same values: any other byte (whitespace, escapes, another key order, exponents, leading zeros,
 * ids beyond 15 digits, a zero price, a stream ending in @bookTicker, u < U...) makes it answer
 * false, and the adapter then takes the general JSON.parse path, which reports errors as before.
 */
import { decVal, readDec } from '../common/decimal-scan.js';

export interface DepthScan {
  E: number;
  U: number;
  u: number;
  /** The symbol is text[symStart, symEnd). */
  symStart: number;
  symEnd: number;
  nb: number;
  na: number;
  /** px, qty pairs, bids then asks (grown on demand). */
  nums: Float64Array;
  /**
   * Where each level's strings are in the text: pxStart, pxEnd, qtyStart, qtyEnd per level, same
   * order. Not sliced here: a delete needs neither string and an update usually repeats the price
   * string the book already holds (BookSide.setFromText).
   */
  pos: Int32Array;
}

export function newDepthScan(): DepthScan {
  return { E: 0, U: 0, u: 0, symStart: 0, symEnd: 0, nb: 0, na: 0, nums: new Float64Array(256), pos: new Int32Array(256) };
}

const PREFIX = '{"stream":"';
const DATA = '","data":{"e":"depthUpdate","E":';
const BOOK_TICKER = '@bookTicker';

/** Position after a JSON non-negative integer of 1..15 digits without leading zero at `p`, or -1; value in `intVal`. */
let intVal = 0;
function readInt(t: string, p: number): number {
  const start = p;
  let v = 0;
  const n = t.length;
  while (p < n) {
    const c = t.charCodeAt(p) - 48;
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
    p++;
  }
  const len = p - start;
  if (len === 0 || len > 15 || (len > 1 && t.charCodeAt(start) === 48)) return -1;
  intVal = v;
  return p;
}

/** Reads `[["px","qty"],...]` at `p` into out from pair index `k`; returns the position after `]` or -1; count in `levelCount`. */
let levelCount = 0;
function readLevels(t: string, p: number, out: DepthScan, k: number): number {
  if (t.charCodeAt(p) !== 91 /* [ */) return -1;
  p++;
  let count = 0;
  if (t.charCodeAt(p) === 93 /* ] */) {
    levelCount = 0;
    return p + 1;
  }
  for (;;) {
    if (t.charCodeAt(p) !== 91) return -1;
    const ps = p + 1;
    p = readDec(t, ps);
    if (p < 0 || decVal === 0) return -1; // a zero price is an error: the general path reports it
    const px = decVal;
    if (t.charCodeAt(p) !== 44 /* , */) return -1;
    const qs = p + 1;
    p = readDec(t, qs);
    if (p < 0 || t.charCodeAt(p) !== 93) return -1;
    const i = 2 * (k + count);
    if (2 * i + 3 >= out.pos.length) {
      const grown = new Float64Array(out.nums.length * 2);
      grown.set(out.nums);
      out.nums = grown;
      const grownPos = new Int32Array(out.pos.length * 2);
      grownPos.set(out.pos);
      out.pos = grownPos;
    }
    out.nums[i] = px;
    out.nums[i + 1] = decVal;
    const pos = out.pos;
    pos[2 * i] = ps + 1;
    pos[2 * i + 1] = qs - 2;
    pos[2 * i + 2] = qs + 1;
    pos[2 * i + 3] = p - 1;
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

/**
 * Position of the closing quote of the stream name of a combined-stream frame, or -1. The name must
 * be plain characters (an escape or control character sends the frame the general way).
 */
export function streamNameEnd(t: string): number {
  if (!t.startsWith(PREFIX)) return -1;
  let p = PREFIX.length;
  const n = t.length;
  while (p < n) {
    const c = t.charCodeAt(p);
    if (c === 34 || c === 92 || c < 32) break;
    p++;
  }
  return t.charCodeAt(p) === 34 ? p : -1;
}

/** The stream name (ending at `end`, see streamNameEnd) is a bookTicker stream. */
export function isBookTickerStream(t: string, end: number): boolean {
  return t.startsWith(BOOK_TICKER, end - BOOK_TICKER.length);
}

export interface BookTickerScan {
  u: number;
  symStart: number;
  symEnd: number;
  bid: number;
  bidSz: number;
  ask: number;
  askSz: number;
}

/**
 * A bookTicker frame in Binance's exact shape, from the stream name's closing quote `p`:
 * `","data":{"u":<int>,"s":"<SYM>","b":"<dec>","B":"<dec>","a":"<dec>","A":"<dec>"}}`. False for
 * anything else (the general path then validates and reports it).
 */
export function scanBookTicker(t: string, p: number, out: BookTickerScan): boolean {
  if (!t.startsWith('","data":{"u":', p)) return false;
  p = readInt(t, p + 14);
  if (p < 0) return false;
  out.u = intVal;
  if (!t.startsWith(',"s":"', p)) return false;
  p += 6;
  out.symStart = p;
  const n = t.length;
  while (p < n) {
    const c = t.charCodeAt(p);
    if (c === 34 || c === 92 || c < 32) break;
    p++;
  }
  if (t.charCodeAt(p) !== 34) return false;
  out.symEnd = p;
  if (!t.startsWith(',"b":', p + 1)) return false;
  p = readDec(t, p + 6);
  if (p < 0) return false;
  out.bid = decVal;
  if (!t.startsWith(',"B":', p)) return false;
  p = readDec(t, p + 5);
  if (p < 0) return false;
  out.bidSz = decVal;
  if (!t.startsWith(',"a":', p)) return false;
  p = readDec(t, p + 5);
  if (p < 0) return false;
  out.ask = decVal;
  if (!t.startsWith(',"A":', p)) return false;
  p = readDec(t, p + 5);
  if (p < 0) return false;
  out.askSz = decVal;
  return p + 2 === n && t.charCodeAt(p) === 125 && t.charCodeAt(p + 1) === 125;
}

/** True when `text` is a well-formed diff-depth frame in Binance's exact shape; fields in `out`. */
export function scanDepthFrame(t: string, out: DepthScan): boolean {
  const p = streamNameEnd(t);
  if (p < 0 || isBookTickerStream(t, p)) return false;
  return scanDepthAfterName(t, p, out);
}

/** scanDepthFrame from the stream name's closing quote `p` (a stream not ending in @bookTicker). */
export function scanDepthAfterName(t: string, p: number, out: DepthScan): boolean {
  const n = t.length;
  if (!t.startsWith(DATA, p)) return false;
  p = readInt(t, p + DATA.length);
  if (p < 0) return false;
  out.E = intVal;
  if (!t.startsWith(',"s":"', p)) return false;
  p += 6;
  out.symStart = p;
  while (p < n) {
    const c = t.charCodeAt(p);
    if (c === 34 || c === 92 || c < 32) break;
    p++;
  }
  if (t.charCodeAt(p) !== 34) return false;
  out.symEnd = p;
  if (!t.startsWith(',"U":', p + 1)) return false;
  p = readInt(t, p + 6);
  if (p < 0) return false;
  out.U = intVal;
  if (!t.startsWith(',"u":', p)) return false;
  p = readInt(t, p + 5);
  if (p < 0) return false;
  out.u = intVal;
  if (out.u < out.U) return false;
  if (!t.startsWith(',"b":', p)) return false;
  p = readLevels(t, p + 5, out, 0);
  if (p < 0) return false;
  out.nb = levelCount;
  if (!t.startsWith(',"a":', p)) return false;
  p = readLevels(t, p + 5, out, out.nb);
  if (p < 0) return false;
  out.na = levelCount;
  return p + 2 === n && t.charCodeAt(p) === 125 && t.charCodeAt(p + 1) === 125;
}
