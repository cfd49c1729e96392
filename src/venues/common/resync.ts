/**
 * Per-symbol resync pacing: a book that keeps failing integrity checks must not turn into a snapshot
 * storm (REST weight, subscribe rate limits). The first resync goes almost at once; repeated ones
 * back off with jitter inside a per-minute budget.
 */
import type { Clock } from '../../clock/clock.js';
import { Backoff } from './backoff.js';

export class ResyncScheduler {
  private readonly backoffs = new Map<string, Backoff>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly clock: Clock,
    private readonly run: (symbol: string) => void,
    private readonly policy = { initialMs: 50, maxMs: 10_000, multiplier: 2, maxAttemptsPerWindow: 30, windowMs: 60_000 },
  ) {}

  private nowMs(): number {
    return Number(this.clock.nowNs() / 1_000_000n);
  }

  /** Schedules a resync of `symbol` unless one is already pending. */
  request(symbol: string): void {
    if (this.timers.has(symbol)) return;
    let b = this.backoffs.get(symbol);
    if (!b) this.backoffs.set(symbol, (b = new Backoff(this.policy)));
    const delay = b.nextDelayMs(this.nowMs());
    const t = setTimeout(() => {
      this.timers.delete(symbol);
      b.record(this.nowMs());
      this.run(symbol);
    }, delay);
    this.timers.set(symbol, t);
  }

  isPending(symbol: string): boolean {
    return this.timers.has(symbol);
  }

  /** The book proved good for a while: later failures start from the short delay again. */
  succeeded(symbol: string): void {
    this.backoffs.get(symbol)?.reset();
  }

  cancelAll(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
