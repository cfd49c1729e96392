/**
 * Durable streams of the InProcessBus: the same contract as JetStream (capture by subject, de-dup by
 * msg id, durable consumers resuming after their last ack, redelivery on handler failure) held in
 * memory for the life of the bus. Retention applies max_msgs and max_bytes; max_age and the duplicate
 * window are not time-based here (the bus has no clock): the last `DEDUP_IDS` ids are remembered.
 */
import {
  BusError,
  subjectMatches,
  type ConsumerLag,
  type DurableConsumeOptions,
  type DurableConsumer,
  type DurableHandler,
  type DurablePublishResult,
  type Headers,
  type StreamSpec,
  type StreamState,
} from './bus.js';

const DEDUP_IDS = 100_000;
/** An unlimited in-memory stream still stops growing here (oldest first), as a process must not grow without bound. */
const HARD_MAX_MSGS = 1_000_000;

interface Stored {
  seq: number;
  subject: string;
  data: Uint8Array;
  headers: Headers;
}

interface ConsumerState {
  ackFloor: number;
  /** The sequence handed to the handler and not yet acked (0 = none). */
  inflight: number;
  deliveries: Map<number, number>;
  redelivered: number;
  active: boolean;
  filter: string | undefined;
}

interface MemStream {
  spec: StreamSpec;
  msgs: Stored[];
  bytes: number;
  lastSeq: number;
  ids: Map<string, number>;
  consumers: Map<string, ConsumerState>;
  wake: Array<() => void>;
}

export class InProcessStreams {
  private readonly streams = new Map<string, MemStream>();
  private readonly captureCache = new Map<string, MemStream | null>();

  constructor(private readonly onHandlerError: (err: unknown, subject: string) => void) {}

  ensure(spec: StreamSpec): StreamState {
    for (const other of this.streams.values()) {
      if (other.spec.name === spec.name) continue;
      for (const s of spec.subjects) {
        if (other.spec.subjects.some((o) => subjectMatches(o, s) || subjectMatches(s, o))) {
          throw new BusError(`cannot create stream ${spec.name}: subjects overlap with stream ${other.spec.name}`);
        }
      }
    }
    const cur = this.streams.get(spec.name);
    if (cur) cur.spec = spec;
    else this.streams.set(spec.name, { spec, msgs: [], bytes: 0, lastSeq: 0, ids: new Map(), consumers: new Map(), wake: [] });
    this.captureCache.clear();
    const s = this.streams.get(spec.name)!;
    this.trim(s);
    return this.state(s);
  }

  info(name: string): StreamState {
    return this.state(this.get(name));
  }

  /** The stream capturing `subject`, if any (cached per subject). */
  captures(subject: string): boolean {
    return this.streamFor(subject) !== undefined;
  }

  append(subject: string, data: Uint8Array, headers: Headers, msgId: string | undefined): DurablePublishResult | undefined {
    const s = this.streamFor(subject);
    if (!s) return undefined;
    if (msgId !== undefined) {
      const seen = s.ids.get(msgId);
      if (seen !== undefined) return { stream: s.spec.name, seq: seen, duplicate: true };
    }
    const seq = ++s.lastSeq;
    s.msgs.push({ seq, subject, data, headers });
    s.bytes += data.byteLength;
    if (msgId !== undefined) {
      s.ids.set(msgId, seq);
      if (s.ids.size > DEDUP_IDS) s.ids.delete(s.ids.keys().next().value!);
    }
    this.trim(s);
    const wake = s.wake;
    s.wake = [];
    for (const w of wake) w();
    return { stream: s.spec.name, seq, duplicate: false };
  }

