/**
 * The one-pass Kraken book reader accepts exactly Kraken's canonical book frame and reads the values
 * JSON.parse would; every variant it cannot prove identical is declined (general path). The checksum
 * fields it builds from the wire digits equal `krakenField` of the parsed numbers.
 */
import { describe, expect, it } from 'vitest';
import { krakenField } from '../../../src/venues/common/checksum.js';
import { krakenFieldAt, newKrakenBookScan, scanKrakenBook } from '../../../src/venues/kraken/book-scan.js';

const canonical =
  '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":29421.9,"qty":0.0275},{"price":29420,"qty":4}],"asks":[{"price":29430.3,"qty":0}],"checksum":2966524335,"timestamp":"2023-07-30T15:30:01.606342Z"}]}';

describe('scanKrakenBook', () => {
  it('reads the canonical frame: type, symbol, levels, checksum and timestamp range', () => {
    const out = newKrakenBookScan();
    expect(scanKrakenBook(canonical, out)).toBe(true);
    expect({ snapshot: out.snapshot, nb: out.nb, na: out.na, checksum: out.checksum }).toEqual({
      snapshot: false,
      nb: 2,
      na: 1,
      checksum: 2966524335,
    });
    expect(canonical.slice(out.symStart, out.symEnd)).toBe('BTC/USD');
    expect(canonical.slice(out.tsStart, out.tsEnd)).toBe('2023-07-30T15:30:01.606342Z');
    expect([...out.nums.slice(0, 6)]).toEqual([29421.9, 0.0275, 29420, 4, 29430.3, 0]);
  });

  it('reads a snapshot without timestamp and empty sides', () => {
    const out = newKrakenBookScan();
    const snap = canonical
      .replace('"update"', '"snapshot"')
      .replace(/"bids":\[.*\],"asks"/, '"bids":[],"asks"')
      .replace(',"timestamp":"2023-07-30T15:30:01.606342Z"', '');
    expect(scanKrakenBook(snap, out)).toBe(true);
    expect([out.snapshot, out.nb, out.na, out.tsStart]).toEqual([true, 0, 1, -1]);
  });

  it('builds krakenField from the digits exactly as toFixed does, or leaves it to toFixed', () => {
    const nums = ['0.0275', '4', '29421.9', '0.00000001', '10', '1.5', '0.1', '123456.7', '0.12345678', '7.123456789'];
    for (const v of nums) {
      const t = canonical.replace('"qty":0.0275', `"qty":${v}`);
      const out = newKrakenBookScan();
      expect(scanKrakenBook(t, out)).toBe(true);
      for (const prec of [0, 1, 2, 5, 8]) {
        const got = krakenFieldAt(t, out, 1, prec);
        // undefined: not provably equal (more fraction digits than the precision), toFixed decides.
        if (got !== undefined) expect(got).toBe(krakenField(Number(v), prec));
        else expect(v.split('.')[1]?.length ?? 0).toBeGreaterThan(prec);
      }
    }
  });

  it.each([
    ['whitespace', canonical.replace('"bids":', '"bids": ')],
    ['trailing space', `${canonical} `],
    ['keys in another order', canonical.replace('"channel":"book","type":"update"', '"type":"update","channel":"book"')],
    ['level keys in another order', canonical.replace('{"price":29420,"qty":4}', '{"qty":4,"price":29420}')],
    ['escaped symbol', canonical.replace('BTC/USD', 'BTC\\/USD')],
    ['escaped timestamp', canonical.replace('15:30:01', '15\\u003a30:01')],
    ['exponent price', canonical.replace('29421.9', '2.94219e4')],
    ['exponent qty', canonical.replace('0.0275', '2.75E-2')],
    ['negative qty', canonical.replace('0.0275', '-0.0275')],
    ['leading-zero price', canonical.replace('29420', '029420')],
    ['string price', canonical.replace('29421.9', '"29421.9"')],
    ['16 digits', canonical.replace('0.0275', '0.027500000000001')],
    ['zero price', canonical.replace('29421.9', '0')],
    ['trailing dot', canonical.replace('29420', '29420.')],
    ['negative checksum', canonical.replace('2966524335', '-1')],
    ['checksum beyond 32 bits', canonical.replace('2966524335', '4294967296')],
    ['fractional checksum', canonical.replace('2966524335', '2966524335.0')],
    ['two entries', canonical.replace('}]}', '},{"symbol":"ETH/USD","bids":[],"asks":[],"checksum":1}]}')],
    ['extra key', canonical.replace('}]}', ',"x":1}]}')],
    ['other type', canonical.replace('"update"', '"delta"')],
    ['trade channel', canonical.replace('"book"', '"trade"')],
    ['truncated', canonical.slice(0, -1)],
  ])('declines a frame with %s', (_what, text) => {
    expect(scanKrakenBook(text, newKrakenBookScan())).toBe(false);
  });
});
