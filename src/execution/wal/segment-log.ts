/**
 * Append-only segmented log with length+CRC framed records.
 *
 * Frame: [u32 LE payload length][u32 LE crc32(payload)][payload]. A zero length marks the end of data.
 * Segments are zero-filled to their full size before use so that fdatasync only has data blocks to
 * flush, not file-size/extent metadata (measured 290 µs → 200 µs p50 on this machine's ext4). The
 * next segment is zero-filled in the background (libuv pool) while the current one fills, so
 * rotation is a rename, not megabytes of writes on the order path.
 *
 * Durability: `append` only buffers. `commit` writes everything buffered and fdatasyncs before it
 * returns (the event loop waits for the device). `commitDurable` writes at once (page cache, ~15 µs)
 * and calls back once an fdatasync on the libuv pool covered those bytes: the event loop keeps
 * running meanwhile, and records written while one fdatasync is in flight share the next one
 * (group commit: at most one flush in flight, each covering everything written before it started).
 * Callers send an order only from that callback (or after `commit` returned): no order leaves
 * before its own record is durable. `commitLazy` writes at once and flushes later, for records that
 * gate no send. Durability is tracked in bytes written since open across segments, so a rotation
 * (which syncs synchronously) releases every waiter it covered.
 *
 * Recovery: `open` scans every segment; the newest may end in a torn record (crash mid-write), which
 * is truncated away. A torn tail is a bad frame with no valid frame after it: only the last,
 * unsynced write can be lost that way. A bad frame followed by valid frames (in any segment), or
 * any bad frame in an older segment, is corruption of durable data: `open` raises WalCorruptError
 * and changes nothing; the operator inspects and salvages with `kestrel wal check|salvage`.
 */
import { systemClock } from '../../clock/clock.js';
import { monotonicNs } from '../../clock/monotonic.js';
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { histogram } from '../../observability/metrics.js';
import { KestrelError } from '../../contracts/errors.js';

/** fdatasync durations of every WAL (commit and background flush), for the WAL fsync p99 alert. */
const fsyncSeconds = histogram(
  'wal_fsync_seconds',
  'WAL write + fdatasync duration (synchronous commits and background flushes)',
  ['kind'],
  [50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1],
);

export class WalCorruptError extends KestrelError {
  override readonly name = 'WalCorruptError';
  constructor(
    readonly segment: string,
    readonly offset: number,
    detail: string,
    readonly dir = '',
  ) {
    super(
      'WAL_CORRUPT',
      `WAL corrupt in ${segment} at byte ${offset}: ${detail}` +
        (dir ? `; inspect with \`kestrel wal check --wal-dir ${dir}\`, repair with \`kestrel wal salvage --wal-dir ${dir}\`` : ''),
    );
  }
}

/**
 * mkdir -p, then fsync the parent of every directory created: without it a power loss can lose the
 * new directory entry (and with it the whole WAL) even though the files inside were fsynced.
 */
export function mkdirDurable(dir: string): void {
  const abs = path.resolve(dir);
  const missing: string[] = [];
  for (let d = abs; !fs.existsSync(d); d = path.dirname(d)) missing.push(d);
  if (missing.length > 0) fs.mkdirSync(abs, { recursive: true });
  // The immediate parent always: the directory may have been created by someone who did not sync it.
  if (missing.length === 0) missing.push(abs);
  for (const d of missing.reverse()) fsyncDir(path.dirname(d));
}

/** fsync a directory: makes file creations, renames and removals in it durable. */
export function fsyncDir(dir: string): void {
  const dfd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(dfd);
  } finally {
    fs.closeSync(dfd);
  }
}