  consume(stream: string, durable: string, handler: DurableHandler, opts: DurableConsumeOptions): DurableConsumer {
    const s = this.get(stream);
    let c = s.consumers.get(durable);
    if (!c) {
      c = { ackFloor: 0, inflight: 0, deliveries: new Map(), redelivered: 0, active: false, filter: opts.filterSubject };
      s.consumers.set(durable, c);
    }
    if (c.active) throw new BusError(`durable consumer ${durable} on ${stream} is already running in this process`);
    c.active = true;
    const state = c;
    const retryMs = opts.retryDelayMs ?? 1000;
    let stopped = false;
    let wakeStop: (() => void) | undefined;
    const sleep = (ms: number): Promise<void> =>
      new Promise((r) => {
        const t = setTimeout(r, ms);
        wakeStop = () => {
          clearTimeout(t);
          r();
        };
      });
    const loop = (async () => {
      while (!stopped) {
        const next = s.msgs.find((m) => m.seq > state.ackFloor && (state.filter === undefined || subjectMatches(state.filter, m.subject)));
        if (!next) {
          await new Promise<void>((r) => {
            s.wake.push(r);
            wakeStop = r;
          });
          continue;
        }
        state.inflight = next.seq;
        const count = (state.deliveries.get(next.seq) ?? 0) + 1;
        state.deliveries.set(next.seq, count);
        if (count > 1) state.redelivered++;
        try {
          await handler({
            subject: next.subject,
            data: next.data,
            headers: next.headers,
            reply: undefined,
            respond: () => {
              throw new BusError(`message on ${next.subject} came from a stream and cannot be answered`);
            },
            seq: next.seq,
            deliveryCount: count,
          });
        } catch (err) {
          this.onHandlerError(err, next.subject);
          state.inflight = 0;
          await sleep(retryMs);
          continue;
        }
        // As on NATS, a handler that finishes after stop() still gets its message acked.
        state.ackFloor = next.seq;
        state.inflight = 0;
        state.deliveries.delete(next.seq);
      }
      state.inflight = 0;
      state.active = false;
    })();
    return {
      stream,
      durable,
      lag: async (): Promise<ConsumerLag> => {
        const pending = s.msgs.filter(
          (m) =>
            m.seq > state.ackFloor && m.seq !== state.inflight && (state.filter === undefined || subjectMatches(state.filter, m.subject)),
        ).length;
        return { numPending: pending, numAckPending: state.inflight > 0 ? 1 : 0, numRedelivered: state.redelivered };
      },
      stop: async () => {
        stopped = true;
        wakeStop?.();
        const i = s.wake.indexOf(wakeStop as () => void);
        if (i >= 0) s.wake.splice(i, 1);
        await loop;
      },
    };
  }

  private streamFor(subject: string): MemStream | undefined {
    // The default session defines no streams: publish pays one size check.
    if (this.streams.size === 0) return undefined;
    const hit = this.captureCache.get(subject);
    if (hit !== undefined) return hit ?? undefined;
    let found: MemStream | null = null;
    for (const s of this.streams.values()) {
      if (s.spec.subjects.some((p) => subjectMatches(p, subject))) {
        found = s;
        break;
      }
    }
    if (this.captureCache.size >= 10_000) this.captureCache.clear();
    this.captureCache.set(subject, found);
    return found ?? undefined;
  }

  private get(name: string): MemStream {
    const s = this.streams.get(name);
    if (!s) throw new BusError(`stream ${name}: stream not found`);
    return s;
  }

  private trim(s: MemStream): void {
    const maxMsgs = s.spec.maxMsgs > 0 ? Math.min(s.spec.maxMsgs, HARD_MAX_MSGS) : HARD_MAX_MSGS;
    let drop = 0;
    let bytes = s.bytes;
    while (s.msgs.length - drop > maxMsgs || (s.spec.maxBytes > 0 && bytes > s.spec.maxBytes && drop < s.msgs.length)) {
      bytes -= s.msgs[drop]!.data.byteLength;
      drop++;
    }
    if (drop > 0) {
      s.msgs.splice(0, drop);
      s.bytes = bytes;
    }
  }

  private state(s: MemStream): StreamState {
    return {
      name: s.spec.name,
      subjects: s.spec.subjects,
      storage: 'memory',
      maxAgeS: s.spec.maxAgeS,
      maxBytes: s.spec.maxBytes > 0 ? s.spec.maxBytes : -1,
      maxMsgs: s.spec.maxMsgs > 0 ? s.spec.maxMsgs : -1,
      duplicateWindowS: s.spec.duplicateWindowS,
      messages: s.msgs.length,
      bytes: s.bytes,
      firstSeq: s.msgs.length > 0 ? s.msgs[0]!.seq : s.lastSeq + 1,
      lastSeq: s.lastSeq,
    };
  }
}
