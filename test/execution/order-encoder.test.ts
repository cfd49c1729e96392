import { describe, expect, it } from 'vitest';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { OrderRequestSchema, OrderType, Side, TimeInForce } from '../../src/contracts/index.js';
import { encodeOrderRequest, type OrderRequestFields } from '../../src/execution/order-encoder.js';

// Deterministic PRNG so a failure reproduces.
let seed = 42;
function rnd(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
function str(): string {
  const n = pick([0, 1, 5, 18, 40, 130, 300]);
  const alphabet = pick(['abcXYZ0189-_.', 'é€😀中', 'a']);
  const chars = [...alphabet];
  let s = '';
  for (let i = 0; i < n; i++) s += pick(chars);
  return s;
}

function random(): OrderRequestFields {
  return {
    clientId: str(),
    venue: pick(['binance', 'kraken', 'okx', '']),
    symbol: str(),
    side: pick([Side.SIDE_UNSPECIFIED, Side.BUY, Side.SELL]),
    size: pick([0, 0.0001, 1.5, 1e9, rnd() * 100, -0, 5e-324]),
    price: pick([0, 100.55, 65000.01, rnd() * 1e5, Number.MAX_VALUE]),
    tif: pick([TimeInForce.TIF_UNSPECIFIED, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK]),
    orderType: pick([OrderType.ORDER_TYPE_UNSPECIFIED, OrderType.MARKET, OrderType.LIMIT, OrderType.STOP]),
    orderGroupId: str(),
    nonce: pick([0n, 1n, 127n, 128n, 2n ** 32n, 1795531959201000n, 2n ** 63n, 2n ** 64n - 1n]),
    strategyId: str(),
    traceId: str(),
    shadow: rnd() < 0.5,
    createdTsNs: pick([0n, 1n, 1795531959201000000n, -1n, -(2n ** 63n), 2n ** 63n - 1n]),
  };
}

describe('hand-written OrderRequest encoder', () => {
  it('is byte-identical to toBinary on 5000 random requests (unicode, long strings, extremes)', () => {
    for (let i = 0; i < 5000; i++) {
      const r = random();
      const ours = encodeOrderRequest(r);
      const ref = toBinary(OrderRequestSchema, create(OrderRequestSchema, r));
      expect(
        Buffer.from(ours).equals(Buffer.from(ref)),
        JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
      ).toBe(true);
      expect(fromBinary(OrderRequestSchema, ours).clientId).toBe(r.clientId);
    }
  });
});
