/**
 * Restart recovery (SPEC "State Recovery Authority": WAL, then the venue's private channel). The
 * WAL replay itself happens when the OrderJournal opens; this asks the venues about every open or
 * unacknowledged order and cancels our orphans. The Executor supplies its state through
 * RecoveryHost, so the order state machine and the slots stay in one place.
 */
import { create } from '@bufbuild/protobuf';
import { CancelRequestSchema, OrderStatus, RejectReason, type OrderAck } from '../../contracts/index.js';
import type { Logger } from '../../observability/logger.js';
import { isTerminal, type OrderRecord } from '../order.js';
import type { RecoveryReport, VenueReconClient } from './types.js';

export interface RecoveryHost {
  orders: ReadonlyMap<string, OrderRecord>;
  recon: Readonly<Record<string, VenueReconClient>>;
  log: Logger;
  /** Wait before asking venues, so that requests in flight at the crash can land. */
  graceMs: number;
  truncatedBytes: number;
  isOurs(clientId: string): boolean;
  applyAck(ack: OrderAck): void;
  markInDoubt(o: OrderRecord, breakerCounted: boolean): void;
  /** Ask the venue about `o` again on the in-doubt timer. */
  retryLater(o: OrderRecord): void;
  finishLocal(o: OrderRecord, reason: RejectReason, detail: string): void;
  commit(): void;
}

/**
 * Every open or unacknowledged order from the WAL is looked up at the venue by client id: found →
 * adopted with the venue's state (fills applied once, cumulatively); not found → FAILED, never
 * resent (its signal's TTL is long gone, and a resend could duplicate a request still in flight).
 * Venue open orders carrying our client-id prefix and instance id that the WAL does not know are
 * cancelled; another executor's orders (another instance id) are never touched.
 */
export async function recoverOrders(h: RecoveryHost): Promise<RecoveryReport> {
  const report: RecoveryReport = {
    replayedOrders: h.orders.size,
    inDoubt: 0,
    adopted: 0,
    failed: 0,
    unresolved: 0,
    orphansCancelled: 0,
    truncatedBytes: h.truncatedBytes,
  };
  const open = [...h.orders.values()].filter((o) => !isTerminal(o.state) || o.inDoubt);
  report.inDoubt = open.length;
  if (open.length > 0 && h.graceMs > 0) await new Promise((r) => setTimeout(r, h.graceMs));
  for (const o of open) {
    const recon = h.recon[o.venue];
    if (!recon) {
      o.inDoubt = true;
      report.unresolved++;
      // No private channel yet: the ack stream may still settle it; the timer keeps asking.
      h.retryLater(o);
      continue;
    }
    let st: OrderAck | undefined;
    try {
      st = await recon.orderStatus(o.clientId, o.symbol);
    } catch (err) {
      h.log.warn({ clientId: o.clientId, err: String(err) }, 'recovery: orderStatus failed');
      o.inDoubt = true;
      report.unresolved++;
      h.retryLater(o);
      continue;
    }
    if (st) {
      if (!st.clientId) st.clientId = o.clientId;
      o.inDoubt = false;
      h.applyAck(st);
      if (st.status === OrderStatus.ORDER_STATUS_UNSPECIFIED && !isTerminal(o.state)) {
        // The venue has it but said nothing definite: in doubt, asked again on the timer.
        h.markInDoubt(o, true);
        report.unresolved++;
      } else report.adopted++;
    } else {
      h.finishLocal(o, RejectReason.UNKNOWN, 'recovery: venue never received the order');
      report.failed++;
    }
  }
  for (const [venue, recon] of Object.entries(h.recon)) {
    let venueOpen: OrderAck[];
    try {
      venueOpen = await recon.openOrders();
    } catch (err) {
      h.log.warn({ venue, err: String(err) }, 'recovery: openOrders failed');
      continue;
    }
    for (const v of venueOpen) {
      if (!h.isOurs(v.clientId)) continue;
      const known = h.orders.get(v.clientId);
      if (known) {
        h.applyAck(v);
        continue;
      }
      try {
        await recon.cancel(create(CancelRequestSchema, { clientId: v.clientId, venue, orderId: v.venueOrderId, reason: 'orphan' }));
        report.orphansCancelled++;
      } catch (err) {
        h.log.warn({ clientId: v.clientId, err: String(err) }, 'recovery: orphan cancel failed');
      }
    }
  }
  h.commit();
  h.log.info(report, 'recovery complete');
  return report;
}
