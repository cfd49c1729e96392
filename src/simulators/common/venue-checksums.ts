/**
 * The venues' book checksums as the simulators compute them: an implementation independent of the
 * adapters' (src/venues/common/checksum.ts), so that a simulator never verifies an adapter against
 * the adapter's own function. Built from the venue documentation's description directly, on zlib's
 * CRC-32, joining whole strings instead of hashing incrementally, and reading levels best-first from
 * plain arrays rather than from the adapter's book internals. Both are checked against the published
 * vectors in shared/data (test/simulators/venue-checksums.test.ts).
 */
import { crc32 } from 'node:zlib';

/** One side of a book as [price, qty] strings exactly as the venue publishes them, best first. */
export type LevelStrings = ReadonlyArray<readonly [price: string, qty: string]>;

/**
 * Kraken WS v2: for the top 10 asks (ascending) then the top 10 bids (descending), the price and the
 * quantity printed at the pair's precisions with the decimal point removed and leading zeros
 * stripped, all concatenated; CRC-32 as an unsigned integer.
 */
export function krakenBookCrc(
  asks: ReadonlyArray<readonly [number, number]>,
  bids: ReadonlyArray<readonly [number, number]>,
  pricePrecision: number,
  qtyPrecision: number,
): number {
  const field = (v: number, precision: number): string => {
    const digits = v.toFixed(precision).split('.').join('');
    const stripped = digits.replace(/^0+/, '');
    return stripped === '' ? '0' : stripped;
  };
  const parts: string[] = [];
  for (const [p, q] of asks.slice(0, 10)) parts.push(field(p, pricePrecision), field(q, qtyPrecision));
  for (const [p, q] of bids.slice(0, 10)) parts.push(field(p, pricePrecision), field(q, qtyPrecision));
  return crc32(parts.join('')) >>> 0;
}

/**
 * OKX v5 books: for i in 0..24, bid i then ask i (a missing side is skipped), each as "price:size"
 * with the venue's strings, all joined with ':'; CRC-32 read as a signed 32-bit integer.
 */
export function okxBookCrc(bids: LevelStrings, asks: LevelStrings): number {
  const parts: string[] = [];
  for (let i = 0; i < 25; i++) {
    const b = bids[i];
    const a = asks[i];
    if (b !== undefined) parts.push(`${b[0]}:${b[1]}`);
    if (a !== undefined) parts.push(`${a[0]}:${a[1]}`);
  }
  return crc32(parts.join(':')) | 0;
}
