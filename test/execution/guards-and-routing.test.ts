import { describe, expect, it } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { RejectReason, Side, SymbolSpecSchema, VenueSpecSchema, classify } from '../../src/contracts/index.js';
import { CORRECTED_LOT, CORRECTED_MAX, CORRECTED_PRICE, PrecisionGuard, wholeSteps } from '../../src/execution/precision.js';
import { SmartOrderRouter } from '../../src/execution/router.js';
import { SnapshotStore } from '../../src/execution/types.js';

const spec = (venue: string, takerFee: number, policy = 'production') =>
  create(VenueSpecSchema, {
    venue,
    venuePolicy: policy,
    hasPrivateWs: true,
    symbols: [
      create(SymbolSpecSchema, {
        symbol: 'ETH-USDT',
        minTick: 0.05,
        minLot: 0.01,
        lotStep: 0.01,
        maxOrderSize: 5,
        priceBandBps: 200,
        takerFee,
      }),
    ],
  });

const NOW = 10_000_000_000n;

function setup() {
  const market = new SnapshotStore();
  market.update('binance', 'ETH-USDT', 2000, 2000.5, 3, 3, NOW);
  market.update('okx', 'ETH-USDT', 1999.8, 2000.2, 2, 2, NOW);
  market.update('kraken', 'ETH-USDT', 1999, 2001, 10, 10, NOW);
  const guard = new PrecisionGuard([spec('binance', 0.001), spec('okx', 0.0008), spec('kraken', 0.0026, 'shadow_only')], 500_000_000n, 10);
  return { market, guard, router: new SmartOrderRouter(guard, market) };
}

