/**
 * CRC-32 (IEEE 802.3 / zlib polynomial 0xEDB88320), table driven. The adapters hash the venues' ASCII
 * level strings incrementally from their char codes, with no Buffer and no joined string per message;
 * the simulators check them with zlib's crc32 instead (src/simulators/common/venue-checksums.ts).
 */
const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** Unsigned CRC-32 of an ASCII string (chars above 0xFF are not valid in venue checksum strings). */
export function crc32(s: string): number {
  let c = 0xffffffff;
  for (let i = 0; i < s.length; i++) c = TABLE[(c ^ s.charCodeAt(i)) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Incremental form: `crc32Finish(crc32Update(crc32Update(CRC32_INIT, a), b)) === crc32(a + b)`,
 * so checksums over many level strings need no concatenated string.
 */
export const CRC32_INIT = 0xffffffff;

/** Slicing-by-4 tables: T1..T3[n] advance TABLE[n] by one, two, three more zero bytes. */
const [T1, T2, T3] = ((): [Uint32Array, Uint32Array, Uint32Array] => {
  const t1 = new Uint32Array(256);
  const t2 = new Uint32Array(256);
  const t3 = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    t1[n] = (TABLE[n]! >>> 8) ^ TABLE[TABLE[n]! & 0xff]!;
    t2[n] = (t1[n]! >>> 8) ^ TABLE[t1[n]! & 0xff]!;
    t3[n] = (t2[n]! >>> 8) ^ TABLE[t2[n]! & 0xff]!;
  }
  return [t1, t2, t3];
})();

/**
 * Four characters per step (slicing-by-4): the checksums hash ~300 (Kraken) to ~800 (OKX) level
 * characters per message. Each char contributes its low byte, as the byte-wise form does.
 */
export function crc32Update(crc: number, s: string): number {
  let c = crc;
  const n = s.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    c ^=
      (s.charCodeAt(i) & 0xff) |
      ((s.charCodeAt(i + 1) & 0xff) << 8) |
      ((s.charCodeAt(i + 2) & 0xff) << 16) |
      ((s.charCodeAt(i + 3) & 0xff) << 24);
    c = T3[c & 0xff]! ^ T2[(c >>> 8) & 0xff]! ^ T1[(c >>> 16) & 0xff]! ^ TABLE[c >>> 24]!;
  }
  for (; i < n; i++) c = TABLE[(c ^ s.charCodeAt(i)) & 0xff]! ^ (c >>> 8);
  return c;
}

/**
 * Shift tables: SHIFT[len] maps a CRC register to the register after `len` zero bytes, one 256-entry
 * table per register byte (built on first use). CRC is linear: the register after a string s from
 * register c is shift(c, |s|) ^ (register after s from 0), so a book level's contribution can be
 * hashed once when the level changes and folded into each message's checksum with four lookups.
 */
/** Longer strings are shifted a byte at a time (venue level strings are far shorter). */
const MAX_SHIFT_LEN = 64;
/** All lengths' tables in one flat array (table for `len` at len * 1024), built per length on first use. */
const SHIFT = new Int32Array((MAX_SHIFT_LEN + 1) * 1024);
const shiftBuilt = new Uint8Array(MAX_SHIFT_LEN + 1);

function zeroBytes(c: number, len: number): number {
  for (let i = 0; i < len; i++) c = TABLE[c & 0xff]! ^ (c >>> 8);
  return c;
}

function buildShift(len: number): void {
  const base = len * 1024;
  // Linear in the register: each byte position's table is built from its eight single-bit images.
  for (let k = 0; k < 4; k++) {
    const bit: number[] = [];
    for (let b = 0; b < 8; b++) bit.push(zeroBytes(1 << (8 * k + b), len));
    for (let v = 1; v < 256; v++) {
      const low = v & -v;
      SHIFT[base + 256 * k + v] = SHIFT[base + 256 * k + (v ^ low)]! ^ bit[31 - Math.clz32(low)]!;
    }
  }
  shiftBuilt[len] = 1;
}

/** The register `c` advanced over `len` zero bytes. */
export function crc32Shift(c: number, len: number): number {
  if (len > MAX_SHIFT_LEN) return zeroBytes(c, len);
  if (shiftBuilt[len] === 0) buildShift(len);
  const b = len << 10;
  return (
    SHIFT[b + (c & 0xff)]! ^ SHIFT[b + 256 + ((c >>> 8) & 0xff)]! ^ SHIFT[b + 512 + ((c >>> 16) & 0xff)]! ^ SHIFT[b + 768 + (c >>> 24)]!
  );
}

/**
 * `crc32Update(c, s)` given only `raw = crc32Update(0, s)` and `len = s.length`:
 * crc32Append(c, crc32Update(0, s), s.length) === crc32Update(c, s).
 */
export function crc32Append(c: number, raw: number, len: number): number {
  return crc32Shift(c, len) ^ raw;
}

/** Feeds one ASCII character code. */
export function crc32UpdateChar(crc: number, code: number): number {
  return TABLE[(crc ^ code) & 0xff]! ^ (crc >>> 8);
}

export function crc32Finish(crc: number): number {
  return (crc ^ 0xffffffff) >>> 0;
}

/** Unsigned CRC-32 of raw bytes. */
export function crc32Bytes(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The same value as a signed 32-bit integer (OKX compares signed). */
export function crc32Signed(s: string): number {
  return crc32(s) | 0;
}
