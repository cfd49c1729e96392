/**
 * What goes into the audit trail besides control commands: every order lifecycle step of an
 * executor (intent, send, venue ack, fill, cancel request and confirmation, reject with reason),
 * every risk decision, risk breaches and circuit-breaker transitions from the bus, config changes
 * (old and new version and the diff) and session start/stop.
 *
 * The executor hooks run on the hot path: they only capture references and scalars and call
 * AuditLog.record (a queue push); payloads are encoded later by the log's drain. The order request
 * is audited as the exact bytes the executor sends (never re-encoded).
 */
import { fromBinary } from '@bufbuild/protobuf';
import type { Bus, Subscription } from '../bus/bus.js';
import type { Config } from '../config/schema.js';
import type { ConfigService } from '../config/service.js';
import { CircuitStateSchema, OrderAckSchema, OrderStatus, RejectReason, RiskBreachSchema, Side, rejectName } from '../contracts/index.js';
import { patterns, subjects, type Namespace } from '../contracts/subjects.js';
import type { Executor, LifecycleEvent } from '../execution/executor.js';
import type { OrderRecord } from '../execution/order.js';
import { AuditLog, pack, packRaw } from './audit-log.js';

/** Event types written by this module (subject tokens: no dots). */
export const AuditEventType = {
  orderIntent: 'order_intent',
  orderSend: 'order_send',
  orderAck: 'order_ack',
  orderFill: 'order_fill',
  orderCancel: 'order_cancel',
  orderCancelled: 'order_cancelled',
  orderReject: 'order_reject',
  riskDecision: 'risk_decision',
  riskBreach: 'risk_breach',
  circuitTransition: 'circuit_transition',
  configChange: 'config_change',
  sessionStart: 'session_start',
  sessionStop: 'session_stop',
  control: 'control',
  gap: 'audit_gap',
} as const;

const EMPTY = packRaw('google.protobuf.Empty', new Uint8Array());
const sideName = (s: Side): string => (s === Side.BUY ? 'buy' : s === Side.SELL ? 'sell' : 'unspecified');

function orderMeta(o: OrderRecord): Record<string, string> {
  return { client_id: o.clientId, venue: o.venue, symbol: o.symbol, side: sideName(o.side) };
}

/** Record every order lifecycle step and risk decision of `executor` into `log`. */
export function attachExecutorAudit(executor: Executor, log: AuditLog): void {
  executor.onLifecycle((e: LifecycleEvent) => {
    switch (e.kind) {
      case 'intent': {
        const o = e.o;
        log.record(AuditEventType.orderIntent, o.traceId, packRaw('kestrel.v1.OrderRequest', o.requestBytes), {
          ...orderMeta(o),
          qty: String(o.size),
          price: String(o.price),
          ...(o.groupId ? { group_id: o.groupId } : {}),
        });
        return;
      }
      case 'ack': {
        const { o, ack, fill } = e;
        const type =
          fill.qty > 0
            ? AuditEventType.orderFill
            : ack.status === OrderStatus.CANCELLED
              ? AuditEventType.orderCancelled
              : ack.status === OrderStatus.REJECTED
                ? undefined // the reject listener records it, with its reason
                : AuditEventType.orderAck;
        if (!type) return;
        const meta: Record<string, string> = {
          ...orderMeta(o),
          status: OrderStatus[ack.status] ?? String(ack.status),
          venue_order_id: ack.venueOrderId,
        };
        if (fill.qty > 0) {
          meta.fill_qty = String(fill.qty);
          meta.fill_price = String(fill.price);
          meta.fee = String(fill.fee);
        }
        log.record(type, o.traceId, () => pack(OrderAckSchema, ack), meta);
        return;
      }
      case 'cancel':
        log.record(AuditEventType.orderCancel, e.o.traceId, EMPTY, { ...orderMeta(e.o), reason: e.reason });
        return;
      case 'risk':
        log.record(AuditEventType.riskDecision, e.traceId, EMPTY, {
          venue: e.venue,
          symbol: e.symbol,
          side: sideName(e.side),
          qty: String(e.size),
          price: String(e.price),
          decision: e.decision,
          ...(e.detail ? { detail: e.detail } : {}),
        });
        return;
    }
  });
  executor.onSend((o) => {
    log.record(AuditEventType.orderSend, o.traceId, EMPTY, { ...orderMeta(o), sent_ts_ns: String(o.sentTsNs) });
  });
  executor.onReject((r) => {
    log.record(AuditEventType.orderReject, r.signal?.traceId ?? '', EMPTY, {
      ...(r.clientId ? { client_id: r.clientId } : {}),
      venue: r.venue,
      ...(r.signal ? { symbol: r.signal.symbol, side: sideName(r.signal.side) } : {}),
      reason: rejectName(r.reason as RejectReason),
      detail: r.detail,
    });
  });
}