export interface SegmentLogOptions {
  /** Rotate to a new segment once the current one holds this many bytes. Default 16 MiB. */
  rotationBytes?: number;
  /** Closed segments whose last write is older than this are deleted at rotation. Default 7 days. */
  retentionMs?: number;
  /** Zero-fill segments ahead of use (false: plain appends, for tests of the raw format). Default true. */
  preallocate?: boolean;
  /**
   * Called when a new segment starts, before any other record goes into it: returns the records
   * that make the segment self-contained (checkpoint), so that older segments may be deleted.
   */
  checkpoint?: () => Uint8Array[];
  /** Records of `commitLazy` are flushed this long after their write unless a commit covered them. Default 20 ms. */
  lazyFlushMs?: number;
  /**
   * Epoch ms that retention compares with segment mtimes. The OS stamps mtimes in wall time, so this
   * is the system clock, never the executor's (possibly virtual) one; tests inject their own.
   */
  now?: () => number;
  /**
   * fdatasync on commit (default true). false: records are written (page cache) but never flushed to
   * the device per commit: for backtests (`kestrel backtest --wal tmp`), never for trading.
   */
  sync?: boolean;
  /**
   * Where `commitDurable` waits for the device: 'pool' (default) fdatasyncs on the libuv pool and
   * calls back on a later turn; 'inline' commits synchronously and calls back at once. 'inline' is
   * for runs on a virtual clock, whose sends must happen in the turn that made them (a backtest with
   * a fsynced WAL keeps its digest), and is the baseline the benchmark compares 'pool' with.
   */
  durableCommit?: 'pool' | 'inline';
}

export interface RecoveredLog {
  /** Every valid record payload, oldest first. */
  records: Uint8Array[];
  /** Bytes cut from the newest segment's torn tail (0 when the log ended cleanly). */
  truncatedBytes: number;
  segments: string[];
}

export const HEADER = 8;
export const MAX_RECORD = 16 * 1024 * 1024;
export const SEGMENT_RE = /^wal-(\d{12})\.log$/;

function segName(seq: number): string {
  return `wal-${String(seq).padStart(12, '0')}.log`;
}

/** The payload of a valid frame at `off` (length in range, CRC matches), or undefined. */
function frameAt(buf: Buffer, off: number): Buffer | undefined {
  if (off + HEADER > buf.length) return undefined;
  const len = buf.readUInt32LE(off);
  if (len === 0 || len > MAX_RECORD || off + HEADER + len > buf.length) return undefined;
  const payload = buf.subarray(off + HEADER, off + HEADER + len);
  return crc32(payload) === buf.readUInt32LE(off + 4) ? payload : undefined;
}

/** End of the data: the zero pre-extension after the last non-zero byte does not count. */
function dataEnd(buf: Buffer): number {
  let end = buf.length;
  while (end > 0 && buf[end - 1] === 0) end--;
  return end;
}

/**
 * First offset after `from` where a valid frame starts (resynchronisation after a bad frame), or -1.
 * A false match needs a 32-bit CRC to agree by chance.
 */
export function nextValidFrame(buf: Buffer, from: number): number {
  const end = dataEnd(buf);
  // A frame starts with a non-zero length, so it starts before the last non-zero byte.
  for (let off = from + 1; off < end; off++) if (frameAt(buf, off)) return off;
  return -1;
}

/** Parse one segment buffer; returns the records and the end of the last valid frame. */
function scan(buf: Buffer): { records: Uint8Array[]; validEnd: number; clean: boolean } {
  const records: Uint8Array[] = [];
  let off = 0;
  while (off + HEADER <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len === 0) return { records, validEnd: off, clean: isZero(buf, off) };
    const crc = buf.readUInt32LE(off + 4);
    if (len > MAX_RECORD || off + HEADER + len > buf.length) return { records, validEnd: off, clean: false };
    const payload = buf.subarray(off + HEADER, off + HEADER + len);
    if (crc32(payload) !== crc) return { records, validEnd: off, clean: false };
    // Copy: the scan buffer is dropped after recovery.
    records.push(Uint8Array.prototype.slice.call(payload));
    off += HEADER + len;
  }
  return { records, validEnd: off, clean: isZero(buf, off) };
}

