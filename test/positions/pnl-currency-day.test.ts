/**
 * Issue 13 item 7: daily_pnl restarts at the UTC day boundary (event time) and equals the PnL made
 * that day; PnL in different quote currencies is converted with a mark from the data, not added raw.
 */
import { systemClock } from '../../src/clock/clock.js';
import { describe, expect, it } from 'vitest';
import { Side } from '../../src/contracts/index.js';
import { PositionBook, ratesFromMids, type Valuation } from '../../src/positions/book.js';

const DAY_NS = 86_400_000_000_000n;
// 2026-12-04 00:00:00 UTC, in ns since the epoch.
const D0 = BigInt(Date.UTC(2026, 11, 4)) * 1_000_000n;
const at = (day: number, hours: number) => D0 + BigInt(day) * DAY_NS + BigInt(Math.round(hours * 3600)) * 1_000_000_000n;

describe('PnL in two quote currencies', () => {
  // The data: BTC quoted 50 000 in USD (kraken) and 50 100 in USDT (binance): 1 USDT = 50000/50100 USD.
  const mids: Record<string, number> = { 'kraken|BTC-USD': 50_000, 'binance|BTC-USDT': 50_100 };
  const mark = (v: string, s: string) => mids[`${v}|${s}`];
  const usd: Valuation = {
    currency: 'USD',
    rate: ratesFromMids('USD', [
      { symbol: 'BTC-USD', mid: 50_000 },
      { symbol: 'BTC-USDT', mid: 50_100 },
    ]),
  };

  it('converts USDT PnL to USD at the cross rate from the data instead of adding it raw', () => {
    const b = new PositionBook();
    // +1000 USDT realized on binance, +500 USD realized on kraken, no fees.
    b.applyFill('binance', 'BTC-USDT', Side.BUY, 1, 49_000, 0, at(0, 1));
    b.applyFill('binance', 'BTC-USDT', Side.SELL, 1, 50_000, 0, at(0, 2));
    b.applyFill('kraken', 'BTC-USD', Side.BUY, 1, 49_500, 0, at(0, 1));
    b.applyFill('kraken', 'BTC-USD', Side.SELL, 1, 50_000, 0, at(0, 2));
    const st = b.snapshot(mark, at(0, 3), true, usd);
    const usdtInUsd = 50_000 / 50_100;
    expect(st.reportingCurrency).toBe('USD');
    expect(st.totalPnl).toBeCloseTo(500 + 1000 * usdtInUsd, 6);
    expect(st.totalPnl).not.toBeCloseTo(1500, 3); // the raw sum
    expect(st.unpricedQuotes).toEqual([]);
    // Per-position figures stay in their own quote.
    expect(st.positions.find((p) => p.venue === 'binance')!.realizedPnl).toBeCloseTo(1000, 9);
  });

  it('derives the rate from the marks it has when no valuation is given, and names quotes it cannot price', () => {
    const b = new PositionBook();
    b.applyFill('binance', 'BTC-USDT', Side.BUY, 1, 50_000, 0, at(0, 1)); // +100 USDT unrealized at 50 100
    b.applyFill('kraken', 'BTC-USD', Side.BUY, 1, 49_900, 0, at(0, 1)); // +100 USD unrealized at 50 000
    const st = b.snapshot(mark, at(0, 2));
    expect(st.reportingCurrency).toBe('USD');
    expect(st.totalPnl).toBeCloseTo(100 + 100 * (50_000 / 50_100), 6);
    // ETH-EUR has no rate anywhere in the data: left out and named, never added 1:1.
    b.applyFill('okx', 'ETH-EUR', Side.BUY, 1, 3000, 0, at(0, 2));
    const st2 = b.snapshot((v, s) => (s === 'ETH-EUR' ? 3100 : mark(v, s)), at(0, 3), false, usd);
    expect(st2.unpricedQuotes).toEqual(['EUR']);
    expect(st2.totalPnl).toBeCloseTo(st.totalPnl, 6);
  });

  it('uses a direct pair when the data has one (USDT-USD), and its inverse', () => {
    expect(
      ratesFromMids('USD', [
        { symbol: 'USDT-USD', mid: 0.998 },
        { symbol: 'BTC-USD', mid: 1 },
        { symbol: 'BTC-USDT', mid: 2 },
      ])('USDT'),
    ).toBeCloseTo(0.998, 12);
    expect(ratesFromMids('USDT', [{ symbol: 'USDT-USD', mid: 0.998 }])('USD')).toBeCloseTo(1 / 0.998, 12);
    expect(ratesFromMids('USD', [])('USDT')).toBeUndefined();
  });
});

