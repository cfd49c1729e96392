import { describe, expect, it } from 'vitest';
import {
  EngineReject,
  MatchingEngine,
  type EngineMode,
  type ExecEvent,
  type SymbolRules,
} from '../../../src/simulators/matching/engine.js';
import { RateLimiter } from '../../../src/simulators/matching/rate-limiter.js';
import { BinanceReplayFeeder } from '../../../src/simulators/matching/replay-feed.js';

const BTC: SymbolRules = {
  symbol: 'BTC-USDT',
  base: 'BTC',
  quote: 'USDT',
  tickSize: 0.01,
  lotStep: 0.00001,
  minQty: 0.0001,
  maxQty: 100,
  priceBandBps: 500,
  makerFee: 0.0008,
  takerFee: 0.001,
};

function engine(mode: EngineMode, usdt = 1_000_000, btc = 10): { e: MatchingEngine; events: ExecEvent[] } {
  let t = 0;
  const e = new MatchingEngine({
    mode,
    symbols: [BTC],
    balances: { a: { USDT: usdt, BTC: btc } },
    clock: { nowNs: () => BigInt(++t) * 1_000_000n },
  });
  const events: ExecEvent[] = [];
  e.onEvent((ev) => events.push(ev));
  e.onBook(
    'BTC-USDT',
    [
      [99, 2],
      [98, 5],
    ],
    [
      [101, 1],
      [102, 3],
      [103, 10],
    ],
  );
  return { e, events };
}

const fills = (events: ExecEvent[]): Array<[number, number]> =>
  events.flatMap((ev) => (ev.kind === 'fill' ? [[ev.fill.qty, ev.fill.price] as [number, number]] : []));

