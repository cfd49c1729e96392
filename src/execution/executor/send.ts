/**
 * Send and ack: order-gateway I/O (ord.req, ord.cancel.req, ord.replace.req) and the in-doubt
 * resolution of orders whose send outcome is unknown. The Executor owns the order state machine,
 * the slots and the timers; it lends them through InDoubtHost.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  CancelRequestSchema,
  OrderAckSchema,
  OrderStatus,
  RejectReason,
  ReplaceRequestSchema,
  headers as H,
  subjects,
  timeouts,
  type OrderAck,
} from '../../contracts/index.js';
import type { Namespace } from '../../contracts/subjects.js';
import type { Bus, BusMessage } from '../../bus/bus.js';
import type { Logger } from '../../observability/logger.js';
import type { OrderRecord } from '../order.js';
import type { VenueReconClient } from './types.js';

/** Rejects that say the venue (not the order) is unwell: they count against the breaker. */
export function isVenueFault(r: RejectReason): boolean {
  return (
    r === RejectReason.UNKNOWN || r === RejectReason.RATE_LIMIT || r === RejectReason.VENUE_UNAVAILABLE || r === RejectReason.MARKET_CLOSED
  );
}

/** A cancel/replace answer about this order that the venue took (not refused, not unknown). */
export function takenAck(ack: OrderAck, o: OrderRecord): boolean {
  return ack.clientId === o.clientId && ack.status !== OrderStatus.REJECTED && ack.status !== OrderStatus.ORDER_STATUS_UNSPECIFIED;
}

/** ord.req.{venue} with the order's pre-encoded bytes (the reply is the gateway's OrderAck). */
export function requestOrder(bus: Bus, ns: Namespace, o: OrderRecord): Promise<BusMessage> {
  const hdrs: Record<string, string> = { [H.correlationId]: o.clientId };
  if (o.groupId) hdrs[H.orderGroupId] = o.groupId;
  return bus.request(subjects.orderReq(o.venue, ns), o.requestBytes, {
    timeoutMs: timeouts.orderRequestMs,
    headers: hdrs,
  });
}

/**
 * Cancel through ord.cancel.req (the venue's order gateway); when no gateway answers, through the
 * private client directly. undefined when neither answered.
 */
export async function requestCancel(
  bus: Bus,
  ns: Namespace,
  recon: VenueReconClient | undefined,
  log: Logger,
  o: OrderRecord,
  reason: string,
): Promise<OrderAck | undefined> {
  const req = create(CancelRequestSchema, { clientId: o.clientId, venue: o.venue, orderId: o.venueOrderId, reason });
  try {
    const m = await bus.request(subjects.orderCancelReq(ns), toBinary(CancelRequestSchema, req), {
      timeoutMs: 200,
      headers: { [H.correlationId]: o.clientId },
    });
    return fromBinary(OrderAckSchema, m.data);
  } catch (err) {
    if (!recon) {
      log.warn({ clientId: o.clientId, err: String(err) }, 'cancel failed');
      return undefined;
    }
    try {
      return await recon.cancel(req);
    } catch (err2) {
      log.warn({ clientId: o.clientId, err: String(err2) }, 'cancel failed');
      return undefined;
    }
  }
}

/** ord.replace.req; throws on a bus failure or a malformed answer. */
export async function requestReplace(bus: Bus, ns: Namespace, o: OrderRecord, newPrice: number, newQuantity: number): Promise<OrderAck> {
  const req = create(ReplaceRequestSchema, { clientId: o.clientId, venue: o.venue, orderId: o.venueOrderId, newPrice, newQuantity });
  const m = await bus.request(subjects.orderReplaceReq(ns), toBinary(ReplaceRequestSchema, req), {
    timeoutMs: 200,
    headers: { [H.correlationId]: o.clientId },
  });
  return fromBinary(OrderAckSchema, m.data);
}

export interface InDoubtHost {
  isClosed(): boolean;
  recon(venue: string): VenueReconClient | undefined;
  warn(fields: Record<string, unknown>, msg: string): void;
  checkMs(): number;
  later(ms: number, fn: () => void): void;
  applyAck(ack: OrderAck): void;
  finishLocal(o: OrderRecord, reason: RejectReason, detail: string): void;
  counters: { inDoubtResolved: number; failed: number };
}

/** Ask the venue about an order we have no answer for; never resend. */
export async function resolveInDoubt(h: InDoubtHost, o: OrderRecord): Promise<'adopted' | 'failed' | 'unresolved'> {
  if (!o.inDoubt || h.isClosed()) return o.inDoubt ? 'unresolved' : 'adopted';
  const recon = h.recon(o.venue);
  if (!recon) {
    // No private channel to ask: keep waiting for the ack stream, check again later.
    h.later(h.checkMs() * 4, () => void resolveInDoubt(h, o));
    return 'unresolved';
  }
  let st: OrderAck | undefined;
  try {
    st = await recon.orderStatus(o.clientId, o.symbol);
  } catch (err) {
    h.warn({ clientId: o.clientId, err: String(err) }, 'orderStatus failed; retrying');
    h.later(h.checkMs(), () => void resolveInDoubt(h, o));
    return 'unresolved';
  }
  if (h.isClosed()) return 'unresolved';
  if (st) {
    if (!st.clientId) st.clientId = o.clientId;
    h.applyAck(st);
    if (o.inDoubt) {
      // The venue's answer said nothing definite (unspecified status): ask again later.
      h.later(h.checkMs() * 4, () => void resolveInDoubt(h, o));
      return 'unresolved';
    }
    h.counters.inDoubtResolved++;
    return 'adopted';
  }
  h.counters.inDoubtResolved++;
  h.finishLocal(o, RejectReason.UNKNOWN, 'venue never received the order');
  h.counters.failed++;
  return 'failed';
}
