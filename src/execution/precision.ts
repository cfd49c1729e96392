/**
 * Precision & slippage guards (SPEC §16) from reference-data venue specs.
 *
 * Auto-corrected (the order goes out corrected; the correction is counted): price rounded to the
 * tick (BUY down, SELL up: never worse than the cap), size floored to the lot step, size clipped to
 * the venue maximum. Refused with the taxonomy reason: unknown symbol (INVALID_SYMBOL), live order to
 * a shadow_only venue (VENUE_POLICY), no or stale snapshot (STALE_SNAPSHOT), below the minimum lot
 * after flooring (MIN_SIZE), limit outside the venue band around mid (PRICE_BANDS), touch price
 * already beyond the signal's slippage cap (SLIPPAGE).
 *
 * The guard writes into one reused result object: no allocation per order on the accept path.
 */
import { RejectReason, Side, type SymbolSpec, type VenueSpec } from '../contracts/index.js';
import type { MarketSnapshot } from './types.js';

/**
 * Whole steps in `value` (floor, or ceil for `up`), tolerating the binary error of the division: a
 * value that is a whole number of steps counts as exactly that many. The tolerance grows with the
 * step count because a fixed one falls below one ULP for large counts: 0.2532 / 1e-8 is
 * 25319999.999999996, and floor(+1e-9) sent 0.25319999 BTC to OKX for a 0.2532 BTC signal.
 */
export function wholeSteps(value: number, step: number, up = false): number {
  const n = value / step;
  const nearest = Math.round(n);
  if (Math.abs(n - nearest) <= Math.max(1e-9, Math.abs(n) * 1e-12)) return nearest;
  return up ? Math.ceil(n) : Math.floor(n);
}

export interface PrecisionEntry {
  venue: string;
  symbol: string;
  tick: number;
  tickScale: number;
  lotStep: number;
  lotScale: number;
  minLot: number;
  maxSize: number;
  /** Price band as a fraction of mid: the one conversion from the reference data's basis points. */
  bandFraction: number;
  takerFee: number;
  makerFee: number;
  shadowOnly: boolean;
  spec: SymbolSpec;
}

export interface GuardResult {
  ok: boolean;
  reason: RejectReason;
  detail: string;
  price: number;
  size: number;
  /** Bit set of corrections applied: 1 price rounded, 2 size floored, 4 size clipped. */
  corrections: number;
}

export const CORRECTED_PRICE = 1;
export const CORRECTED_LOT = 2;
export const CORRECTED_MAX = 4;

function decimals(step: number): number {
  if (!(step > 0)) return 0;
  let d = 0;
  while (d < 15 && Math.abs(Math.round(step * 10 ** d) - step * 10 ** d) > 1e-9) d++;
  return d;
}

export class PrecisionGuard {
  /** venue → symbol → entry: two Map lookups, no key string built per order. */
  private readonly entries = new Map<string, Map<string, PrecisionEntry>>();
  /** Venues listing each symbol, built lazily (hot path: no scan or allocation per signal). */
  private readonly bySymbol = new Map<string, string[]>();
  readonly result: GuardResult = { ok: true, reason: RejectReason.UNKNOWN, detail: '', price: 0, size: 0, corrections: 0 };

  constructor(
    specs: readonly VenueSpec[],
    private readonly staleNs: bigint,
    private readonly defaultSlippageBps: number,
  ) {
    for (const v of specs) this.setVenue(v);
  }

  /** Replace one venue's specs (reference-data reload). */
  setVenue(v: VenueSpec): void {
    this.bySymbol.clear();
    const m = new Map<string, PrecisionEntry>();
    this.entries.set(v.venue, m);
    for (const s of v.symbols) {
      m.set(s.symbol, {
        venue: v.venue,
        symbol: s.symbol,
        tick: s.minTick,
        tickScale: 10 ** decimals(s.minTick),
        lotStep: s.lotStep > 0 ? s.lotStep : s.minLot,
        lotScale: 10 ** decimals(s.lotStep > 0 ? s.lotStep : s.minLot),
        minLot: s.minLot,
        maxSize: s.maxOrderSize,
        bandFraction: s.priceBandBps / 1e4,
        takerFee: s.takerFee,
        makerFee: s.makerFee,
        shadowOnly: v.venuePolicy === 'shadow_only',
        spec: s,
      });
    }
  }

