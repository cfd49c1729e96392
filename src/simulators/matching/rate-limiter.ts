import type { Clock } from '../../clock/clock.js';

/**
 * Fixed-window order-rate limiter, the model the three venues publish (Binance ORDERS per 10 s,
 * OKX 60 orders per 2 s per instrument, Kraken a decaying counter approximated by a window).
 */
export class RateLimiter {
  private windowStart = 0;
  private count = 0;
  constructor(
    /** Max requests per window; 0 disables. */
    public limit: number,
    public windowMs: number,
    private readonly clock: Clock,
  ) {}

  /** Count one request; false when it exceeds the window's budget (and is not counted). */
  tryTake(): boolean {
    if (this.limit <= 0) return true;
    const now = Number(this.clock.nowNs() / 1_000_000n);
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.count = 0;
    }
    if (this.count >= this.limit) return false;
    this.count++;
    return true;
  }

  get used(): number {
    return this.count;
  }
}
