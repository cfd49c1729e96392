/**
 * Where audit events go: JetStream stream `audit` (subjects audit.>) in deployments — a replay stack's
 * events go to their own stream `replay_audit` (replay.audit.>) so replay never writes the live trail —
 * and an append-only file when no NATS is configured. Both keep the hash chain; JetStream also dedupes by event id.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { RetentionPolicy, StorageType, type JetStreamClient, type NatsConnection } from 'nats';
import { AuditEventSchema, type AuditEvent } from '../contracts/index.js';
import { patterns, subjects, type Namespace } from '../contracts/subjects.js';
import { GENESIS_HASH } from './chain.js';

export interface AuditSink {
  append(event: AuditEvent): Promise<void>;
  /** Hash of the last stored event, to continue the chain after a restart. */
  head(): Promise<string>;
  close(): Promise<void>;
}

export interface JetStreamAuditOptions {
  replicas?: number;
  /** Retention in seconds; SPEC asks 7 years. */
  maxAgeSeconds?: number;
  /** A stream of its own (tests): subjects `{stream}.>`. Default: the namespace's audit stream. */
  stream?: string;
}

const SEVEN_YEARS_S = 7 * 365 * 24 * 3600;

export class JetStreamAuditSink implements AuditSink {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly stream: string,
    private readonly namespace: Namespace,
    private readonly custom: boolean,
  ) {}

  static async open(nc: NatsConnection, namespace: Namespace, opts: JetStreamAuditOptions = {}): Promise<JetStreamAuditSink> {
    const custom = opts.stream !== undefined;
    const stream = opts.stream ?? (namespace === 'live' ? 'audit' : 'replay_audit');
    const jsm = await nc.jetstreamManager();
    const config = {
      name: stream,
      subjects: [custom ? `${stream}.>` : patterns.auditAll(namespace)],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      num_replicas: opts.replicas ?? 1,
      max_age: (opts.maxAgeSeconds ?? SEVEN_YEARS_S) * 1_000_000_000,
      max_msgs: -1,
      max_bytes: -1,
      duplicate_window: 120 * 1_000_000_000,
    };
    try {
      await jsm.streams.info(stream);
      await jsm.streams.update(stream, config);
    } catch {
      await jsm.streams.add(config);
    }
    return new JetStreamAuditSink(nc, nc.jetstream(), stream, namespace, custom);
  }

  subjectFor(event: AuditEvent): string {
    const sub = subjects.audit(event.eventType, 'live');
    return this.custom ? `${this.stream}.${sub.slice('audit.'.length)}` : subjects.audit(event.eventType, this.namespace);
  }

  async append(event: AuditEvent): Promise<void> {
    // msgID dedupe makes a retried publish after a lost ack harmless.
    await this.js.publish(this.subjectFor(event), toBinary(AuditEventSchema, event), { msgID: event.eventId });
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
      const m = await jsm.streams.getMessage(this.stream, { seq });
      out.push(fromBinary(AuditEventSchema, m.data));
    }
    return out;
  }

  async close(): Promise<void> {
    /* the connection belongs to the caller */
  }
}

/** One base64 protobuf event per line; fsync on close and every `syncEvery` events. */
export class FileAuditSink implements AuditSink {
  private fd: number;
  private unsynced = 0;

  constructor(
    readonly file: string,
    private readonly syncEvery = 64,
  ) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.fd = openSync(file, 'a');
  }

  static readAll(file: string): AuditEvent[] {
    if (!existsSync(file)) return [];
    const out: AuditEvent[] = [];
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.length === 0) continue;
      out.push(fromBinary(AuditEventSchema, Buffer.from(line, 'base64')));
    }
    return out;
  }

  async append(event: AuditEvent): Promise<void> {
    writeSync(this.fd, `${Buffer.from(toBinary(AuditEventSchema, event)).toString('base64')}\n`);
    if (++this.unsynced >= this.syncEvery) {
      fsyncSync(this.fd);
      this.unsynced = 0;
    }
  }

  async head(): Promise<string> {
    const all = FileAuditSink.readAll(this.file);
    return all.length === 0 ? GENESIS_HASH : all[all.length - 1]!.hash;
  }

  async close(): Promise<void> {
    if (this.fd < 0) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
  }
}