  entry(venue: string, symbol: string): PrecisionEntry | undefined {
    return this.entries.get(venue)?.get(symbol);
  }

  venuesFor(symbol: string): readonly string[] {
    let out = this.bySymbol.get(symbol);
    if (!out) {
      out = [];
      for (const [venue, m] of this.entries) if (m.has(symbol)) out.push(venue);
      // Unknown symbols are not cached: bad input must not grow memory.
      if (out.length > 0) this.bySymbol.set(symbol, out);
    }
    return out;
  }

  /**
   * Check and correct one order. `refPrice` is the signal's decision price (0 → snapshot mid);
   * the limit is ref ± slippage cap, so the venue can never fill beyond the cap.
   */
  check(
    venue: string,
    symbol: string,
    side: Side,
    size: number,
    refPrice: number,
    maxSlippageBps: number,
    snap: MarketSnapshot | undefined,
    nowNs: bigint,
    shadow: boolean,
    /** GTC: a limit that does not reach the touch rests instead of being refused for slippage. */
    restingAllowed = false,
  ): GuardResult {
    const r = this.result;
    r.ok = false;
    r.corrections = 0;
    r.detail = '';
    const e = this.entries.get(venue)?.get(symbol);
    if (!e) return this.reject(RejectReason.INVALID_SYMBOL, `${symbol} not listed on ${venue}`);
    if (e.shadowOnly && !shadow) return this.reject(RejectReason.VENUE_POLICY, `${venue} is shadow_only`);
    if (!snap || !(snap.bid > 0) || !(snap.ask > 0)) return this.reject(RejectReason.STALE_SNAPSHOT, `no book for ${venue} ${symbol}`);
    if (nowNs - snap.tsNs > this.staleNs) return this.reject(RejectReason.STALE_SNAPSHOT, `snapshot ${venue} ${symbol} too old`);
    const mid = (snap.bid + snap.ask) / 2;
    const ref = refPrice > 0 ? refPrice : mid;
    const capBps = maxSlippageBps > 0 ? maxSlippageBps : this.defaultSlippageBps;
    const touch = side === Side.BUY ? snap.ask : snap.bid;
    const slipBps = side === Side.BUY ? ((touch - ref) / ref) * 1e4 : ((ref - touch) / ref) * 1e4;
    if (slipBps > capBps && !restingAllowed)
      return this.reject(RejectReason.SLIPPAGE, `touch ${touch} is ${slipBps.toFixed(1)} bps from ref ${ref}, cap ${capBps}`);

    // Limit at the cap, rounded to the tick toward the safe side.
    const raw = side === Side.BUY ? ref * (1 + capBps / 1e4) : ref * (1 - capBps / 1e4);
    let price = raw;
    if (e.tick > 0) {
      const k = wholeSteps(raw, e.tick, side !== Side.BUY);
      price = Math.round(k * e.tick * e.tickScale) / e.tickScale;
      if (price !== raw) r.corrections |= CORRECTED_PRICE;
    }
    if (e.bandFraction > 0 && Math.abs(price - mid) / mid > e.bandFraction) {
      return this.reject(RejectReason.PRICE_BANDS, `limit ${price} outside ${e.bandFraction * 1e4} bps band around ${mid}`);
    }

    let qty = size;
    if (e.maxSize > 0 && qty > e.maxSize) {
      qty = e.maxSize;
      r.corrections |= CORRECTED_MAX;
    }
    if (e.lotStep > 0) {
      const floored = Math.round(wholeSteps(qty, e.lotStep) * e.lotStep * e.lotScale) / e.lotScale;
      if (floored !== qty) r.corrections |= CORRECTED_LOT;
      qty = floored;
    }
    if (!(qty > 0) || qty < e.minLot - 1e-12) return this.reject(RejectReason.MIN_SIZE, `size ${size} → ${qty} below min lot ${e.minLot}`);
    r.ok = true;
    r.reason = RejectReason.UNKNOWN;
    r.price = price;
    r.size = qty;
    return r;
  }

  private reject(reason: RejectReason, detail: string): GuardResult {
    const r = this.result;
    r.ok = false;
    r.reason = reason;
    r.detail = detail;
    return r;
  }
}
