import { afterEach, describe, expect, it } from 'vitest';
import { LAYOUT, NativeError, TickBatch, TickRegion } from '../../src/native/index.js';

const regions: TickRegion[] = [];
function region(name: string, opts: Partial<Parameters<typeof TickRegion.create>[0]> = {}): TickRegion {
  const r = TickRegion.create({ name: `kestrel-test-${name}-${process.pid}`, symbols: ['BTC-USDT', 'ETH-USDT'], replace: true, ...opts });
  regions.push(r);
  return r;
}
afterEach(() => {
  for (const r of regions.splice(0)) {
    r.unlink();
    r.close();
  }
});

const quote = (i: number) => ({
  tsNs: 1_700_000_000_000_000_000n + BigInt(i),
  flags: 0,
  bid: 100 + i,
  ask: 101 + i,
  bidSize: 1,
  askSize: 2,
  venueId: 1,
});

describe('tick rings in /dev/shm', () => {
  it('delivers pushed ticks in order with their sequence, symbol and push time', () => {
    const r = region('order');
    const ring = r.ringOf('ETH-USDT');
    for (let i = 0; i < 10; i++) expect(r.pushTick(ring, quote(i))).toBe(i);
    const out = new TickBatch(16);
    expect(r.popTicks(ring, out)).toEqual({ delivered: 10, missed: 0 });
    for (let i = 0; i < 10; i++) {
      const t = out.get(i);
      expect(t.sequence).toBe(BigInt(i));
      expect(t.symbolId).toBe(1);
      expect(t.bid).toBe(100 + i);
      expect(t.tsNs).toBe(quote(i).tsNs);
      expect(t.pushNs > 0n).toBe(true);
    }
    expect(r.popTicks(ring, out)).toEqual({ delivered: 0, missed: 0 });
    expect(r.popTicks(r.ringOf('BTC-USDT'), out).delivered).toBe(0);
  });

  it('batched pushes land like single pushes', () => {
    const r = region('batch');
    const b = new TickBatch(100);
    for (let i = 0; i < 100; i++) b.push(quote(i));
    expect(r.pushBatch(0, b)).toBe(0);
    expect(r.pushBatch(0, b)).toBe(100);
    const out = new TickBatch(256);
    expect(r.popTicks(0, out)).toEqual({ delivered: 200, missed: 0 });
    expect(out.get(150).bid).toBe(150);
    expect(r.counters().ticks[0]).toMatchObject({ head: 200, tail: 200, occupancy: 0, drops: 0, consumed: 200 });
  });

  it('overflow drops the oldest ticks, counts them, and the reader sees the gap in sequences', () => {
    const r = region('overflow', { tickCapacity: 16 });
    for (let i = 0; i < 40; i++) r.pushTick(0, quote(i));
    expect(r.counters().ticks[0]!.occupancy).toBe(16);
    const out = new TickBatch(64);
    const got = r.popTicks(0, out);
    expect(got).toEqual({ delivered: 16, missed: 24 });
    expect(out.get(0).sequence).toBe(24n);
    expect(out.get(15).sequence).toBe(39n);
    expect(r.counters().ticks[0]!.drops).toBe(24);
  });

  it('refuses bad input with typed errors and loses nothing', () => {
    const r = region('bad');
    // Misuse is a RangeError / TypeError (with .code); operational failures are the addon's own
    // NativeError class, constructed in C++ (addon.cpp throw_coded), not re-wrapped in TS.
    expect(() => r.pushTick(7, quote(0))).toThrowError(RangeError);
    expect(() => r.pushTick(7, quote(0))).toThrow(expect.objectContaining({ code: 'BAD_RING' }));
    expect(() => r.pushTick(0, { ...quote(0), bid: 'x' as unknown as number })).toThrowError(TypeError);
    expect(() => TickRegion.create({ name: 'bad/name', symbols: ['X'] })).toThrow(/\[A-Za-z0-9._-\]/);
    expect(() => TickRegion.create({ name: r.name, symbols: ['X'] })).toThrowError(NativeError);
    expect(() => TickRegion.create({ name: r.name, symbols: ['X'] })).toThrow(expect.objectContaining({ code: 'REGION_EXISTS' }));
    expect(() => region('cap', { tickCapacity: 1000 })).toThrow(expect.objectContaining({ code: 'BAD_REGION_OPTIONS' }));
    expect(() => TickRegion.attach('kestrel-test-nonexistent')).toThrow(expect.objectContaining({ code: 'REGION_NOT_FOUND' }));
    r.pushTick(0, quote(1));
    expect(r.counters().ticks[0]!.head).toBe(1);
  });

  it('exposes the mapping as an external ArrayBuffer whose header and slots match the layout', () => {
    const r = region('buffer', { tickCapacity: 64 });
    r.pushTick(1, quote(5));
    const buf = r.buffer();
    const v = new DataView(buf);
    expect(buf.byteLength).toBe(
      v.getBigUint64(LAYOUT.kRegionSizeOffset, true) > 0n ? Number(v.getBigUint64(LAYOUT.kRegionSizeOffset, true)) : -1,
    );
    expect(v.getUint32(LAYOUT.kRegionTickRingCountOffset, true)).toBe(2);
    const ring1 =
      Number(v.getBigUint64(LAYOUT.kRegionTickRingsOffset, true)) + Number(v.getBigUint64(LAYOUT.kRegionTickRingStrideOffset, true));
    expect(Number(v.getBigUint64(ring1 + LAYOUT.kRingHeadOffset, true))).toBe(1);
    const slot0 = ring1 + LAYOUT.kRingHeaderSize;
    expect(v.getFloat64(slot0 + LAYOUT.kTickBidOffset, true)).toBe(105);
    expect(v.getBigUint64(slot0 + LAYOUT.kTickSequenceOffset, true)).toBe(1n); // commit word = seq + 1
  });

  it('a second mapping of the same name sees the same rings (zero-copy attach)', () => {
    const r = region('attach');
    const a = TickRegion.attach(r.name);
    expect(a.symbols).toEqual(['BTC-USDT', 'ETH-USDT']);
    expect(a.owner).toBe(false);
    r.pushTick(0, quote(3));
    const out = new TickBatch(4);
    expect(a.popTicks(0, out).delivered).toBe(1);
    expect(out.get(0).bid).toBe(103);
    a.close();
  });
});

