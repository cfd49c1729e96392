/**
 * Prometheus view of an AuditLog (for /metrics and alerts): events recorded, written, dropped and
 * failed writes, the queue depth and a health flag, refreshed every `intervalMs` from plain counters.
 */
import { gauge } from '../observability/metrics.js';
import type { AuditLog } from './audit-log.js';

export function exportAuditMetrics(log: AuditLog, intervalMs = 1000): () => void {
  const events = gauge('audit_events_total', 'audit events since start by outcome (recorded, written, dropped, failed_writes)', [
    'outcome',
  ]);
  const queued = gauge('audit_queue_depth', 'audit events recorded but not yet durable');
  const healthy = gauge('audit_healthy', '1 while nothing was dropped and the sink writes, else 0');
  const refresh = (): void => {
    const h = log.health;
    events.set({ outcome: 'recorded' }, h.recorded);
    events.set({ outcome: 'written' }, h.written);
    events.set({ outcome: 'dropped' }, h.dropped);
    events.set({ outcome: 'failed_writes' }, h.failedWrites);
    queued.set(h.queued);
    healthy.set(h.ok ? 1 : 0);
  };
  refresh();
  const t = setInterval(refresh, intervalMs);
  t.unref();
  return () => {
    clearInterval(t);
    refresh();
  };
}
