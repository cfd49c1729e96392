import { describe, expect, it } from 'vitest';
import { OrderRateLimiter } from '../../src/execution/rate-limit.js';

const S = 1_000_000_000n;

describe('order rate limiter', () => {
  it('allows one second of orders at once, then refills continuously', () => {
    const rl = new OrderRateLimiter({ ordersPerSecond: 4 }, 0n);
    for (let i = 0; i < 4; i++) expect(rl.tryTake('binance', 0n)).toBeNull();
    expect(rl.tryTake('binance', 0n)).toBe('order rate limit 4/s');
    expect(rl.tryTake('binance', S / 4n)).toBeNull(); // 250 ms: one token back
    expect(rl.tryTake('binance', S / 4n)).not.toBeNull();
    for (let i = 0; i < 4; i++) expect(rl.tryTake('okx', 10n * S)).toBeNull(); // capped at 4, not 40
    expect(rl.tryTake('okx', 10n * S)).not.toBeNull();
  });

  it('a venue at its own limit does not spend the global budget', () => {
    const rl = new OrderRateLimiter({ ordersPerSecond: 3, perVenue: { kraken: 1 } }, 0n);
    expect(rl.tryTake('kraken', 0n)).toBeNull();
    expect(rl.tryTake('kraken', 0n)).toBe('kraken order rate limit 1/s');
    expect(rl.tryTake('kraken', 0n)).toBe('kraken order rate limit 1/s');
    expect(rl.tryTake('binance', 0n)).toBeNull();
    expect(rl.tryTake('binance', 0n)).toBeNull();
    expect(rl.tryTake('binance', 0n)).toBe('order rate limit 3/s');
  });

  it('refuses a limit that is not positive', () => {
    expect(() => new OrderRateLimiter({ ordersPerSecond: 0 }, 0n)).toThrow(RangeError);
    expect(() => new OrderRateLimiter({ ordersPerSecond: 5, perVenue: { okx: -1 } }, 0n)).toThrow(/okx/);
  });
});
