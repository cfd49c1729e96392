/**
 * Where audit events go: JetStream stream `audit` (subjects audit.>) in deployments — a replay stack's
 * events go to their own stream `replay_audit` (replay.audit.>) so replay never writes the live trail —
 * and an append-only file when no NATS is configured. Both keep the hash chain; JetStream also dedupes by event id.
 *
 * Durability: `appendBatch` resolves once its events are durable (file: written and fdatasync'ed;
 * JetStream: every publish acknowledged by the stream). Callers batch to amortise that cost.
 */
import { closeSync, existsSync, fdatasync, fsyncSync, ftruncateSync, openSync, readFileSync, write } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fromBinary } from '@bufbuild/protobuf';
import type { JetStreamClient, NatsConnection } from 'nats';
import { natsStreamConfig } from '../bus/nats-bus.js';
import { DEFAULT_STREAMS, streamName, streamSpec, type StreamRetention } from '../bus/streams.js';
import { AuditEventSchema, type AuditEvent } from '../contracts/index.js';
import { subjects, type Namespace } from '../contracts/subjects.js';
import { fsyncDir, mkdirDurable } from '../execution/wal/segment-log.js';
import { encodeEvent, GENESIS_HASH } from './chain.js';

const writeAsync = promisify(write);
const fdatasyncAsync = promisify(fdatasync);

export interface AuditSink {
  /** One event; durable when resolved. */
  append(event: AuditEvent): Promise<void>;
  /** Events in order; durable (all of them) when resolved. A rejected batch may be retried as a whole. */
  appendBatch(events: readonly AuditEvent[]): Promise<void>;
  /** Hash of the last stored event, to continue the chain after a restart. */
  head(): Promise<string>;
  close(): Promise<void>;
}

export interface JetStreamAuditOptions {
  replicas?: number;
  /** Retention in seconds; SPEC asks 7 years. Overrides retention.max_age_s. */
  maxAgeSeconds?: number;
  /** bus.streams.audit (default DEFAULT_STREAMS.audit). */
  retention?: Partial<StreamRetention>;
  /** A stream of its own (tests): subjects `{stream}.>`. Default: the namespace's audit stream. */
  stream?: string;
}

export function auditStreamName(namespace: Namespace): string {
  return streamName('audit', namespace);
}

export class JetStreamAuditSink implements AuditSink {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    readonly stream: string,
    private readonly namespace: Namespace,
    private readonly custom: boolean,
  ) {}

  static async open(nc: NatsConnection, namespace: Namespace, opts: JetStreamAuditOptions = {}): Promise<JetStreamAuditSink> {
    const custom = opts.stream !== undefined;
    const stream = opts.stream ?? auditStreamName(namespace);
    const jsm = await nc.jetstreamManager();
    // The audit stream is defined with the others in src/bus/streams.ts; retention from bus.streams.audit.
    const retention = {
      ...DEFAULT_STREAMS.audit,
      ...opts.retention,
      ...(opts.maxAgeSeconds !== undefined ? { max_age_s: opts.maxAgeSeconds } : {}),
    };
    const spec = streamSpec('audit', namespace, retention);
    const config = {
      ...natsStreamConfig(custom ? { ...spec, name: stream, subjects: [`${stream}.>`] } : spec),
      num_replicas: opts.replicas ?? 1,
    };
    try {
      await jsm.streams.info(stream);
      await jsm.streams.update(stream, config);
    } catch {
      await jsm.streams.add(config);
    }
    return new JetStreamAuditSink(nc, nc.jetstream(), stream, namespace, custom);
  }

  /** An existing stream, read-only use (`kestrel audit verify --stream`): never creates or reconfigures it. */
  static async attach(nc: NatsConnection, stream: string): Promise<JetStreamAuditSink> {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.info(stream);
    return new JetStreamAuditSink(nc, nc.jetstream(), stream, 'live', true);
  }

  subjectFor(event: AuditEvent): string {
    const sub = subjects.audit(event.eventType, 'live');
    return this.custom ? `${this.stream}.${sub.slice('audit.'.length)}` : subjects.audit(event.eventType, this.namespace);
  }

  async append(event: AuditEvent): Promise<void> {
    await this.appendBatch([event]);
  }

  async appendBatch(events: readonly AuditEvent[]): Promise<void> {
    // Published back to back on one connection (so stored in this order), acks awaited together.
    // msgID dedupe makes a retried batch after a lost ack harmless.
    await Promise.all(events.map((e) => this.js.publish(this.subjectFor(e), encodeEvent(e), { msgID: e.eventId })));
  }

  async head(): Promise<string> {
    const jsm = await this.nc.jetstreamManager();
    const info = await jsm.streams.info(this.stream);
    if (info.state.messages === 0) return GENESIS_HASH;
    const last = await jsm.streams.getMessage(this.stream, { seq: info.state.last_seq });
    return fromBinary(AuditEventSchema, last.data).hash;
  }

  /** Every stored event in order (investigation, replay, tests). */
  async readAll(): Promise<AuditEvent[]> {
    const jsm = await this.nc.jetstreamManager();
    const info = await jsm.streams.info(this.stream);
    const out: AuditEvent[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      let data: Uint8Array;
      try {
        data = (await jsm.streams.getMessage(this.stream, { seq })).data;
      } catch (err) {
        // A deleted message leaves a hole in the sequence: skip it; verification reports the break.
        if (err instanceof Error && /no message found/i.test(err.message)) continue;
        throw err;
      }
      out.push(fromBinary(AuditEventSchema, data));
    }
    return out;
  }

  async close(): Promise<void> {
    /* the connection belongs to the caller */
  }
}

