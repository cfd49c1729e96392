/**
 * The send pipeline of created orders: group commit (the intents queued in a turn are written at
 * once, and go out when an fdatasync on the libuv pool covered them: the event loop keeps taking
 * signals and market data during the flush, and the intents written meanwhile share the next one),
 * the send itself (kill switch and breaker checked at the last moment),
 * the gateway's reply and the ord.ack stream (decoded, handed to the order state machine), orders
 * whose outcome is unknown (in doubt until the venue is asked), and the lazy commits of the records
 * that gate no send. A WAL that cannot be written halts trading instead of sending undurable orders.
 * The Executor keeps the order state machine and the slots; it lends them through SenderHost.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { OrderAckSchema, OrderStatus, RejectReason, headers as H, type OrderAck } from '../../contracts/index.js';
import type { Namespace } from '../../contracts/subjects.js';
import { BusTimeoutError, NoRespondersError, type Bus, type BusMessage } from '../../bus/bus.js';
import type { CircuitBreakerRegistry } from '../../circuit/breaker.js';
import type { Clock } from '../../clock/clock.js';
import type { Scheduler, TimerHandle } from '../../clock/scheduler.js';
import type { Logger } from '../../observability/logger.js';
import { OrderState, isTerminal, type OrderRecord } from '../order.js';
import type { OrderJournal } from '../wal/order-journal.js';
import { isVenueFault, requestOrder } from './send.js';

export interface SenderHost {
  readonly bus: Bus;
  readonly ns: Namespace;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly journal: OrderJournal;
  readonly breakers: CircuitBreakerRegistry;
  readonly log: Logger;
  readonly counters: { sent: number; inDoubt: number };
  inDoubtCheckMs(): number;
  isClosed(): boolean;
  isHalted(): boolean;
  /** The WAL could not be committed: trading halts (cause 'wal'). */
  haltOnWal(err: unknown): void;
  /** Local terminal outcome (not from the venue): FAILED with `reason`, slot released. */
  finishLocal(o: OrderRecord, reason: RejectReason, detail: string): void;
  /** A venue update for one order (the state machine). */
  applyAck(ack: OrderAck, wire?: Uint8Array): void;
  /** A timer on the executor's scheduler, cancelled at close. */
  later(ms: number, fn: () => void): void;
  /** Ask the venue about an order in doubt (never resend). */
  resolveInDoubt(o: OrderRecord): void;
  /** The order's request just went out. */
  onSent(o: OrderRecord): void;
}

export class OrderSender {
  private pending: OrderRecord[] = [];
  private commitScheduled = false;
  private lazyTimer: TimerHandle | undefined;
  /** Flatten and unwind orders: they go out even while the kill switch is engaged. */
  private readonly emergency = new WeakSet<OrderRecord>();
  private readonly flushFn = (): void => this.flush();

  constructor(private readonly h: SenderHost) {}

  /** An order whose WAL intent is written: it goes out after this turn's group commit. */
  queue(o: OrderRecord, emergency: boolean): void {
    this.pending.push(o);
    if (emergency) this.emergency.add(o);
    if (!this.commitScheduled) {
      this.commitScheduled = true;
      queueMicrotask(this.flushFn);
    }
  }

