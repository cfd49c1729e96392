/**
 * Reconnect pacing: exponential backoff with full jitter (spreads a fleet's reconnects so they do not
 * arrive as a storm) capped at `maxMs`, and a sliding-window budget so that, whatever the failure
 * pattern, the number of connection attempts never exceeds the venue's connection rate limit.
 */
import type { BackoffPolicy } from './adapter-types.js';

export const DEFAULT_BACKOFF: BackoffPolicy = {
  initialMs: 250,
  maxMs: 30_000,
  multiplier: 2,
  maxAttemptsPerWindow: 10,
  windowMs: 60_000,
};

export class Backoff {
  private failures = 0;
  private readonly attempts: number[] = [];
  readonly policy: BackoffPolicy;

  constructor(
    policy: Partial<BackoffPolicy> = {},
    private readonly random: () => number = Math.random,
  ) {
    this.policy = { ...DEFAULT_BACKOFF, ...policy };
    if (this.policy.initialMs < 0 || this.policy.maxMs < this.policy.initialMs || this.policy.multiplier < 1) {
      throw new RangeError('invalid backoff policy');
    }
    if (this.policy.maxAttemptsPerWindow < 1 || this.policy.windowMs <= 0) throw new RangeError('invalid attempt budget');
  }

  /** Delay before the next attempt, given the current time; call `record(now + delay)` when it happens. */
  nextDelayMs(nowMs: number): number {
    const p = this.policy;
    const cap = Math.min(p.maxMs, p.initialMs * p.multiplier ** Math.min(this.failures, 30));
    // Full jitter on every reconnect, even the first after a healthy connection: after a venue-wide
    // disconnect every client reconnects at once unless each picks a random point in the window.
    let delay = this.random() * cap;
    this.prune(nowMs);
    if (this.attempts.length >= p.maxAttemptsPerWindow) {
      const oldest = this.attempts[this.attempts.length - p.maxAttemptsPerWindow]!;
      delay = Math.max(delay, oldest + p.windowMs - nowMs + 1);
    }
    return Math.max(0, delay);
  }

  record(atMs: number): void {
    this.attempts.push(atMs);
    this.failures++;
  }

  /** A connection proved healthy: the next failure starts from the initial delay again. */
  reset(): void {
    this.failures = 0;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  private prune(nowMs: number): void {
    while (this.attempts.length > 0 && this.attempts[0]! <= nowMs - this.policy.windowMs) this.attempts.shift();
  }
}
