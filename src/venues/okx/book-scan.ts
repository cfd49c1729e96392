/**
 * Single-pass reader for OKX v5 `books` frames in the exact shape OKX sends:
 *
 *   {"arg":{"channel":"books","instId":"<ID>"},"action":"snapshot"|"update","data":[{
 *    "asks":[["<px>","<sz>","<s>","<s>"],...],"bids":[...],"ts":"<ms>","checksum":<int>,
 *    "prevSeqId":<int>,"seqId":<int>}]}
 *
 * (no whitespace, one data entry, every field present in this order). Prices and sizes become doubles
 * bit-exact with `parseDecimal` (common/decimal-scan.ts) and their strings are sliced verbatim, as
 * the checksum needs them. Anything else (whitespace, escapes, other key order, a missing field,
 * exponents, numeric prices, a zero price, ids beyond 15 digits, a checksum outside int32, several
 * entries...) answers false and the adapter takes the general JSON.parse path, which validates and
 * reports it as before.
 */
import { decVal, readDec } from '../common/decimal-scan.js';

/** One side's levels as the adapter keeps them: px, size pairs and their strings ('' for deletes). */
export interface ScannedSide {
  nums: Float64Array;
  strs: string[];
}

export interface OkxBookScan {
  snapshot: boolean;
  instStart: number;
  instEnd: number;
  asks: ScannedSide;
  bids: ScannedSide;
  tsMs: number;
  checksum: number;
  prevSeqId: number;
  seqId: number;
}

const HEAD = '{"arg":{"channel":"books","instId":"';

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

/** A JSON integer at `p`: optional '-', 1-15 digits, no leading zero, not "-0"; value in intVal. */
let intVal = 0;
function readInt(t: string, p: number): number {
  const neg = t.charCodeAt(p) === 45;
  if (neg) p++;
  const start = p;
  let v = 0;
  while (p < t.length) {
    const c = t.charCodeAt(p) - 48;
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
    p++;
  }
  const len = p - start;
  if (len === 0 || len > 15 || (len > 1 && t.charCodeAt(start) === 48) || (neg && v === 0)) return -1;
  const c = t.charCodeAt(p);
  if (c === 46 || c === 101 || c === 69) return -1;
  intVal = neg ? -v : v;
  return p;
}

/** Positions of each level's four strings, reused between frames. */
const pxAt: number[] = [];

/** Reads `[["<px>","<sz>"(,"<plain>")*],...]` at `p`; a fresh side in `side`; position after `]` or -1. */
let side: ScannedSide = { nums: new Float64Array(0), strs: [] };
const nums: number[] = [];
function readLevels(t: string, p: number): number {
  if (t.charCodeAt(p) !== 91) return -1;
  p++;
  let count = 0;
  nums.length = 0;
  pxAt.length = 0;
  if (t.charCodeAt(p) !== 93) {
    for (;;) {
      if (t.charCodeAt(p) !== 91) return -1;
      const ps = p + 1;
      p = readDec(t, ps);
      if (p < 0 || decVal === 0) return -1; // a zero price is an error: the general path reports it
      nums.push(decVal);
      if (t.charCodeAt(p) !== 44) return -1;
      const qs = p + 1;
      p = readDec(t, qs);
      if (p < 0) return -1;
      nums.push(decVal);
      pxAt.push(ps + 1, qs - 1, qs + 1, p - 1);
      // OKX's further elements (deprecated liquidated orders, order count): plain strings, unused.
      while (t.charCodeAt(p) === 44) {
        if (t.charCodeAt(p + 1) !== 34) return -1;
        p = stringEnd(t, p + 2);
        if (p < 0) return -1;
        p++;
      }
      if (t.charCodeAt(p) !== 93) return -1;
      count++;
      p++;
      const c = t.charCodeAt(p);
      if (c === 93) break;
      if (c !== 44) return -1;
      p++;
    }
  }
  const strs = new Array<string>(2 * count);
  for (let i = 0; i < count; i++) {
    const qty = nums[2 * i + 1]!;
    // A delete keeps no strings (the book never stores a removed level's).
    strs[2 * i] = qty === 0 ? '' : t.slice(pxAt[4 * i]!, pxAt[4 * i + 1]! - 1);
    strs[2 * i + 1] = qty === 0 ? '' : t.slice(pxAt[4 * i + 2]!, pxAt[4 * i + 3]!);
  }
  side = { nums: Float64Array.from(nums), strs };
  return p + 1;
}

/** True when `t` is a books frame in OKX's exact shape; fields in `out` (its sides are fresh objects). */
export function scanOkxBook(t: string, out: OkxBookScan): boolean {
  if (!t.startsWith(HEAD)) return false;
  let p = HEAD.length;
  out.instStart = p;
  p = stringEnd(t, p);
  if (p < 0) return false;
  out.instEnd = p;
  if (!t.startsWith('"},"action":"', p)) return false;
  p += 13;
  if (t.startsWith('update"', p)) {
    out.snapshot = false;
    p += 7;
  } else if (t.startsWith('snapshot"', p)) {
    out.snapshot = true;
    p += 9;
  } else return false;
  if (!t.startsWith(',"data":[{"asks":', p)) return false;
  p = readLevels(t, p + 17);
  if (p < 0) return false;
  out.asks = side;
  if (!t.startsWith(',"bids":', p)) return false;
  p = readLevels(t, p + 8);
  if (p < 0) return false;
  out.bids = side;
  if (!t.startsWith(',"ts":"', p)) return false;
  p += 7;
  const ts = p;
  let ms = 0;
  while (p < t.length) {
    const c = t.charCodeAt(p) - 48;
    if (c < 0 || c > 9) break;
    ms = ms * 10 + c;
    p++;
  }
  if (p === ts || p - ts > 15 || t.charCodeAt(p) !== 34) return false;
  out.tsMs = ms;
  if (!t.startsWith(',"checksum":', p + 1)) return false;
  p = readInt(t, p + 13);
  if (p < 0 || intVal < -0x80000000 || intVal > 0x7fffffff) return false;
  out.checksum = intVal;
  if (!t.startsWith(',"prevSeqId":', p)) return false;
  p = readInt(t, p + 13);
  if (p < 0) return false;
  out.prevSeqId = intVal;
  if (!t.startsWith(',"seqId":', p)) return false;
  p = readInt(t, p + 9);
  if (p < 0) return false;
  out.seqId = intVal;
  return p + 3 === t.length && t.startsWith('}]}', p);
}

export function newOkxBookScan(): OkxBookScan {
  const empty = (): ScannedSide => ({ nums: new Float64Array(0), strs: [] });
  return { snapshot: false, instStart: 0, instEnd: 0, asks: empty(), bids: empty(), tsMs: 0, checksum: 0, prevSeqId: 0, seqId: 0 };
}
