/**
 * The per-venue replay feeders rebuild a sane book from each real capture (never crossed, sorted)
 * and the engine fills against it.
 */
import { systemClock } from '../../../src/clock/clock.js';
import { describe, expect, it } from 'vitest';
import { MatchingEngine, type Level } from '../../../src/simulators/matching/engine.js';
import { BinanceReplayFeeder, KrakenReplayFeeder, OkxReplayFeeder } from '../../../src/simulators/matching/replay-feed.js';
import { DEFAULT_SYMBOLS } from '../../../src/simulators/private/venues.js';

function harness() {
  const engine = new MatchingEngine({
    clock: systemClock,
    mode: 'realistic',
    symbols: DEFAULT_SYMBOLS,
    balances: { a: { USD: 1e7, USDT: 1e7, BTC: 100 } },
  });
  let books = 0;
  let crossed = 0;
  let unsorted = 0;
  let trades = 0;
  const sink = {
    book: (s: string, b: readonly Level[], a: readonly Level[]) => {
      books++;
      if (b[0]![0] >= a[0]![0]) crossed++;
      for (let i = 1; i < b.length; i++) if (b[i]![0] >= b[i - 1]![0]) unsorted++;
      for (let i = 1; i < a.length; i++) if (a[i]![0] <= a[i - 1]![0]) unsorted++;
      engine.onBook(s, b, a);
    },
    trade: (s: string, p: number, q: number, ag: 'buy' | 'sell') => {
      trades++;
      engine.onTrade(s, p, q, ag);
    },
  };
  return { engine, sink, stats: () => ({ books, crossed, unsorted, trades }) };
}

describe('replay feeders over the real captures', () => {
  it('Kraken v2 book capture -> BTC-USD book, never crossed, fills at the touch', async () => {
    const h = harness();
    const n = await new KrakenReplayFeeder(h.sink).replay();
    expect(n).toBeGreaterThan(10);
    expect(h.stats()).toMatchObject({ crossed: 0, unsorted: 0 });
    expect(h.stats().books).toBe(n);
    const ask = h.engine.bestAsk('BTC-USD')!;
    expect(ask).toBeGreaterThan(10_000);
    const o = h.engine.submit('a', { clientId: 'k', symbol: 'BTC-USD', side: 'buy', type: 'limit', tif: 'IOC', qty: 0.0001, price: ask });
    expect(o.state).toBe('filled');
    expect(o.cost / o.filled).toBeCloseTo(ask, 6);
  });

  it('OKX recording -> BTC-USDT book and trades, never crossed', async () => {
    const h = harness();
    const n = await new OkxReplayFeeder(h.sink).replay();
    expect(n).toBeGreaterThan(100);
    const st = h.stats();
    expect(st).toMatchObject({ crossed: 0, unsorted: 0 });
    expect(st.books).toBeGreaterThan(50);
    expect(st.trades).toBeGreaterThan(10);
    expect(h.engine.bestBid('BTC-USDT')).toBeLessThan(h.engine.bestAsk('BTC-USDT')!);
  });

  it('Binance capture -> never crossed, sorted', async () => {
    const h = harness();
    const feeder = new BinanceReplayFeeder(h.sink);
    expect(await feeder.replay(20_000)).toBe(20_000);
    const st = h.stats();
    expect(st.books).toBeGreaterThan(1000);
    expect(st).toMatchObject({ crossed: 0, unsorted: 0 });
  });
});