describe('daily PnL at the UTC day boundary', () => {
  it('restarts at midnight UTC by event time and equals the PnL made that day', () => {
    const b = new PositionBook();
    const px = { v: 100 };
    const mark = () => px.v;
    b.applyFill('binance', 'BTC-USDT', Side.BUY, 10, 100, 0, at(0, 20));
    px.v = 103;
    let st = b.snapshot(mark, at(0, 23.9));
    expect(st.totalPnl).toBeCloseTo(30, 9);
    expect(st.dailyPnl).toBeCloseTo(30, 9); // everything so far was made on day 0
    // Day 1: price goes 103 → 101, then a partial close at 105.
    px.v = 101;
    st = b.snapshot(mark, at(1, 0.1));
    expect(st.totalPnl).toBeCloseTo(10, 9);
    expect(st.dailyPnl).toBeCloseTo(-20, 9); // 101 − 103 on 10, from the last valuation of day 0
    b.applyFill('binance', 'BTC-USDT', Side.SELL, 5, 105, 1, at(1, 5));
    px.v = 105;
    st = b.snapshot(mark, at(1, 6));
    expect(st.totalPnl).toBeCloseTo(50 - 1, 9);
    expect(st.dailyPnl).toBeCloseTo(50 - 1 - 30, 9);
    // The same wall time a day later is a new day even with no snapshot in between: a fill first.
    b.applyFill('binance', 'BTC-USDT', Side.SELL, 5, 106, 0, at(2, 0.5));
    st = b.snapshot(mark, at(2, 1));
    // Day 2's base is the total at day 1's last marks (49); day 2 made 5 × (106 − 105) = 5.
    expect(st.totalPnl).toBeCloseTo(54, 9);
    expect(st.dailyPnl).toBeCloseTo(5, 9);
  });

  it('a fill just before midnight counts for its own day, even when valued after midnight', () => {
    const b = new PositionBook();
    b.applyFill('binance', 'BTC-USDT', Side.BUY, 1, 100, 0, at(0, 10));
    b.snapshot(() => 100, at(0, 23));
    b.applyFill('binance', 'BTC-USDT', Side.SELL, 1, 110, 0, at(0, 23.99)); // +10 on day 0
    const st = b.snapshot(() => 110, at(1, 0.01));
    expect(st.totalPnl).toBeCloseTo(10, 9);
    // The base is the total at day 0's last marks with every day-0 fill in it: the +10 is not today's.
    expect(st.dailyPnl).toBeCloseTo(0, 9);
  });

  it('keeps the day base across a checkpoint (WAL) reload', () => {
    const b = new PositionBook();
    b.applyFill('binance', 'BTC-USDT', Side.BUY, 1, 100, 0, at(0, 10));
    b.applyFill('binance', 'BTC-USDT', Side.SELL, 1, 120, 0, at(0, 11)); // +20 on day 0
    b.snapshot(() => 100, at(0, 12));
    b.applyFill('binance', 'BTC-USDT', Side.BUY, 1, 100, 0, at(1, 1));
    b.applyFill('binance', 'BTC-USDT', Side.SELL, 1, 103, 0, at(1, 2)); // +3 on day 1
    const saved = b.snapshot(() => 100, at(1, 3));
    expect(saved.dailyPnl).toBeCloseTo(3, 9);
    const c = new PositionBook();
    c.load(saved);
    const st = c.snapshot(() => 100, at(1, 4));
    expect(st.totalPnl).toBeCloseTo(23, 9);
    expect(st.dailyPnl).toBeCloseTo(3, 9);
  });
});

describe('pos.current in the reporting currency', () => {
  it('the position service publishes totals converted at the mids of the market data', async () => {
    const { InProcessBus } = await import('../../src/bus/in-process-bus.js');
    const { PositionService, valuationFromSnapshots } = await import('../../src/positions/service.js');
    const { SnapshotStore } = await import('../../src/execution/types.js');
    const { PortfolioStateSchema, subjects } = await import('../../src/contracts/index.js');
    const { fromBinary } = await import('@bufbuild/protobuf');
    const bus = new InProcessBus();
    const store = new SnapshotStore();
    store.update('kraken', 'BTC-USD', 59_990, 60_010, 1, 1, 1n); // mid 60 000
    store.update('binance', 'BTC-USDT', 60_110, 60_130, 1, 1, 1n); // mid 60 120
    const book = new PositionBook();
    book.applyFill('binance', 'BTC-USDT', Side.BUY, 1, 60_000, 0, at(0, 1)); // +120 USDT unrealized
    book.applyFill('kraken', 'BTC-USD', Side.BUY, 1, 59_900, 0, at(0, 1)); // +100 USD unrealized
    const mid = (v: string, s: string) => {
      const q = store.get(v, s);
      return q ? (q.bid + q.ask) / 2 : undefined;
    };
    const got: Array<ReturnType<typeof fromBinary<typeof PortfolioStateSchema>>> = [];
    bus.subscribe(subjects.posCurrent('live'), (m) => void got.push(fromBinary(PortfolioStateSchema, m.data)));
    const svc = new PositionService(bus, {
      book,
      namespace: 'live',
      clock: systemClock,
      mark: mid,
      valuation: valuationFromSnapshots(store, 'USD'),
    });
    svc.publish();
    await new Promise((r) => setTimeout(r, 10)); // the in-process bus delivers asynchronously
    expect(got).toHaveLength(1);
    expect(got[0]!.reportingCurrency).toBe('USD');
    expect(got[0]!.totalPnl).toBeCloseTo(100 + 120 * (60_000 / 60_120), 6);
    // USDT as the reporting currency: the USD leg converts the other way.
    const usdt = new PositionService(bus, {
      book,
      namespace: 'live',
      clock: systemClock,
      mark: mid,
      valuation: valuationFromSnapshots(store, 'USDT'),
    });
    usdt.publish();
    await new Promise((r) => setTimeout(r, 10));
    expect(got[1]!.totalPnl).toBeCloseTo(120 + 100 * (60_120 / 60_000), 6);
  });
});
