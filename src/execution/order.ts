/**
 * One order's life in the executor: INTENT → SENT → ACKED/REJECTED → PARTIAL → FILLED/CANCELLED,
 * plus FAILED (the venue never had it: decided only after asking the venue) and IN_DOUBT handling
 * through `inDoubt`. Venue updates are cumulative (filled_qty, avg_price), so applying the same or an
 * older update twice changes nothing: replay of the WAL and duplicate acks are idempotent.
 */
import { OrderStatus, Side, type OrderAck } from '../contracts/index.js';

export enum OrderState {
  INTENT = 0,
  SENT = 1,
  ACKED = 2,
  PARTIAL = 3,
  FILLED = 4,
  CANCELLED = 5,
  REJECTED = 6,
  FAILED = 7,
}

export function isTerminal(s: OrderState): boolean {
  return s >= OrderState.FILLED;
}

/** Fill delta produced by one update (0 qty when the update brought nothing new). */
export interface FillDelta {
  qty: number;
  price: number;
  fee: number;
}

const NO_FILL: FillDelta = Object.freeze({ qty: 0, price: 0, fee: 0 });

export class OrderRecord {
  state = OrderState.INTENT;
  filledQty = 0;
  avgPrice = 0;
  fees = 0;
  venueOrderId = '';
  rejectReason = 0;
  rejectDetail = '';
  /** Set while the outcome of the send is unknown (timeout / crash); cleared by any venue answer. */
  inDoubt = false;
  sentTsNs = 0n;
  ackTsNs = 0n;

  constructor(
    readonly clientId: string,
    readonly venue: string,
    readonly symbol: string,
    readonly side: Side,
    public size: number,
    public price: number,
    readonly nonce: bigint,
    readonly groupId: string,
    readonly traceId: string,
    readonly strategyId: string,
    readonly shadow: boolean,
    readonly createdTsNs: bigint,
    /** The encoded ord.req payload: the WAL intent and the bytes on the wire are the same. */
    readonly requestBytes: Uint8Array,
  ) {}

  get remaining(): number {
    return Math.max(0, this.size - this.filledQty);
  }

  get signedFilled(): number {
    return this.side === Side.SELL ? -this.filledQty : this.filledQty;
  }

  markSent(tsNs: bigint): void {
    if (this.state === OrderState.INTENT) this.state = OrderState.SENT;
    this.sentTsNs = tsNs;
  }

  markFailed(detail: string): void {
    if (isTerminal(this.state) && this.state !== OrderState.FAILED) return;
    this.state = OrderState.FAILED;
    this.inDoubt = false;
    this.rejectDetail = detail;
  }

  /**
   * Apply a venue update. Returns the new fill it carried (cumulative qty beyond what we knew).
   * A FAILED order that the venue turns out to have is adopted: venue state is the authority.
   */
  apply(ack: OrderAck): FillDelta {
    // An update without a status (a gateway's "outcome unknown") settles nothing.
    if (ack.status !== OrderStatus.ORDER_STATUS_UNSPECIFIED) this.inDoubt = false;
    if (ack.venueOrderId) this.venueOrderId = ack.venueOrderId;
    let delta = NO_FILL;
    if (ack.filledQty > this.filledQty + 1e-12) {
      const prevNotional = this.filledQty * this.avgPrice;
      const qty = ack.filledQty - this.filledQty;
      const avg = ack.avgPrice > 0 ? ack.avgPrice : ack.lastFillPrice;
      const price = avg > 0 ? (ack.filledQty * avg - prevNotional) / qty : ack.lastFillPrice;
      delta = { qty, price: price > 0 ? price : avg, fee: feeDelta(ack, qty, this.fees) };
      this.filledQty = ack.filledQty;
      this.avgPrice = avg;
      this.fees += delta.fee;
    }
    const next = stateOf(ack.status, this.filledQty, this.size);
    if (next !== undefined) {
      if (this.state === OrderState.FAILED || (!isTerminal(this.state) && rank(next) >= rank(this.state))) this.state = next;
    }
    if (ack.status === OrderStatus.REJECTED) {
      this.rejectReason = ack.rejectReason;
      this.rejectDetail = ack.rejectDetail;
    }
    return delta;
  }
}

/**
 * Fee carried by an update (order-entry contract: `fee` is the fee of the fill the ack reports when
 * last_fill_qty > 0, else the order's total fee). When the update covers more quantity than its last
 * fill (earlier fill updates were missed), the missing fills are charged at the same rate.
 */
export function feeDelta(ack: OrderAck, qty: number, feesSoFar: number): number {
  if (!(ack.fee > 0)) return 0;
  if (ack.lastFillQty > 0) return Math.abs(qty - ack.lastFillQty) < 1e-12 ? ack.fee : (ack.fee * qty) / ack.lastFillQty;
  return Math.max(0, ack.fee - feesSoFar);
}

function stateOf(status: OrderStatus, filled: number, size: number): OrderState | undefined {
  switch (status) {
    case OrderStatus.NEW:
      return filled > 0 ? OrderState.PARTIAL : OrderState.ACKED;
    case OrderStatus.PARTIAL:
      return filled >= size - 1e-12 ? OrderState.FILLED : OrderState.PARTIAL;
    case OrderStatus.FILLED:
      return OrderState.FILLED;
    case OrderStatus.CANCELLED:
      return OrderState.CANCELLED;
    case OrderStatus.REJECTED:
      return OrderState.REJECTED;
    default:
      return undefined;
  }
}

/** Progress order: a late NEW never moves a PARTIAL back; terminal states never change. */
function rank(s: OrderState): number {
  switch (s) {
    case OrderState.INTENT:
      return 0;
    case OrderState.SENT:
      return 1;
    case OrderState.ACKED:
      return 2;
    case OrderState.PARTIAL:
      return 3;
    default:
      return 9; // FILLED / CANCELLED / REJECTED: final
  }
}
