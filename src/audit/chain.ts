/**
 * Hash-chained audit events: each event's hash covers its content and the previous event's hash, so
 * any edit, deletion or reordering of the trail is detected by `verifyChain`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { create, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { anyPack, type Any } from '@bufbuild/protobuf/wkt';
import { AuditEventSchema, type AuditEvent } from '../contracts/index.js';
import { KestrelError } from '../contracts/errors.js';

export const GENESIS_HASH = '0'.repeat(64);

export function eventHash(event: AuditEvent): string {
  // The hash field itself is excluded; everything else, prev_hash included, is covered.
  const body = toBinary(AuditEventSchema, create(AuditEventSchema, { ...event, hash: '' }));
  return createHash('sha256').update(body).digest('hex');
}

const encoded = new WeakMap<AuditEvent, Uint8Array>();

/**
 * The event's bytes without its hash field, plus the field: protobuf-es writes fields in field-number
 * order, so `hash` (9) goes last, before `replay` (10, two bytes, present only when true). The
 * result is byte-identical to toBinary of the hashed event (tested).
 */
function withHash(body: Uint8Array, hash: string, replay: boolean): Uint8Array {
  const tail = replay ? 2 : 0;
  const out = new Uint8Array(body.length + 2 + hash.length);
  out.set(body.subarray(0, body.length - tail), 0);
  let o = body.length - tail;
  out[o++] = (9 << 3) | 2;
  out[o++] = hash.length; // 64 < 128: a one-byte varint
  for (let i = 0; i < hash.length; i++) out[o++] = hash.charCodeAt(i);
  if (replay) out.set(body.subarray(body.length - 2), o);
  return out;
}

/** The stored encoding of an event made by AuditChain (else encoded now). */
export function encodeEvent(event: AuditEvent): Uint8Array {
  return encoded.get(event) ?? toBinary(AuditEventSchema, event);
}

export interface AuditInput<Desc extends DescMessage> {
  eventType: string;
  traceId: string;
  schema: Desc;
  payload: MessageShape<Desc>;
  tsNs: bigint;
  metadata?: Record<string, string>;
}

export class AuditChain {
  private prev: string;

  constructor(
    readonly service: string,
    readonly replay: boolean,
    prevHash: string = GENESIS_HASH,
  ) {
    this.prev = prevHash;
  }

  get head(): string {
    return this.prev;
  }

  next<Desc extends DescMessage>(input: AuditInput<Desc>): AuditEvent {
    return this.nextAny(input.eventType, input.traceId, anyPack(input.schema, input.payload), input.tsNs, input.metadata ?? {});
  }

  /** Same, with the payload already packed (e.g. an order request's wire bytes, never re-encoded). */
  nextAny(eventType: string, traceId: string, payload: Any, tsNs: bigint, metadata: Record<string, string>): AuditEvent {
    const event = create(AuditEventSchema, {
      eventId: randomUUID(),
      traceId,
      eventType,
      payload,
      tsNs,
      service: this.service,
      metadata,
      prevHash: this.prev,
      replay: this.replay,
    });
    // One encoding serves both the hash and the stored bytes (the writer's cost is per event).
    const body = toBinary(AuditEventSchema, event);
    event.hash = createHash('sha256').update(body).digest('hex');
    encoded.set(event, withHash(body, event.hash, this.replay));
    this.prev = event.hash;
    return event;
  }
}

export class AuditChainError extends KestrelError {
  override readonly name = 'AuditChainError';
  constructor(
    message: string,
    readonly index: number,
  ) {
    super('AUDIT_CHAIN_BROKEN', message);
  }
}

/** Throws AuditChainError at the first event whose link or hash does not hold. */
export function verifyChain(events: readonly AuditEvent[], start: string = GENESIS_HASH): void {
  let prev = start;
  events.forEach((e, i) => {
    if (e.prevHash !== prev) throw new AuditChainError(`event ${i} (${e.eventId}) does not link to its predecessor`, i);
    if (eventHash(e) !== e.hash) throw new AuditChainError(`event ${i} (${e.eventId}) content does not match its hash`, i);
    prev = e.hash;
  });
}
