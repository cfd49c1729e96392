/**
 * Local order-rate limits (SPEC risk.rate_limits): a token bucket for all orders and one per venue,
 * each holding one second's worth of orders. An order takes a token from both or from neither, so
 * a venue at its limit does not eat the global budget.
 */
export interface OrderRateLimits {
  /** All venues together, orders per second. */
  ordersPerSecond: number;
  /** Per venue, orders per second; venues not listed are bounded by the global limit only. */
  perVenue?: Readonly<Record<string, number>>;
}

class Bucket {
  private tokens: number;
  private lastNs: bigint;
  constructor(
    private readonly perSecond: number,
    nowNs: bigint,
  ) {
    this.tokens = perSecond;
    this.lastNs = nowNs;
  }
  refill(nowNs: bigint): number {
    const dt = Number(nowNs - this.lastNs) / 1e9;
    if (dt > 0) {
      this.tokens = Math.min(this.perSecond, this.tokens + dt * this.perSecond);
      this.lastNs = nowNs;
    }
    return this.tokens;
  }
  take(): void {
    this.tokens -= 1;
  }
}

export class OrderRateLimiter {
  private readonly global: Bucket;
  private readonly venues = new Map<string, Bucket>();

  constructor(
    readonly limits: OrderRateLimits,
    nowNs: bigint,
  ) {
    if (!(limits.ordersPerSecond > 0)) throw new RangeError(`ordersPerSecond must be > 0, got ${limits.ordersPerSecond}`);
    this.global = new Bucket(limits.ordersPerSecond, nowNs);
    for (const [venue, r] of Object.entries(limits.perVenue ?? {})) {
      if (!(r > 0)) throw new RangeError(`rate limit of ${venue} must be > 0, got ${r}`);
      this.venues.set(venue, new Bucket(r, nowNs));
    }
  }

  /** Take a token for one order to `venue`; null when allowed, else which limit refused it. */
  tryTake(venue: string, nowNs: bigint): string | null {
    const v = this.venues.get(venue);
    if (v && v.refill(nowNs) < 1) return `${venue} order rate limit ${this.limits.perVenue![venue]}/s`;
    if (this.global.refill(nowNs) < 1) return `order rate limit ${this.limits.ordersPerSecond}/s`;
    v?.take();
    this.global.take();
    return null;
  }
}
