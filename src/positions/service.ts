/**
 * Positions & PnL service: publishes PortfolioState on pos.current (per-venue rows plus netted rows
 * with venue "*") and on pos.pnl, throttled, whenever the book changed, and at least every
 * `heartbeatMs`. It either shares the executor's book (same process) or builds its own from
 * ord.ack.* (separate process), applying cumulative fills once per client id.
 */
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { OrderAckSchema, PortfolioStateSchema, patterns, subjects, type Namespace, type OrderAck } from '../contracts/index.js';
import type { Bus, Subscription } from '../bus/bus.js';
import type { Clock } from '../clock/clock.js';
import { systemScheduler, type Scheduler, type TimerHandle } from '../clock/scheduler.js';
import { feeDelta } from '../execution/order.js';
import type { SnapshotStore } from '../execution/types.js';
import { PositionBook, ratesFromMids, type MarkFn, type Valuation } from './book.js';

/** Totals in `currency`, quotes converted at the current mids of every stream in the store. */
export function valuationFromSnapshots(store: SnapshotStore, currency: string): Valuation {
  return {
    currency,
    rate: (quote) => {
      const mids = [...store.entries()].map(({ symbol, snapshot: s }) => ({ symbol, mid: (s.bid + s.ask) / 2 }));
      return ratesFromMids(currency, mids)(quote);
    },
  };
}

export interface PositionServiceOptions {
  /** Use this book (the executor's); without it, one is built from ord.ack.*. */
  book?: PositionBook;
  mark?: MarkFn;
  /** Reporting currency of the totals and the conversion of each quote into it. */
  valuation?: Valuation;
  throttleMs?: number;
  heartbeatMs?: number;
  namespace: Namespace;
  /** Stamps PortfolioState and paces the heartbeat. */
  clock: Clock;
  /** Publication timer on the same time base as `clock`. Default: systemScheduler. */
  scheduler?: Scheduler;
}

export class PositionService {
  readonly book: PositionBook;
  private readonly seen = new Map<string, { filled: number; notional: number; fees: number }>();
  private sub: Subscription | undefined;
  private timer: TimerHandle | undefined;
  private dirty = true;
  private lastPublishNs = 0n;

  constructor(
    private readonly bus: Bus,
    private readonly opts: PositionServiceOptions,
  ) {
    this.book = opts.book ?? new PositionBook();
  }

  start(): void {
    const ns = this.opts.namespace;
    if (!this.opts.book) {
      this.sub = this.bus.subscribe(patterns.orderAcksAll(ns), (m) => {
        try {
          this.onAck(fromBinary(OrderAckSchema, m.data));
        } catch {
          // malformed ack: the executor counts these; positions skip them
        }
      });
    }
    const tick = Math.min(this.opts.throttleMs ?? 100, this.opts.heartbeatMs ?? 1000);
    this.timer = (this.opts.scheduler ?? systemScheduler).every(
      tick,
      () => {
        const now = this.opts.clock.nowNs();
        if (this.dirty || now - this.lastPublishNs >= BigInt(Math.round((this.opts.heartbeatMs ?? 1000) * 1e6))) this.publish();
      },
      { unref: true },
    );
  }

  stop(): void {
    this.sub?.unsubscribe();
    this.timer?.cancel();
  }

  markDirty(): void {
    this.dirty = true;
  }

  /** Apply a venue update: only the cumulative fill beyond what was seen for this client id counts. */
  onAck(ack: OrderAck): void {
    const prev = this.seen.get(ack.clientId) ?? { filled: 0, notional: 0, fees: 0 };
    if (!(ack.filledQty > prev.filled + 1e-12)) return;
    const notional = ack.filledQty * (ack.avgPrice > 0 ? ack.avgPrice : ack.lastFillPrice);
    const qty = ack.filledQty - prev.filled;
    const price = (notional - prev.notional) / qty;
    const fee = feeDelta(ack, qty, prev.fees);
    this.book.applyFill(ack.venue, ack.symbol, ack.side, qty, price, fee, ack.tsNs);
    this.seen.set(ack.clientId, { filled: ack.filledQty, notional, fees: prev.fees + fee });
    this.dirty = true;
  }

  publish(): void {
    const tsNs = this.opts.clock.nowNs();
    const st = this.book.snapshot(this.opts.mark, tsNs, true, this.opts.valuation);
    const ns = this.opts.namespace;
    try {
      const bytes = toBinary(PortfolioStateSchema, st);
      this.bus.publish(subjects.posCurrent(ns), bytes);
      this.bus.publish(subjects.posPnl(ns), bytes);
    } catch {
      return; // bus closing
    }
    this.dirty = false;
    this.lastPublishNs = this.opts.clock.nowNs();
  }
}
