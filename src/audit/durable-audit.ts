/**
 * Risk breaches into the audit trail through a durable consumer of the risk stream. A breach
 * (stop loss, drawdown, a position that no longer matches the venue's balance) published while this
 * process restarts is recorded when it comes back: the consumer resumes after its last ack, and a
 * message is acked only once its audit event is durable (AuditLog.recordDurable). A failed write is
 * retried in place, never skipped. Delivery is at least once: a breach processed but not acked
 * before a crash is recorded again (the audit trail then shows it twice, with the same payload).
 */
import type { DurableConsumer } from '../bus/bus.js';
import type { DurableStreams } from '../bus/streams.js';
import { subjects } from '../contracts/subjects.js';
import type { AuditLog } from './audit-log.js';
import { breachEvent } from './order-audit.js';

/** Durable consumer name: one position per namespace, shared by every process that audits breaches. */
export const BREACH_AUDIT_DURABLE = 'audit_risk_breach';

export function attachDurableBreachAudit(
  streams: DurableStreams,
  log: AuditLog,
  opts: { retryDelayMs?: number; ackWaitMs?: number } = {},
): Promise<DurableConsumer> {
  return streams.bus.consumeDurable(streams.name('risk'), BREACH_AUDIT_DURABLE, (m) => log.recordDurable(...breachEvent(m.data)), {
    filterSubject: subjects.riskBreach(streams.ns),
    retryDelayMs: opts.retryDelayMs ?? 1000,
    ackWaitMs: opts.ackWaitMs ?? 30_000,
  });
}
