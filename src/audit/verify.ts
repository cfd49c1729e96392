/**
 * `kestrel audit verify` and `kestrel audit show`: recompute the hash chain of a file or stream and
 * report the first broken link; print one order's history.
 */
import type { AuditEvent } from '../contracts/index.js';
import { eventHash, GENESIS_HASH } from './chain.js';
import { parseAuditBytes, readAuditFile, type AuditFileRead } from './sinks.js';

export interface VerifyResult {
  ok: boolean;
  /** Events that verified, from the first. */
  verified: number;
  head: string;
  tornTailBytes: number;
  /** The first broken link: which event (0-based) or line, and why. */
  broken?: { index: number; eventId: string; offset?: number; reason: string };
}

/**
 * Check links and hashes. Each writer (an AuditLog instance: `service` is `{name}/{instance}`)
 * forms its own chain: its first event links to `start` (genesis) or to an event stored before it
 * (the head when it opened; other writers may have appended since), every later event to the
 * writer's previous one. So removing, altering or reordering a stored event breaks a link or a
 * hash, also when several processes share one stream. Stops at the first event that does not hold.
 */
export function verifyEvents(events: readonly AuditEvent[], start: string = GENESIS_HASH, offsets?: readonly number[]): VerifyResult {
  const chain = new ChainVerifier(start);
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const reason = chain.check(e);
    if (reason !== undefined) {
      const at = offsets?.[i] !== undefined ? { offset: offsets[i]! } : {};
      return { ok: false, verified: i, head: chain.head, tornTailBytes: 0, broken: { index: i, eventId: e.eventId, ...at, reason } };
    }
    chain.add(e);
  }
  return { ok: true, verified: events.length, head: chain.head, tornTailBytes: 0 };
}

/**
 * The chain rule of verifyEvents one event at a time (the audit service checks each event before it
 * appends it): per writer (`service`) the next event links to that writer's last one, a writer's
 * first event to any event stored before it.
 */
export class ChainVerifier {
  private readonly heads = new Map<string, string>();
  private readonly seen: Set<string>;
  head: string;

  constructor(start: string = GENESIS_HASH) {
    this.seen = new Set([start]);
    this.head = start;
  }

  /** Already in the chain (a redelivery): same hash, so same content and position. */
  has(e: AuditEvent): boolean {
    return this.heads.size > 0 && this.seen.has(e.hash);
  }

  /** Why `e` cannot come next, or undefined when it can. */
  check(e: AuditEvent): string | undefined {
    const head = this.heads.get(e.service);
    const links = head !== undefined ? e.prevHash === head : this.seen.has(e.prevHash);
    if (!links) return 'does not link to its predecessor (prev_hash differs: an event before it was removed, altered or reordered)';
    if (eventHash(e) !== e.hash) return 'content does not match its hash (altered)';
    return undefined;
  }

  add(e: AuditEvent): void {
    this.heads.set(e.service, e.hash);
    this.seen.add(e.hash);
    this.head = e.hash;
  }
}

export function verifyAuditFile(file: string): VerifyResult {
  return verifyRead(readAuditFile(file));
}

/** The same check over a file's bytes already in memory. */
export function verifyAuditBytes(bytes: Uint8Array): VerifyResult {
  return verifyRead(parseAuditBytes(bytes));
}

function verifyRead(r: AuditFileRead): VerifyResult {
  const v = verifyEvents(r.events, GENESIS_HASH, r.offsets);
  if (!v.ok) return v;
  if (r.corrupt)
    return {
      ok: false,
      verified: r.events.length,
      head: v.head,
      tornTailBytes: 0,
      broken: { index: r.events.length, eventId: '', offset: r.corrupt.offset, reason: r.corrupt.message },
    };
  return { ...v, tornTailBytes: r.tornTailBytes };
}

export function formatVerify(source: string, v: VerifyResult): string {
  if (v.ok) {
    const torn = v.tornTailBytes > 0 ? `; torn last line of ${v.tornTailBytes} byte(s) ignored (a write cut by a crash, not an event)` : '';
    return `audit ${source}: ${v.verified} event(s), chain intact, head ${v.head}${torn}\n`;
  }
  const b = v.broken!;
  const where = `event ${b.index + 1}${b.offset !== undefined ? ` (byte ${b.offset})` : ''}${b.eventId ? ` id ${b.eventId}` : ''}`;
  return `audit ${source}: BROKEN at ${where}: ${b.reason}; the ${v.verified} event(s) before it verify\n`;
}

/** One order's events: those naming its client id, and the risk decisions of its signal (trace id). */
export function orderHistory(events: readonly AuditEvent[], clientId: string): AuditEvent[] {
  const traces = new Set(events.filter((e) => e.metadata.client_id === clientId && e.traceId).map((e) => e.traceId));
  return events.filter(
    (e) => e.metadata.client_id === clientId || (!e.metadata.client_id && e.eventType === 'risk_decision' && traces.has(e.traceId)),
  );
}

export function formatHistory(events: readonly AuditEvent[]): string {
  return events
    .map((e) => {
      const ts = new Date(Number(e.tsNs / 1_000_000n)).toISOString();
      const meta = Object.entries(e.metadata)
        .filter(([k]) => k !== 'client_id')
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      return `${ts} ${e.eventType.padEnd(16)} ${meta}${e.traceId ? ` trace=${e.traceId}` : ''}\n`;
    })
    .join('');
}