/** Result of reading an audit file: the events of complete lines, and what could not be read. */
export interface AuditFileRead {
  events: AuditEvent[];
  /** Byte offset where each event's line starts (same index as events). */
  offsets: number[];
  /** Bytes of an unterminated last line (a write torn by a crash); they are not events. */
  tornTailBytes: number;
  /** The first line that is not a canonical event (corruption), if any; reading stops there. */
  corrupt?: { line: number; offset: number; message: string };
}

const encodeLine = (e: AuditEvent): string => {
  const b = encodeEvent(e);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
};

function decodeLine(text: string): AuditEvent | undefined {
  if (text.length === 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  let e: AuditEvent;
  try {
    e = fromBinary(AuditEventSchema, Buffer.from(text, 'base64'));
  } catch {
    return undefined;
  }
  // Canonical round trip: base64 and protobuf both tolerate some variations (ignored pad bits,
  // unknown fields); a stored line must be exactly what the writer produced, or it was altered.
  return encodeLine(e) === text ? e : undefined;
}

/**
 * Read an audit file strictly: every newline-terminated line must be exactly one canonical event.
 * Only the last line may be unterminated (a crash mid-write, as in the WAL): it is reported as a
 * torn tail, not read. An unterminated last line that is a whole event followed by one more byte is
 * a damaged line terminator, not a torn write, and is reported as corruption.
 */
export function readAuditFile(file: string): AuditFileRead {
  return existsSync(file) ? parseAuditBytes(readFileSync(file)) : { events: [], offsets: [], tornTailBytes: 0 };
}

export function parseAuditBytes(bytes: Uint8Array): AuditFileRead {
  const out: AuditFileRead = { events: [], offsets: [], tornTailBytes: 0 };
  // latin1: one char per byte, so offsets are byte offsets and no byte is silently replaced.
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  let pos = 0;
  let line = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) {
      const tail = text.slice(pos);
      // A torn write is a prefix of its line; a whole event plus one byte is a damaged terminator.
      if (decodeLine(tail.slice(0, -1)) !== undefined) {
        out.corrupt = { line, offset: pos, message: `line ${line + 1}: complete event without its line terminator (damaged)` };
      } else out.tornTailBytes = tail.length;
      return out;
    }
    const e = decodeLine(text.slice(pos, nl));
    if (!e) {
      out.corrupt = { line, offset: pos, message: `line ${line + 1} (byte ${pos}) is not a canonical audit event` };
      return out;
    }
    out.events.push(e);
    out.offsets.push(pos);
    pos = nl + 1;
    line++;
  }
  return out;
}

/**
 * One base64 protobuf event per line. Batches are written with one write(2) and one fdatasync on the
 * libuv thread pool, so the event loop never waits on the disk. Opening cuts a torn last line (a
 * crash mid-write) so the chain continues from the last complete event; any other damage refuses
 * to open (appending after it would hide it).
 */
export class FileAuditSink implements AuditSink {
  private fd: number;
  private lastHash: string;
  /** Bytes cut from a torn tail at open (reported, like the WAL's truncatedBytes). */
  readonly truncatedBytes: number;

  constructor(readonly file: string) {
    // The directory entry of a new audit directory must survive a host crash too.
    mkdirDurable(path.dirname(file));
    const existed = existsSync(file);
    const r = readAuditFile(file);
    if (r.corrupt) throw new Error(`audit file ${file} is damaged: ${r.corrupt.message}; run \`kestrel audit verify ${file}\``);
    this.fd = openSync(file, 'a');
    this.truncatedBytes = r.tornTailBytes;
    if (r.tornTailBytes > 0) {
      const end = r.events.length === 0 ? 0 : r.offsets[r.offsets.length - 1]! + encodeLine(r.events[r.events.length - 1]!).length + 1;
      ftruncateSync(this.fd, end);
      fsyncSync(this.fd);
    }
    if (!existed) fsyncDir(path.dirname(file));
    this.lastHash = r.events.length === 0 ? GENESIS_HASH : r.events[r.events.length - 1]!.hash;
  }

  /** The complete events of a file (a torn last line is skipped); throws on corruption. */
  static readAll(file: string): AuditEvent[] {
    const r = readAuditFile(file);
    if (r.corrupt) throw new Error(`audit file ${file}: ${r.corrupt.message}`);
    return r.events;
  }

  async append(event: AuditEvent): Promise<void> {
    await this.appendBatch([event]);
  }

  async appendBatch(events: readonly AuditEvent[]): Promise<void> {
    if (this.fd < 0) throw new Error('audit file closed');
    if (events.length === 0) return;
    const buf = Buffer.from(events.map((e) => `${encodeLine(e)}\n`).join(''), 'latin1');
    let off = 0;
    while (off < buf.length) off += (await writeAsync(this.fd, buf, off, buf.length - off)).bytesWritten;
    await fdatasyncAsync(this.fd);
    this.lastHash = events[events.length - 1]!.hash;
  }

  async head(): Promise<string> {
    return this.lastHash;
  }

  async close(): Promise<void> {
    if (this.fd < 0) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
  }
}
