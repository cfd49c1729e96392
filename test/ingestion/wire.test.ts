import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { TickFlag, fromProto, toProto, type NormalizedTick } from '../../src/contracts/market.js';
import { TickSchema } from '../../src/contracts/gen/kestrel/v1/market_pb.js';
import { encodeTickProto } from '../../src/ingestion/wire.js';
import { tick } from './helpers.js';

const cases: Array<[string, NormalizedTick]> = [
  ['quote', tick(1)],
  ['trade sold', tick(2, { flags: TickFlag.TRADE, lastPx: 60_000.25, lastQty: 0.001, aggressor: -1 })],
  ['trade bought', tick(3, { flags: TickFlag.TRADE | TickFlag.SKEW, lastPx: 1e-8, lastQty: 123456.789, aggressor: 1 })],
  ['zeros omitted', tick(0, { bid: 0, askSize: 0, venueId: 0, symbolId: 0 })],
  ['u64 max sequence', tick(4, { sequence: 2n ** 64n - 1n, symbolId: 0xffffffff, flags: 0xffffffff })],
  ['negative timestamps', tick(5, { exchTsNs: -5n, recvTsNs: -(2n ** 63n) })],
  ['non-ascii symbol', tick(6, { symbol: 'ÉTH-€' })],
  ['special doubles', tick(7, { bid: Number.NaN, ask: Infinity, bidSize: -Infinity, askSize: Number.MIN_VALUE })],
];

describe('hand-rolled Tick protobuf encoder', () => {
  it.each(cases)('matches the generated encoder byte for byte: %s', (_n, t) => {
    const ours = encodeTickProto(t);
    expect(Buffer.from(ours).toString('hex')).toBe(Buffer.from(toBinary(TickSchema, toProto(t))).toString('hex'));
    if (t.venue === 'binance' && !Number.isNaN(t.bid)) expect(fromProto(fromBinary(TickSchema, ours))).toEqual(t);
  });

  it('returns independent buffers (the bus may hold them)', () => {
    const a = encodeTickProto(tick(1));
    const b = encodeTickProto(tick(2));
    expect(a).not.toEqual(b);
    expect(fromBinary(TickSchema, a).sequence).toBe(1n);
  });
});