describe('matching engine', () => {
  it('paper mode fills a marketable order entirely at the touch', () => {
    const { e, events } = engine('paper');
    const o = e.submit('a', { clientId: 'c1', symbol: 'BTC-USDT', side: 'buy', type: 'limit', tif: 'GTC', qty: 3, price: 103 });
    expect(o.state).toBe('filled');
    expect(fills(events)).toEqual([[3, 101]]);
  });

  it('realistic mode walks the depth (impact) and consumes it until the next book', () => {
    const { e, events } = engine('realistic');
    const o = e.submit('a', { clientId: 'c1', symbol: 'BTC-USDT', side: 'buy', type: 'market', tif: 'IOC', qty: 3, price: 0 });
    expect(fills(events)).toEqual([
      [1, 101],
      [2, 102],
    ]);
    expect(o.cost / o.filled).toBeCloseTo((101 + 2 * 102) / 3, 9);
    // Liquidity taken stays taken: the next buyer starts at the remaining 1 @ 102.
    const events2: ExecEvent[] = [];
    e.onEvent((ev) => events2.push(ev));
    e.submit('a', { clientId: 'c2', symbol: 'BTC-USDT', side: 'buy', type: 'market', tif: 'IOC', qty: 2, price: 0 });
    expect(fills(events2)).toEqual([
      [1, 102],
      [1, 103],
    ]);
  });

  it('IOC partially fills and expires the rest; FOK expires untouched when depth is short', () => {
    const { e, events } = engine('realistic');
    const ioc = e.submit('a', { clientId: 'i', symbol: 'BTC-USDT', side: 'buy', type: 'limit', tif: 'IOC', qty: 2, price: 101 });
    expect(ioc.state).toBe('expired');
    expect(ioc.filled).toBe(1);
    events.length = 0;
    const fok = e.submit('a', { clientId: 'f', symbol: 'BTC-USDT', side: 'buy', type: 'limit', tif: 'FOK', qty: 5, price: 102 });
    expect(fok.state).toBe('expired');
    expect(fok.filled).toBe(0);
    expect(fills(events)).toEqual([]);
  });

  it('realistic resting order waits for the queue ahead, then fills from prints; paper fills at touch', () => {
    const { e, events } = engine('realistic');
    const o = e.submit('a', { clientId: 'q', symbol: 'BTC-USDT', side: 'buy', type: 'limit', tif: 'GTC', qty: 1, price: 99 });
    expect(o.queueAhead).toBe(2);
    e.onTrade('BTC-USDT', 99, 1.5, 'sell');
    expect(fills(events)).toEqual([]);
    expect(o.queueAhead).toBe(0.5);
    // Cancellations ahead shrink the level: queue can only move forward.
    e.onBook(
      'BTC-USDT',
      [
        [99, 0.3],
        [98, 5],
      ],
      [[101, 1]],
    );
    expect(o.queueAhead).toBe(0.3);
    e.onTrade('BTC-USDT', 99, 0.7, 'sell');
    expect(fills(events)).toEqual([[0.4, 99]]);
    expect(o.state).toBe('partially_filled');
    // Trading through the price fills the rest.
    e.onTrade('BTC-USDT', 98.5, 0.1, 'sell');
    expect(o.state).toBe('filled');
    expect(events.filter((x) => x.kind === 'fill').every((x) => x.kind === 'fill' && x.fill.liquidity === 'maker')).toBe(true);

    const p = engine('paper');
    const po = p.e.submit('a', { clientId: 'q', symbol: 'BTC-USDT', side: 'buy', type: 'limit', tif: 'GTC', qty: 1, price: 99 });
    p.e.onTrade('BTC-USDT', 99, 0.01, 'sell');
    expect(po.state).toBe('filled');
  });

  it.each([
    ['UNKNOWN_SYMBOL', { symbol: 'X-Y' }],
    ['MIN_SIZE', { qty: 0.00005 }],
    ['MAX_SIZE', { qty: 101 }],
    ['SIZE_PRECISION', { qty: 1.000015 }],
    ['PRICE_PRECISION', { price: 99.005 }],
    ['PRICE_BAND', { price: 80 }],
    ['INSUFFICIENT_BALANCE', { qty: 20, side: 'sell', price: 100 }],
  ] as const)('refuses %s without changing balances', (code, o) => {
    const { e } = engine('paper');
    const before = JSON.stringify(e.balances('a'));
    expect(() =>
      e.submit('a', { clientId: 'r', symbol: 'BTC-USDT', side: 'buy', type: 'limit', tif: 'GTC', qty: 1, price: 99, ...o }),
    ).toThrow(expect.objectContaining({ code }) as EngineReject);
    expect(JSON.stringify(e.balances('a'))).toBe(before);
  });

  it('locks funds for resting orders, charges fees and releases on cancel', () => {
    const { e } = engine('paper', 1000, 0);
    e.submit('a', { clientId: 'b', symbol: 'BTC-USDT', side: 'buy', type: 'limit', tif: 'GTC', qty: 6, price: 99 });
    expect(e.balances('a').USDT!.locked).toBeCloseTo(6 * 99 * 1.001, 6);
    expect(() => e.submit('a', { clientId: 'b2', symbol: 'BTC-USDT', side: 'buy', type: 'limit', tif: 'GTC', qty: 6, price: 99 })).toThrow(
      expect.objectContaining({ code: 'INSUFFICIENT_BALANCE' }) as EngineReject,
    );
    e.cancel('a', { clientId: 'b' });
    expect(e.balances('a').USDT).toEqual({ free: 1000, locked: 0 });
    const o = e.submit('a', { clientId: 'b3', symbol: 'BTC-USDT', side: 'buy', type: 'limit', tif: 'GTC', qty: 1, price: 101 });
    expect(o.fee).toBeCloseTo(101 * 0.001, 9);
    expect(e.balances('a').USDT!.free).toBeCloseTo(1000 - 101 - 0.101, 6);
    expect(e.balances('a').BTC!.free).toBe(1);
  });

  it('duplicate client id among open orders is refused; reuse after close is allowed', () => {
    const { e } = engine('paper');
    e.submit('a', { clientId: 'd', symbol: 'BTC-USDT', side: 'buy', type: 'limit', tif: 'GTC', qty: 1, price: 99 });
    expect(() => e.submit('a', { clientId: 'd', symbol: 'BTC-USDT', side: 'buy', type: 'limit', tif: 'GTC', qty: 1, price: 98 })).toThrow(
      expect.objectContaining({ code: 'DUPLICATE_CLIENT_ID' }) as EngineReject,
    );
    e.cancel('a', { clientId: 'd' });
    expect(e.submit('a', { clientId: 'd', symbol: 'BTC-USDT', side: 'buy', type: 'limit', tif: 'GTC', qty: 1, price: 98 }).state).toBe(
      'new',
    );
  });

  it('amend: a size decrease keeps queue priority, a price change loses it', () => {
    const { e } = engine('realistic');
    const o = e.submit('a', { clientId: 'm', symbol: 'BTC-USDT', side: 'buy', type: 'limit', tif: 'GTC', qty: 1, price: 99 });
    e.onTrade('BTC-USDT', 99, 1, 'sell');
    expect(o.queueAhead).toBe(1);
    e.amend('a', { clientId: 'm' }, 0.5, 0);
    expect(o.queueAhead).toBe(1);
    e.amend('a', { clientId: 'm' }, 0, 98);
    expect(o.queueAhead).toBe(5);
    expect(() => e.amend('a', { clientId: 'nope' }, 1, 1)).toThrow(expect.objectContaining({ code: 'UNKNOWN_ORDER' }) as EngineReject);
  });

  it('replays the real Binance capture deterministically; realistic never fills more than paper', async () => {
    async function run(mode: EngineMode): Promise<string[]> {
      let t = 0;
      const e = new MatchingEngine({
        mode,
        symbols: [BTC],
        balances: { a: { USDT: 1_000_000, BTC: 10 } },
        clock: { nowNs: () => BigInt(++t) * 1_000_000n },
      });
      const events: ExecEvent[] = [];
      e.onEvent((ev) => events.push(ev));
      const feeder = new BinanceReplayFeeder({ book: (s, b, a) => e.onBook(s, b, a), trade: (s, p, q, ag) => e.onTrade(s, p, q, ag) });
      // Sync on the capture's snapshot, then place one bid a tick under the touch and one at touch.
      let placed = false;
      let n = 0;
      const { binanceCapture } = await import('../../../src/simulators/recordings.js');
      for await (const r of binanceCapture()) {
        feeder.onRecord(r);
        if (!placed && e.bestBid('BTC-USDT') !== undefined) {
          const bid = e.bestBid('BTC-USDT')!;
          e.submit('a', { clientId: 'touch', symbol: 'BTC-USDT', side: 'buy', type: 'limit', tif: 'GTC', qty: 0.5, price: bid });
          e.submit('a', {
            clientId: 'under',
            symbol: 'BTC-USDT',
            side: 'buy',
            type: 'limit',
            tif: 'GTC',
            qty: 0.5,
            price: Math.round((bid - 5) * 100) / 100,
          });
          placed = true;
        }
        if (++n === 20_000) break;
      }
      expect(placed).toBe(true);
      return events.map((ev) => `${ev.kind}:${ev.order.clientId}:${ev.kind === 'fill' ? `${ev.fill.qty}@${ev.fill.price}` : ''}`);
    }
    const paper = await run('paper');
    const real = await run('realistic');
    expect(await run('realistic')).toEqual(real);
    const filled = (evs: string[]): number =>
      evs.filter((x) => x.startsWith('fill')).reduce((s, x) => s + Number(x.split(':')[2]!.split('@')[0]), 0);
    expect(filled(paper)).toBeGreaterThan(0);
    expect(filled(real)).toBeLessThanOrEqual(filled(paper) + 1e-9);
  });
});

describe('rate limiter', () => {
  it('allows `limit` per window and resets with the next window', () => {
    let now = 0;
    const rl = new RateLimiter(2, 1000, { nowNs: () => BigInt(now) * 1_000_000n });
    expect([rl.tryTake(), rl.tryTake(), rl.tryTake()]).toEqual([true, true, false]);
    now = 1000;
    expect(rl.tryTake()).toBe(true);
  });
});