describe('pushNormalized', () => {
  it('maps canonical quotes and trades onto TickEntry fields', async () => {
    const { VENUE_IDS } = await import('../../src/contracts/market.js');
    const r = TickRegion.create({ name: `kestrel-test-norm-${process.pid}`, symbols: ['BTC-USDT'], replace: true });
    try {
      const base = {
        exchTsNs: 1n,
        recvTsNs: 5n,
        venueId: VENUE_IDS.binance,
        symbolId: 0,
        venue: 'binance' as const,
        symbol: 'BTC-USDT',
        sequence: 9n,
      };
      r.pushNormalized(0, {
        ...base,
        bid: 10,
        ask: 11,
        bidSize: 1,
        askSize: 2,
        flags: LAYOUT.kFlagStale,
        lastPx: 0,
        lastQty: 0,
        aggressor: 0,
      });
      r.pushNormalized(0, {
        ...base,
        bid: 10,
        ask: 11,
        bidSize: 1,
        askSize: 2,
        flags: LAYOUT.kFlagTrade,
        lastPx: 10.5,
        lastQty: 0.25,
        aggressor: 1,
      });
      const out = new TickBatch(4);
      expect(r.popTicks(0, out).delivered).toBe(2);
      expect(out.get(0)).toMatchObject({ tsNs: 5n, venueId: 1, flags: LAYOUT.kFlagStale, bid: 10, ask: 11, bidSize: 1, askSize: 2 });
      expect(out.get(1)).toMatchObject({
        flags: LAYOUT.kFlagTrade | LAYOUT.kFlagBuyAggressor,
        bid: 10.5,
        ask: 10.5,
        bidSize: 0.25,
        askSize: 0,
      });
    } finally {
      r.unlink();
      r.close();
    }
  });
});
