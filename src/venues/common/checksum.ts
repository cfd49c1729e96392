/** The venues' book checksum algorithms (shared/data/reference/REFERENCE_VALUES.md). */
import type { Level, OrderBook } from './book.js';
import { CRC32_INIT, crc32, crc32Append, crc32Finish, crc32Update, crc32UpdateChar } from './crc32.js';

/** One level field as Kraken's checksum wants it. Exported so adapters can format once per level change. */
export function krakenField(v: number, precision: number): string {
  // Format at the instrument precision, drop the decimal point, strip leading zeros.
  const s = v.toFixed(precision).replace('.', '');
  let i = 0;
  while (i < s.length - 1 && s.charCodeAt(i) === 48) i++;
  return s.slice(i);
}

/** Kraken WS v2: top 10 asks ascending then top 10 bids descending; unsigned CRC32. */
export function krakenChecksum(book: OrderBook, pricePrecision: number, qtyPrecision: number): number {
  let s = '';
  for (const l of book.asks.top(10)) s += krakenField(l.px, pricePrecision) + krakenField(l.qty, qtyPrecision);
  for (const l of book.bids.top(10)) s += krakenField(l.px, pricePrecision) + krakenField(l.qty, qtyPrecision);
  return crc32(s);
}

/** Kraken's level string is pxStr + qtyStr: its CRC contribution, cached on the level until it changes. */
function krakenLevel(c: number, l: Level): number {
  if (l.ckLen < 0) {
    l.ck = crc32Update(crc32Update(0, l.pxStr), l.qtyStr);
    l.ckLen = l.pxStr.length + l.qtyStr.length;
  }
  return crc32Append(c, l.ck, l.ckLen);
}

/**
 * The same checksum over levels whose pxStr/qtyStr already hold `krakenField` strings (the Kraken
 * adapter formats each level once when it changes instead of 40 fields on every message). Each
 * level's CRC contribution is hashed once per change and combined (crc32Append), not rehashed.
 */
export function krakenChecksumPreformatted(book: OrderBook): number {
  let c = CRC32_INIT;
  for (let i = 0; i < 10; i++) {
    const l = book.asks.at(i);
    if (l === undefined) break;
    c = krakenLevel(c, l);
  }
  for (let i = 0; i < 10; i++) {
    const l = book.bids.at(i);
    if (l === undefined) break;
    c = krakenLevel(c, l);
  }
  return crc32Finish(c);
}

/** OKX's level string is pxStr ':' qtyStr: its CRC contribution, cached on the level until it changes. */
function okxLevel(c: number, l: Level): number {
  if (l.ckLen < 0) {
    l.ck = crc32Update(crc32UpdateChar(crc32Update(0, l.pxStr), 58 /* ':' */), l.qtyStr);
    l.ckLen = l.pxStr.length + 1 + l.qtyStr.length;
  }
  return crc32Append(c, l.ck, l.ckLen);
}

/** OKX v5 books: up to 25 levels, bid:bidSz:ask:askSz interleaved, strings as received; signed CRC32. */
export function okxChecksum(book: OrderBook): number {
  // "bid:bidSz:ask:askSz:...": each level's part hashed once per change (okxLevel), no joined string.
  let c = CRC32_INIT;
  let first = true;
  for (let i = 0; i < 25; i++) {
    const b = book.bids.at(i);
    const a = book.asks.at(i);
    if (b === undefined && a === undefined) break;
    if (b !== undefined) {
      if (!first) c = crc32UpdateChar(c, 58 /* ':' */);
      first = false;
      c = okxLevel(c, b);
    }
    if (a !== undefined) {
      if (!first) c = crc32UpdateChar(c, 58);
      first = false;
      c = okxLevel(c, a);
    }
  }
  return crc32Finish(c) | 0;
}