describe('precision and slippage guards', () => {
  it('rounds BUY limits down and SELL limits up to the tick, floors size to the step, clips to max size', () => {
    const { guard, market } = setup();
    const buy = guard.check('binance', 'ETH-USDT', Side.BUY, 7.237, 2000.25, 10, market.get('binance', 'ETH-USDT'), NOW, false);
    expect(buy.ok).toBe(true);
    expect(buy.price).toBe(2002.25); // 2000.25 × 1.001 = 2002.250…→ tick 0.05 down
    expect(buy.size).toBe(5);
    expect(buy.corrections & CORRECTED_MAX).toBeTruthy();
    const sell = guard.check('binance', 'ETH-USDT', Side.SELL, 1.239, 2000.27, 10, market.get('binance', 'ETH-USDT'), NOW, false);
    expect(sell.price).toBe(1998.3); // 2000.27 × 0.999 = 1998.2697 → up to 1998.30
    expect(sell.size).toBe(1.23);
    expect(sell.corrections & (CORRECTED_LOT | CORRECTED_PRICE)).toBe(CORRECTED_LOT | CORRECTED_PRICE);
  });

  it('keeps a size that is a whole number of 1e-8 lot steps (OKX/Kraken BTC) exact, never one step short', () => {
    // 0.2532 / 1e-8 is 25319999.999999996 in binary: a fixed epsilon floored it to 0.25319999, an
    // order size the signal never asked for (a venue with a coarser step refuses it outright).
    const fine = create(VenueSpecSchema, {
      venue: 'okx',
      venuePolicy: 'production',
      hasPrivateWs: true,
      symbols: [
        create(SymbolSpecSchema, {
          symbol: 'BTC-USDT',
          minTick: 0.1,
          minLot: 0.00001,
          lotStep: 0.00000001,
          maxOrderSize: 1000,
          priceBandBps: 500,
        }),
      ],
    });
    const guard = new PrecisionGuard([fine], 500_000_000n, 10);
    const market = new SnapshotStore();
    market.update('okx', 'BTC-USDT', 100, 100.1, 1e6, 1e6, NOW);
    for (let n = 0; n < 5000; n++) {
      const size = (10 + n) / 10_000;
      const r = guard.check(
        'okx',
        'BTC-USDT',
        n % 3 === 0 ? Side.SELL : Side.BUY,
        size,
        100.05,
        50,
        market.get('okx', 'BTC-USDT'),
        NOW,
        false,
      );
      expect(r.ok, `${size}`).toBe(true);
      expect(r.size, `${size}`).toBe(size);
      expect(r.corrections & CORRECTED_LOT, `${size}`).toBe(0);
    }
    expect(wholeSteps(0.2532, 1e-8)).toBe(25_320_000);
    expect(wholeSteps(0.25319999, 1e-8)).toBe(25_319_999);
    expect(wholeSteps(1.239, 0.01)).toBe(123);
    expect(wholeSteps(1998.2697, 0.05, true)).toBe(39_966);
  });

  it('classifies each refusal with the taxonomy', () => {
    const { guard, market } = setup();
    const snap = market.get('binance', 'ETH-USDT');
    const cases: Array<[RejectReason, ReturnType<PrecisionGuard['check']>]> = [];
    const r = (reason: RejectReason, res: ReturnType<PrecisionGuard['check']>) => cases.push([reason, { ...res }]);
    r(RejectReason.INVALID_SYMBOL, guard.check('binance', 'XRP-USDT', Side.BUY, 1, 0, 10, snap, NOW, false));
    r(RejectReason.VENUE_POLICY, guard.check('kraken', 'ETH-USDT', Side.BUY, 1, 0, 10, market.get('kraken', 'ETH-USDT'), NOW, false));
    r(RejectReason.STALE_SNAPSHOT, guard.check('binance', 'ETH-USDT', Side.BUY, 1, 0, 10, snap, NOW + 600_000_000n, false));
    r(RejectReason.STALE_SNAPSHOT, guard.check('binance', 'ETH-USDT', Side.BUY, 1, 0, 10, undefined, NOW, false));
    r(RejectReason.MIN_SIZE, guard.check('binance', 'ETH-USDT', Side.BUY, 0.009, 0, 10, snap, NOW, false));
    r(RejectReason.SLIPPAGE, guard.check('binance', 'ETH-USDT', Side.BUY, 1, 1990, 10, snap, NOW, false));
    r(RejectReason.PRICE_BANDS, guard.check('binance', 'ETH-USDT', Side.BUY, 1, 2000.25, 500, snap, NOW, false));
    for (const [reason, res] of cases) {
      expect(res.ok).toBe(false);
      expect(res.reason).toBe(reason);
      expect(classify(res.reason).autoCorrectable).toBe(false);
    }
    expect(guard.check('kraken', 'ETH-USDT', Side.BUY, 1, 0, 30, market.get('kraken', 'ETH-USDT'), NOW, true).ok).toBe(true); // shadow may use it
  });
});

describe('smart order router', () => {
  it('fills the best net-of-fee venue up to its displayed size, then the next', () => {
    const { router, guard } = setup();
    const venues = guard.venuesFor('ETH-USDT');
    const buy = router.route('ETH-USDT', Side.BUY, 4, venues, (v) => v !== 'kraken');
    // okx ask 2000.2 × 1.0008 = 2001.80 beats binance 2000.5 × 1.001 = 2002.50; okx shows 2.
    expect(buy).toEqual([
      { venue: 'okx', size: 2 },
      { venue: 'binance', size: 2 },
    ]);
    const sell = router.route('ETH-USDT', Side.SELL, 1, venues, (v) => v !== 'kraken');
    // okx bid 1999.8 × 0.9992 = 1998.20 beats binance 2000 × 0.999 = 1998.00.
    expect(sell[0]!.venue).toBe('okx');
  });

  it('sends what displayed liquidity cannot absorb to the best venue; skips ineligible venues', () => {
    const { router, guard } = setup();
    const r = router.route('ETH-USDT', Side.BUY, 7, guard.venuesFor('ETH-USDT'), (v) => v !== 'kraken');
    expect(r).toEqual([
      { venue: 'okx', size: 4 },
      { venue: 'binance', size: 3 },
    ]);
    expect(router.route('ETH-USDT', Side.BUY, 1, guard.venuesFor('ETH-USDT'), () => false)).toEqual([]);
  });
});
