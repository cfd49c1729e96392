/**
 * The one-pass OKX books reader accepts exactly OKX's canonical books frame and reads the values and
 * verbatim strings the general path would; every variant it cannot prove identical is declined.
 */
import { describe, expect, it } from 'vitest';
import { newOkxBookScan, scanOkxBook } from '../../../src/venues/okx/book-scan.js';

const canonical =
  '{"arg":{"channel":"books","instId":"BTC-USD-220527"},"action":"update","data":[{"asks":[["30249.4","0","0","0"],["30261","4","0","1"]],"bids":[["30182.60","452","0","1"]],"ts":"1652459225464","checksum":-914047754,"prevSeqId":1000,"seqId":1001}]}';

describe('scanOkxBook', () => {
  it('reads the canonical frame: action, instrument, levels with verbatim strings, ts, checksum, seqIds', () => {
    const out = newOkxBookScan();
    expect(scanOkxBook(canonical, out)).toBe(true);
    expect(canonical.slice(out.instStart, out.instEnd)).toBe('BTC-USD-220527');
    expect({ snapshot: out.snapshot, ts: out.tsMs, checksum: out.checksum, prev: out.prevSeqId, seq: out.seqId }).toEqual({
      snapshot: false,
      ts: 1652459225464,
      checksum: -914047754,
      prev: 1000,
      seq: 1001,
    });
    expect([...out.asks.nums]).toEqual([30249.4, 0, 30261, 4]);
    // A delete keeps no strings.
    expect(out.asks.strs).toEqual(['', '', '30261', '4']);
    expect([...out.bids.nums]).toEqual([30182.6, 452]);
    expect(out.bids.strs).toEqual(['30182.60', '452']);
  });

  it('reads a snapshot (prevSeqId -1) and two-element levels', () => {
    const out = newOkxBookScan();
    const snap = canonical
      .replace('"update"', '"snapshot"')
      .replace('"prevSeqId":1000', '"prevSeqId":-1')
      .replace('["30261","4","0","1"]', '["30261","4"]');
    expect(scanOkxBook(snap, out)).toBe(true);
    expect([out.snapshot, out.prevSeqId, out.asks.strs.length]).toEqual([true, -1, 4]);
  });

  it.each([
    ['whitespace', canonical.replace('"asks":', '"asks": ')],
    ['trailing space', `${canonical} `],
    ['keys in another order', canonical.replace('"prevSeqId":1000,"seqId":1001', '"seqId":1001,"prevSeqId":1000')],
    ['sides in another order', canonical.replace('"asks":', '"asksX":').replace('"bids":', '"asks":').replace('"asksX":', '"bids":')],
    ['missing checksum', canonical.replace('"checksum":-914047754,', '')],
    ['missing seqId', canonical.replace(',"seqId":1001', '')],
    ['escaped instId', canonical.replace('BTC-USD', 'BTC\\u002dUSD')],
    ['escaped level element', canonical.replace('["30261","4","0","1"]', '["30261","4","\\u0030","1"]')],
    ['exponent price', canonical.replace('"30261"', '"3.0261e4"')],
    ['numeric price', canonical.replace('"30261"', '30261')],
    ['numeric level element', canonical.replace('["30261","4","0","1"]', '["30261","4",0,"1"]')],
    ['negative size', canonical.replace('"452"', '"-452"')],
    ['zero price', canonical.replace('"30261"', '"0.0"')],
    ['one-element level', canonical.replace('["30261","4","0","1"]', '["30261"]')],
    ['numeric ts', canonical.replace('"ts":"1652459225464"', '"ts":1652459225464')],
    ['16-digit ts', canonical.replace('1652459225464', '1652459225464000')],
    ['checksum beyond int32', canonical.replace('-914047754', '-2147483649')],
    ['fractional seqId', canonical.replace('"seqId":1001', '"seqId":1001.0')],
    ['exponent seqId', canonical.replace('"seqId":1001', '"seqId":1e3')],
    ['16-digit seqId', canonical.replace('"seqId":1001', '"seqId":1234567890123456')],
    ['leading-zero seqId', canonical.replace('"seqId":1001', '"seqId":01001')],
    ['minus zero prevSeqId', canonical.replace('"prevSeqId":1000', '"prevSeqId":-0')],
    ['two entries', canonical.replace('}]}', '},{"asks":[],"bids":[],"ts":"1","checksum":0,"prevSeqId":1,"seqId":2}]}')],
    ['extra key', canonical.replace('"seqId":1001}', '"seqId":1001,"x":1}')],
    ['trades channel', canonical.replace('"books"', '"trades"')],
    ['books5 channel', canonical.replace('"books"', '"books5"')],
    ['other action', canonical.replace('"update"', '"partial"')],
    ['truncated', canonical.slice(0, -1)],
  ])('declines a frame with %s', (_what, text) => {
    expect(scanOkxBook(text, newOkxBookScan())).toBe(false);
  });
});