/** The audit event of a risk.breach message: type, trace id, payload, metadata. */
export function breachEvent(data: Uint8Array): [string, string, ReturnType<typeof packRaw>, Record<string, string>] {
  let meta: Record<string, string>;
  try {
    const b = fromBinary(RiskBreachSchema, data);
    meta = { limit: b.limit, symbol: b.symbol, value: String(b.value), threshold: String(b.threshold) };
  } catch {
    meta = { malformed: 'true' };
  }
  return [AuditEventType.riskBreach, '', packRaw(RiskBreachSchema.typeName, data), meta];
}

/** Risk breaches and circuit-breaker transitions, as published on the bus (any process's). */
export function attachBusAudit(bus: Bus, ns: Namespace, log: AuditLog, opts: { durableBreaches?: boolean } = {}): () => void {
  const subs: Subscription[] = [
    // With durable streams, breaches come from the risk stream instead (src/audit/durable-audit.ts).
    ...(opts.durableBreaches ? [] : [bus.subscribe(subjects.riskBreach(ns), (m) => void log.record(...breachEvent(m.data)))]),
    bus.subscribe(patterns.circuitAll(ns), (m) => {
      let meta: Record<string, string>;
      try {
        const c = fromBinary(CircuitStateSchema, m.data);
        meta = { venue: c.venue, state: c.state, failures: String(c.failures), manual: String(c.manualOverride) };
      } catch {
        meta = { malformed: 'true' };
      }
      log.record(AuditEventType.circuitTransition, '', packRaw(CircuitStateSchema.typeName, m.data), meta);
    }),
  ];
  return () => {
    for (const s of subs) s.unsubscribe();
  };
}

/** Leaf-level differences between two configs: `path: old → new`, secrets never included. */
export function configDiff(prev: unknown, next: unknown, prefix = ''): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {};
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (isObj(prev) && isObj(next)) {
    for (const k of new Set([...Object.keys(prev), ...Object.keys(next)]))
      Object.assign(out, configDiff(prev[k], next[k], prefix ? `${prefix}.${k}` : k));
  } else if (JSON.stringify(prev) !== JSON.stringify(next)) {
    out[prefix] = /token|secret|password|key/i.test(prefix)
      ? { from: '<redacted>', to: '<redacted>' }
      : { from: prev ?? null, to: next ?? null };
  }
  return out;
}

/** One `config_change` event per applied or rolled-back config (old and new version, diff). */
export function recordConfigChange(log: AuditLog, prev: Config, next: Config, kind: string): void {
  log.record(AuditEventType.configChange, '', EMPTY, {
    from_version: prev.version,
    to_version: next.version,
    kind,
    diff: JSON.stringify(configDiff(prev, next)),
  });
}

/** Audit every change the ConfigService applies (hot reload, rollback). */
export function attachConfigAudit(service: ConfigService, log: AuditLog): () => void {
  return service.onChange((next, prev) => {
    const last = service.changes[service.changes.length - 1];
    recordConfigChange(log, prev, next, last?.kind ?? 'apply');
  });
}
