import { describe, expect, it } from 'vitest';
import { TickFlag, type NormalizedTick } from '../../src/contracts/market.js';
import { TickBatch, tickFromNormalized } from '../../src/native/index.js';
import { tick } from '../ingestion/helpers.js';

describe('TickBatch.pushNormalized', () => {
  it('writes the bytes push(tickFromNormalized(t)) writes, for quotes and both trade sides', () => {
    const ticks: NormalizedTick[] = [
      tick(1, { bid: 100.5, ask: 100.75, bidSize: 2, askSize: 3, flags: TickFlag.SKEW }),
      tick(2, { flags: TickFlag.TRADE, lastPx: 100.6, lastQty: 0.25, aggressor: 1 }),
      tick(3, { flags: TickFlag.TRADE | TickFlag.SKEW, lastPx: 100.4, lastQty: 1.5, aggressor: -1 }),
    ];
    const a = new TickBatch(ticks.length);
    const b = new TickBatch(ticks.length);
    ticks.forEach((t, i) => {
      expect(a.push(tickFromNormalized(t), 7 + i)).toBe(true);
      expect(b.pushNormalized(t, 7 + i)).toBe(true);
    });
    expect(b.count).toBe(ticks.length);
    expect(Buffer.from(b.bytes).equals(Buffer.from(a.bytes))).toBe(true);
    expect(b.pushNormalized(ticks[0]!)).toBe(false); // full
  });
});