  /**
   * Group commit: write every intent queued in this turn, send them once an fdatasync covered them
   * (in queue order: batches are released in the order they were written). Until then the orders
   * hold their slots and the event loop runs on.
   */
  flush(): void {
    this.commitScheduled = false;
    if (!this.h.journal.hasPending && this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.h.journal.commitDurable((err) => {
      if (err) {
        this.h.haltOnWal(err);
        // Not durable → not sent: these intents provably never left.
        for (const o of batch) this.h.finishLocal(o, RejectReason.KILL_SWITCH, 'WAL unavailable: order not sent');
        return;
      }
      for (const o of batch) this.send(o);
      if (batch.length > 0) this.scheduleLazyCommit();
    });
  }

  /**
   * Stop the lazy commit timer and send what is queued (close): the final synchronous commit
   * releases every batch still waiting for its flush, so nothing durable is left unsent.
   */
  close(): void {
    this.lazyTimer?.cancel();
    this.flush();
    this.commitOrHalt();
  }

  private send(o: OrderRecord): void {
    const h = this.h;
    if (h.isHalted() && !this.emergency.has(o)) {
      // Kill switch between intent and send: the intent is durable but provably never left.
      h.finishLocal(o, RejectReason.KILL_SWITCH, 'kill switch engaged before send');
      return;
    }
    if (!h.breakers.get(o.venue).allow()) {
      // Circuit opened between routing and the commit: the intent is durable but never sent.
      h.finishLocal(o, RejectReason.CIRCUIT_OPEN, 'circuit open at send time');
      return;
    }
    const p = requestOrder(h.bus, h.ns, o);
    o.markSent(h.clock.nowNs());
    h.journal.sent(o.clientId);
    h.counters.sent++;
    h.onSent(o);
    p.then(
      (m) => this.onReply(o, m),
      (err: unknown) => this.onSendError(o, err),
    );
  }

  private onReply(o: OrderRecord, m: BusMessage): void {
    const h = this.h;
    let ack: OrderAck;
    try {
      ack = fromBinary(OrderAckSchema, m.data);
    } catch (err) {
      h.log.error({ clientId: o.clientId, err: String(err) }, 'malformed ord.req reply');
      this.markInDoubt(o);
      return;
    }
    const b = h.breakers.get(o.venue);
    if (ack.status === OrderStatus.ORDER_STATUS_UNSPECIFIED) {
      // The gateway could not tell whether the venue took the order (transport failure after the
      // send): a venue fault for the breaker, and the order stays in doubt until the venue is asked.
      b.onFailure();
      h.log.warn({ clientId: o.clientId, detail: ack.rejectDetail }, 'order outcome unknown; in doubt');
      this.markInDoubt(o, true);
      return;
    }
    if (ack.status === OrderStatus.REJECTED && isVenueFault(ack.rejectReason)) b.onFailure();
    else b.onSuccess();
    if (!ack.clientId) {
      ack.clientId = o.clientId;
      h.applyAck(ack);
    } else h.applyAck(ack, m.data);
  }

  private onSendError(o: OrderRecord, err: unknown): void {
    const h = this.h;
    // A timeout alone is latency, not yet a venue fault: the breaker hears about it only if the
    // venue still has not answered when the in-doubt check runs.
    if (!(err instanceof BusTimeoutError)) h.breakers.get(o.venue).onFailure();
    if (err instanceof NoRespondersError) {
      // Nobody subscribed to ord.req.{venue}: the request reached no one, so it definitely did not
      // reach the venue. Terminal without asking.
      h.finishLocal(o, RejectReason.VENUE_UNAVAILABLE, 'no order gateway for venue');
      return;
    }
    if (!(err instanceof BusTimeoutError)) h.log.warn({ clientId: o.clientId, err: String(err) }, 'order request failed');
    this.markInDoubt(o);
  }

  /** ord.ack.{venue}: the venue's stream of updates (fills, cancels) for our orders. */
  onAckMessage(m: BusMessage): void {
    let ack: OrderAck;
    try {
      ack = fromBinary(OrderAckSchema, m.data);
    } catch {
      this.h.log.warn({ subject: m.subject }, 'malformed ord.ack dropped');
      return;
    }
    if (!ack.clientId) {
      ack.clientId = m.headers[H.correlationId] ?? '';
      this.h.applyAck(ack);
    } else this.h.applyAck(ack, m.data);
  }

  /**
   * The send's outcome is unknown: keep the order (and its slot) and ask the venue by client id on
   * a timer until it answers. `breakerCounted`: the caller already recorded the venue fault.
   */
  markInDoubt(o: OrderRecord, breakerCounted = false): void {
    if (isTerminal(o.state) || o.state === OrderState.ACKED || o.state === OrderState.PARTIAL) return;
    if (o.inDoubt) return; // already has its resolution timer
    o.inDoubt = true;
    this.h.counters.inDoubt++;
    this.h.later(this.h.inDoubtCheckMs(), () => {
      // Still no venue answer after the grace period: now it counts against the venue.
      if (o.inDoubt && !breakerCounted) this.h.breakers.get(o.venue).onFailure();
      this.h.resolveInDoubt(o);
    });
  }

  /** Non-intent records (SENT, ACK, FAILED) need no fsync before anything; batch them. */
  scheduleLazyCommit(): void {
    if (this.lazyTimer || this.h.isClosed()) return;
    this.lazyTimer = this.h.scheduler.after(5, () => {
      this.lazyTimer = undefined;
      // SENT markers, acks and fills gate no send: their flush runs off the event loop.
      if (!this.commitScheduled && this.h.journal.hasPending) this.commitOrHalt(true);
    });
  }

  /**
   * fdatasync the WAL. If the WAL cannot be written (disk full, I/O error) nothing more may be sent:
   * trading halts (kill switch with the cause) instead of crashing or sending undurable orders.
   */
  private commitOrHalt(lazy = false): boolean {
    try {
      if (lazy) this.h.journal.commitLazy();
      else this.h.journal.commit();
      return true;
    } catch (err) {
      this.h.haltOnWal(err);
      return false;
    }
  }
}