function isZero(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

export class SegmentLog {
  private fd = -1;
  private seq = 0;
  private writePos = 0;
  private allocEnd = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly rotationBytes: number;
  private readonly retentionMs: number;
  private readonly preallocate: boolean;
  private readonly now: () => number;
  private readonly zeros: Buffer;
  /** Background-prepared next segment (a zero-filled temp file), or its pending preparation. */
  private spare: { path: string; ready: boolean } | undefined;
  /** Background flush (commitLazy) in flight, another one wanted after it, or the error it hit. */
  private flushing = false;
  private flushTimer: NodeJS.Timeout | undefined;
  /** Bytes written since open (all segments), and the prefix of them known durable. */
  private writtenTotal = 0;
  private durableTotal = 0;
  /** Callers of `commitDurable` waiting for `durableTotal` to reach `upTo`; `upTo` ascending. */
  private waiters: { upTo: number; cb: (err?: Error) => void }[] = [];
  private readonly lazyFlushMs: number;
  private flushAgain = false;
  private flushError: Error | undefined;
  /** Synchronous commits (write + fdatasync) and their total duration; background flushes; for metrics and the benchmark. */
  readonly stats = {
    commits: 0,
    /** Of `commits`: fdatasyncs on the pool that released `commitDurable` callers (group commits). */
    durableCommits: 0,
    records: 0,
    syncNs: 0n,
    backgroundFlushes: 0,
    backgroundFlushNs: 0n,
    rotations: 0,
    deletedSegments: 0,
  };

  private constructor(
    readonly dir: string,
    private readonly opts: SegmentLogOptions,
  ) {
    this.rotationBytes = opts.rotationBytes ?? 16 * 1024 * 1024;
    this.retentionMs = opts.retentionMs ?? 7 * 24 * 3600 * 1000;
    this.preallocate = opts.preallocate ?? true;
    this.lazyFlushMs = opts.lazyFlushMs ?? 20;
    this.now = opts.now ?? (() => Number(systemClock.nowNs() / 1_000_000n));
    this.zeros = Buffer.alloc(Math.min(this.rotationBytes + 1024 * 1024, 1024 * 1024));
  }

  /** Open (creating the directory if needed), recover every record, and position for appending. */
  static open(dir: string, opts: SegmentLogOptions = {}): { log: SegmentLog; recovered: RecoveredLog } {
    mkdirDurable(dir);
    // Spares of a dead process: before anything here prepares its own (a fresh log prepares one as
    // it opens its first segment, and removing that one would fail the first rotation).
    for (const n of fs.readdirSync(dir)) if (n.endsWith('.spare')) fs.rmSync(path.join(dir, n), { force: true });
    const log = new SegmentLog(dir, opts);
    const names = fs
      .readdirSync(dir)
      .filter((n) => SEGMENT_RE.test(n))
      .sort();
    const records: Uint8Array[] = [];
    let truncatedBytes = 0;
    let lastValidEnd = 0;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const buf = fs.readFileSync(path.join(dir, name));
      const r = scan(buf);
      const newest = i === names.length - 1;
      if (!r.clean && !newest) throw new WalCorruptError(name, r.validEnd, 'bad frame before the newest segment', dir);
      if (!r.clean) {
        // Valid frames after the bad one were durable once: the damage is not a torn last write.
        const next = nextValidFrame(buf, r.validEnd);
        if (next >= 0) throw new WalCorruptError(name, r.validEnd, `bad frame followed by valid records (next at byte ${next})`, dir);
        truncatedBytes = Math.max(0, dataEnd(buf) - r.validEnd);
      }
      for (const rec of r.records) records.push(rec);
      if (newest) lastValidEnd = r.validEnd;
    }
    if (names.length === 0) {
      log.openSegment(1, true);
    } else {
      const last = names[names.length - 1]!;
      log.seq = Number(SEGMENT_RE.exec(last)![1]);
      log.fd = fs.openSync(path.join(dir, last), 'r+');
      // Cut the torn tail (and the zero pre-extension) so that new frames follow the last valid one.
      fs.ftruncateSync(log.fd, lastValidEnd);
      fs.fsyncSync(log.fd);
      log.writePos = lastValidEnd;
      log.allocEnd = lastValidEnd;
      log.fillSync(log.fd, lastValidEnd);
    }
    log.prepareSpare();
    return { log, recovered: { records, truncatedBytes, segments: names } };
  }

  /** Buffer one record; durable only after the next `commit`. */
  append(payload: Uint8Array): void {
    this.appendTagged(-1, payload);
  }

  /**
   * Buffer one record whose payload is `[tag][body]` (tag ≥ 0) or just `body` (tag < 0), framed in
   * one allocation: no intermediate copy of the body.
   */
  appendTagged(tag: number, body: Uint8Array): void {
    const len = body.length + (tag >= 0 ? 1 : 0);
    if (len === 0 || len > MAX_RECORD) throw new RangeError(`WAL record size ${len}`);
    const frame = Buffer.allocUnsafe(HEADER + len);
    frame.writeUInt32LE(len, 0);
    let off = HEADER;
    if (tag >= 0) frame[off++] = tag;
    frame.set(body, off);
    frame.writeUInt32LE(crc32(frame.subarray(HEADER)), 4);
    this.pending.push(frame);
    this.pendingBytes += frame.length;
  }

  get hasPending(): boolean {
    return this.pendingBytes > 0;
  }

  /**
   * Write everything buffered and fdatasync on the calling thread. Returns the number of records
   * written. Also syncs what `commitDurable`/`commitLazy` wrote and no flush covered yet, and so
   * releases every waiter.
   */
  commit(): number {
    if (this.pendingBytes === 0) {
      if (this.durableTotal < this.writtenTotal) this.writeAndSync();
      return 0;
    }
    const n = this.writeAndSync();
    // Rotate only after everything appended so far is in the old segment: the checkpoint that opens
    // the new one then describes exactly the state those records produce, and no record written
    // before the checkpoint's state can follow it (replaying one would apply its fill twice).
    if (this.writePos >= this.rotationBytes) this.rotate();
    return n;
  }

  /**
   * Write everything buffered now and call `cb` once it is durable: with no error after an
   * fdatasync covered it, with the error if the write or a flush failed (then nothing written since
   * the last good flush may be assumed durable). The fdatasync runs on the libuv pool; at most one
   * is in flight, and whatever is written meanwhile waits for the next one (group commit). `cb` runs
   * synchronously when there is nothing to wait for (nothing new, `sync: false`, 'inline').
   */
  commitDurable(cb: (err?: Error) => void): void {
    if (this.opts.durableCommit === 'inline' || this.opts.sync === false) {
      try {
        this.commit();
      } catch (err) {
        cb(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      cb();
      return;
    }
    try {
      this.throwIfFlushFailed();
      if (this.pendingBytes > 0) {
        this.writePending();
        // A rotation syncs the old segment synchronously: the waiters it covered are released then.
        if (this.writePos >= this.rotationBytes) this.rotate();
      }
    } catch (err) {
      cb(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (this.durableTotal >= this.writtenTotal) {
      cb();
      return;
    }
    this.waiters.push({ upTo: this.writtenTotal, cb });
    this.flushInBackground();
  }

  /**
   * Write everything buffered now and make it durable in the background (fdatasync on the libuv
   * pool), for records that gate no send (SENT markers, acks, fills): the event loop is not held
   * for a disk flush between orders. The write itself is synchronous and in order, so the next
   * `commit` covers these records too. A failed background flush makes the next commit throw:
   * nothing more is sent on a disk that lost writes.
   */
  commitLazy(): number {
    if (this.pendingBytes === 0) return 0;
    this.throwIfFlushFailed();
    const n = this.writePending();
    if (this.writePos >= this.rotationBytes) this.rotate();
    else this.scheduleBackgroundFlush();
    return n;
  }

  /**
   * Flush lazily written records `lazyFlushMs` later, unless a synchronous commit covered them
   * meanwhile (the usual case while orders flow): no second flush competes with the next intent's
   * fdatasync in the device queue.
   */
  private scheduleBackgroundFlush(): void {
    if (this.flushTimer || this.opts.sync === false) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      if (this.durableTotal < this.writtenTotal) this.flushInBackground();
    }, this.lazyFlushMs);
    this.flushTimer.unref();
  }

  /**
   * One fdatasync on the libuv pool covering every byte written before it starts; when one is
   * already in flight, another follows it (bytes written after a flush started are not known to be
   * in it). Waiters whose bytes it covered are released in order.
   */
  private flushInBackground(): void {
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    if (this.fd < 0 || this.durableTotal >= this.writtenTotal) return;
    this.flushing = true;
    this.flushAgain = false;
    const fd = this.fd;
    const seq = this.seq;
    const upTo = this.writtenTotal;
    const forWaiters = this.waiters.length > 0;
    const t0 = monotonicNs();
    fs.fdatasync(fd, (err) => {
      this.flushing = false;
      // A segment closed meanwhile was fsynced by closeSegment (durableTotal already covers it); the
      // descriptor may even have been reused: its result is irrelevant.
      if (seq === this.seq && this.fd === fd) {
        if (err) {
          this.flushError = err;
          this.failWaiters(err);
          return;
        }
        if (upTo > this.durableTotal) this.durableTotal = upTo;
        const ns = monotonicNs() - t0;
        if (forWaiters) {
          this.stats.commits++;
          this.stats.syncNs += ns;
          this.stats.durableCommits++;
          fsyncSeconds.observe({ kind: 'commit' }, Number(ns) / 1e9);
        } else {
          this.stats.backgroundFlushes++;
          this.stats.backgroundFlushNs += ns;
          fsyncSeconds.observe({ kind: 'background' }, Number(ns) / 1e9);
        }
      }
      this.releaseWaiters();
      if ((this.flushAgain || this.waiters.length > 0) && this.fd >= 0) this.flushInBackground();
    });
  }

  /** Call back every waiter whose bytes are durable, oldest first. */
  private releaseWaiters(): void {
    let i = 0;
    while (i < this.waiters.length && this.waiters[i]!.upTo <= this.durableTotal) i++;
    if (i === 0) return;
    const done = this.waiters.splice(0, i);
    for (const w of done) w.cb();
  }

  private failWaiters(err: Error): void {
    const all = this.waiters;
    this.waiters = [];
    for (const w of all) w.cb(err);
  }

  private throwIfFlushFailed(): void {
    if (this.flushError) throw new Error(`WAL background fdatasync failed: ${this.flushError.message}`);
  }

  /** Write the buffered frames at the write position (page cache only). */
  private writePending(): number {
    const data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    const n = this.pending.length;
    this.pending = [];
    this.pendingBytes = 0;
    this.ensureAlloc(this.writePos + data.length);
    let off = 0;
    while (off < data.length) off += fs.writeSync(this.fd, data, off, data.length - off, this.writePos + off);
    this.writePos += data.length;
    this.writtenTotal += data.length;
    this.stats.records += n;
    return n;
  }

  private writeAndSync(): number {
    if (this.pendingBytes === 0 && this.durableTotal >= this.writtenTotal) return 0;
    this.throwIfFlushFailed();
    const t0 = monotonicNs();
    let n: number;
    try {
      n = this.pendingBytes > 0 ? this.writePending() : 0;
      if (this.opts.sync !== false) fs.fdatasyncSync(this.fd);
    } catch (err) {
      // Whoever waits for a flush will not get one from this disk: they learn it now.
      this.failWaiters(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
    this.durableTotal = this.writtenTotal;
    const ns = monotonicNs() - t0;
    this.stats.syncNs += ns;
    fsyncSeconds.observe({ kind: 'commit' }, Number(ns) / 1e9);
    this.stats.commits++;
    this.releaseWaiters();
    return n;
  }

  get segment(): string {
    return segName(this.seq);
  }

  get position(): number {
    return this.writePos;
  }

  /** Start a new segment now (also done automatically by size). */
  rotate(): void {
    this.writeAndSync(); // pending records belong to the old segment (see commit)
    this.closeSegment();
    this.openSegment(this.seq + 1, false);
    this.writeAndSync(); // the checkpoint, durable before anything else goes into the new segment
    this.stats.rotations++;
    this.applyRetention();
  }

  close(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pendingBytes > 0 || this.durableTotal < this.writtenTotal) this.commit(); // releases waiters too
    this.closeSegment();
    if (this.spare) fs.rmSync(this.spare.path, { force: true });
    this.spare = undefined;
  }

  private closeSegment(): void {
    if (this.fd < 0) return;
    // Drop the zero pre-extension so closed segments hold exactly their records.
    fs.ftruncateSync(this.fd, this.writePos);
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = -1;
  }

  private openSegment(seq: number, first: boolean): void {
    this.seq = seq;
    const file = path.join(this.dir, segName(seq));
    const spare = this.spare;
    this.spare = undefined;
    this.writePos = 0;
    this.allocEnd = 0;
    if (spare?.ready) {
      fs.renameSync(spare.path, file);
      this.fd = fs.openSync(file, 'r+');
      this.allocEnd = this.rotationBytes + 1024 * 1024;
    } else {
      if (spare) fs.rmSync(spare.path, { force: true }); // still being filled: do it here instead
      this.fd = fs.openSync(file, 'wx+');
      this.fillSync(this.fd, 0);
    }
    this.fsyncDir();
    this.prepareSpare();
    // The checkpoint opens the segment so that it is self-contained (older ones may be deleted).
    if (!first && this.opts.checkpoint) for (const rec of this.opts.checkpoint()) this.append(rec);
  }

  /** Writes past the zero-filled area just extend the file (slower fdatasync, still correct). */
  private ensureAlloc(end: number): void {
    if (end > this.allocEnd) this.allocEnd = end;
  }

  /** Zero-fill [from, segment size) synchronously: at open only, never on the order path. */
  private fillSync(fd: number, from: number): void {
    if (!this.preallocate) return;
    const target = this.rotationBytes + 1024 * 1024; // slack: the last commit may cross the size
    let pos = from;
    while (pos < target) pos += fs.writeSync(fd, this.zeros, 0, Math.min(this.zeros.length, target - pos), pos);
    fs.fsyncSync(fd);
    if (fd === this.fd) this.allocEnd = target;
  }

  /**
   * Prepare the next segment in the background: zero-filled and synced, ready to be renamed in. The
   * file is created synchronously, so after `close()` removed it no directory entry can appear later;
   * only the zero writes and the sync run on the libuv pool, on the already-open descriptor.
   */
  private prepareSpare(): void {
    if (!this.preallocate || this.spare) return;
    const spare = { path: path.join(this.dir, `next-${process.pid}-${this.seq + 1}.spare`), ready: false };
    let fd: number;
    try {
      fd = fs.openSync(spare.path, 'w');
    } catch {
      return; // no spare: the next rotation zero-fills synchronously
    }
    this.spare = spare;
    const target = this.rotationBytes + 1024 * 1024;
    const zeros = this.zeros;
    const write = (pos: number): Promise<number> =>
      new Promise((resolve, reject) =>
        fs.write(fd, zeros, 0, Math.min(zeros.length, target - pos), pos, (err, n) => (err ? reject(err) : resolve(n))),
      );
    void (async () => {
      try {
        let pos = 0;
        while (pos < target) pos += await write(pos);
        await new Promise<void>((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
        spare.ready = true;
      } finally {
        fs.close(fd, () => undefined);
      }
    })().catch(() => {
      // A failed background fill only costs the synchronous path at the next rotation.
      if (this.spare === spare) this.spare = undefined;
    });
  }

  private fsyncDir(): void {
    fsyncDir(this.dir);
  }

  private applyRetention(): void {
    const cutoff = this.now() - this.retentionMs;
    for (const name of fs.readdirSync(this.dir)) {
      const m = SEGMENT_RE.exec(name);
      if (!m || Number(m[1]) >= this.seq) continue;
      const p = path.join(this.dir, name);
      if (fs.statSync(p).mtimeMs < cutoff) {
        fs.unlinkSync(p);
        this.stats.deletedSegments++;
      }
    }
  }
}
