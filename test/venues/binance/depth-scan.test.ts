/**
 * The one-pass Binance depth reader accepts exactly Binance's canonical diff-depth frame and reads
 * the values JSON.parse would; every variant it cannot prove identical is declined (general path).
 */
import { describe, expect, it } from 'vitest';
import { isBookTickerStream, newDepthScan, scanBookTicker, scanDepthFrame, streamNameEnd } from '../../../src/venues/binance/depth-scan.js';

const canonical =
  '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255208,"s":"BTCUSDT","U":50093239189,"u":50093239202,"b":[["61737.63000000","0.00000000"],["61730.17","1.5"]],"a":[["61837.64000000","1.54698000"]]}}';

describe('scanDepthFrame', () => {
  it('reads the canonical frame: ids, symbol, and each level as number and verbatim string', () => {
    const out = newDepthScan();
    expect(scanDepthFrame(canonical, out)).toBe(true);
    expect({ E: out.E, U: out.U, u: out.u, nb: out.nb, na: out.na }).toEqual({
      E: 1723161255208,
      U: 50093239189,
      u: 50093239202,
      nb: 2,
      na: 1,
    });
    expect(canonical.slice(out.symStart, out.symEnd)).toBe('BTCUSDT');
    expect([...out.nums.slice(0, 6)]).toEqual([61737.63, 0, 61730.17, 1.5, 61837.64, 1.54698]);
    const strs = Array.from({ length: 6 }, (_, i) => canonical.slice(out.pos[2 * i], out.pos[2 * i + 1]));
    expect(strs).toEqual(['61737.63000000', '0.00000000', '61730.17', '1.5', '61837.64000000', '1.54698000']);
  });

  it('reads empty sides', () => {
    const out = newDepthScan();
    expect(scanDepthFrame(canonical.replace(/"b":\[.*\],"a"/, '"b":[],"a"').replace(/"a":\[.*\]\}\}/, '"a":[]}}'), out)).toBe(true);
    expect([out.nb, out.na]).toEqual([0, 0]);
  });

  it.each([
    ['whitespace', canonical.replace('"E":', '"E": ')],
    ['trailing space', `${canonical} `],
    ['keys in another order', canonical.replace('"e":"depthUpdate","E":1723161255208', '"E":1723161255208,"e":"depthUpdate"')],
    ['escaped stream name', canonical.replace('btcusdt@depth', 'btcusdt\\u0040depth')],
    ['exponent price', canonical.replace('61730.17', '6.173017e4')],
    ['leading-zero id', canonical.replace('"U":50093239189', '"U":050093239189')],
    ['negative id', canonical.replace('"U":50093239189', '"U":-1')],
    ['16-digit id', canonical.replace('"U":50093239189', '"U":5009323918900000')],
    ['fractional id', canonical.replace('"E":1723161255208', '"E":1723161255208.5')],
    ['u before U', canonical.replace('"u":50093239202', '"u":50093239188')],
    ['zero price', canonical.replace('61730.17', '0.00')],
    ['numeric price', canonical.replace('"61730.17"', '61730.17')],
    ['three-element level', canonical.replace('["61730.17","1.5"]', '["61730.17","1.5","x"]')],
    ['bookTicker stream', canonical.replace('btcusdt@depth@100ms', 'btcusdt@bookTicker')],
    ['trade event', canonical.replace('depthUpdate', 'trade')],
    ['truncated', canonical.slice(0, -1)],
    ['extra key', canonical.replace(']]}}', ']],"x":1}}')],
    ['price with 21 fraction digits', canonical.replace('61730.17', `1.${'1'.repeat(21)}`)],
  ])('declines a frame with %s', (_what, text) => {
    expect(scanDepthFrame(text, newDepthScan())).toBe(false);
  });
});

describe('scanBookTicker', () => {
  const tk =
    '{"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}';
  const read = (text: string) => {
    const end = streamNameEnd(text);
    const out = { u: 0, symStart: 0, symEnd: 0, bid: 0, bidSz: 0, ask: 0, askSz: 0 };
    return end >= 0 && isBookTickerStream(text, end) && scanBookTicker(text, end, out) ? out : undefined;
  };

  it('reads the canonical frame', () => {
    const out = read(tk)!;
    expect({ u: out.u, bid: out.bid, bidSz: out.bidSz, ask: out.ask, askSz: out.askSz, sym: tk.slice(out.symStart, out.symEnd) }).toEqual({
      u: 50093239212,
      bid: 61837.63,
      bidSz: 3.78826,
      ask: 61837.64,
      askSz: 1.54698,
      sym: 'BTCUSDT',
    });
  });

  it.each([
    ['whitespace', tk.replace('"u":', '"u": ')],
    ['numeric bid', tk.replace('"61837.63000000"', '61837.63')],
    ['exponent size', tk.replace('3.78826000', '3.78826e0')],
    ['missing A', tk.replace(',"A":"1.54698000"', '')],
    ['extra key', tk.replace('}}', ',"x":1}}')],
    ['escaped symbol', tk.replace('"BTCUSDT"', '"BTC\\u0055SDT"')],
    ['negative id', tk.replace('"u":50093239212', '"u":-5')],
  ])('declines a frame with %s', (_what, text) => {
    expect(read(text)).toBeUndefined();
  });
});
