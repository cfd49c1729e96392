/**
 * Append-only capture recorder; a TickSink. Records are encoded into a reusable chunk buffer at push
 * time (nothing of the tick is kept) and written in chunks; close() writes the rest and fsyncs.
 * Re-opening an existing file validates its header, cuts a torn tail back to the last whole record,
 * and appends.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { NormalizedTick } from '../../contracts/market.js';
import type { TickSink } from '../../ingestion/types.js';
import { counter } from '../../observability/metrics.js';
import {
  CaptureFormatError,
  HEADER,
  HEADER_SIZE,
  RECORD_SIZE,
  decodeHeader,
  encodeHeader,
  encodeSymbol,
  encodeTick,
  encodeTickViews,
  recordViews,
  type CaptureMeta,
  type RecordViews,
} from './format.js';

export interface CaptureWriterOptions {
  /** Records per write(2); 1024 records = 96 KiB. */
  chunkRecords?: number;
  /** Header timestamp of a new file, from the owner's clock (ignored when appending). */
  createdNs: bigint;
  /** Header fields of a new file (ignored when appending: the file keeps its own). */
  meta?: Partial<CaptureMeta>;
}

const U64_LIMIT = 2n ** 64n;
const I64_MIN = -(2n ** 63n);
const I64_LIMIT = 2n ** 63n;

function fitsViews(t: NormalizedTick): boolean {
  return (
    t.sequence >= 0n &&
    t.sequence < U64_LIMIT &&
    t.exchTsNs >= I64_MIN &&
    t.exchTsNs < I64_LIMIT &&
    t.recvTsNs >= I64_MIN &&
    t.recvTsNs < I64_LIMIT &&
    t.venueId >>> 0 === t.venueId &&
    t.venueId <= 0xffff &&
    t.symbolId >>> 0 === t.symbolId &&
    t.flags >>> 0 === t.flags
  );
}

export class CaptureWriter implements TickSink {
  readonly name = 'capture';
  private fd: number | undefined;
  private readonly chunk: Buffer;
  private readonly views: RecordViews | undefined;
  private used = 0;
  private readonly known = new Map<number, string>();
  private records = 0;
  private readonly mRecords = counter('capture_records_total', 'Records written to capture files');
  private readonly mErrors = counter('capture_dropped_total', 'Ticks not recorded because the capture writer failed');
  private failed: Error | undefined;
  /** Explicit file position: the header is written with pwrite, which leaves the fd offset at 0. */
  private pos: number;

  private constructor(
    readonly path: string,
    fd: number,
    chunkRecords: number,
    /** Whole records already in the file when it was opened. */
    readonly existingRecords: number,
    /** Bytes of a torn last record cut off when the file was re-opened. */
    readonly truncatedBytes: number,
  ) {
    this.fd = fd;
    this.pos = HEADER_SIZE + existingRecords * RECORD_SIZE;
    this.chunk = Buffer.alloc(chunkRecords * RECORD_SIZE);
    this.views = recordViews(this.chunk);
  }

  static open(file: string, opts: CaptureWriterOptions): CaptureWriter {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const chunkRecords = opts.chunkRecords ?? 1024;
    const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
    try {
      const size = fs.fstatSync(fd).size;
      if (size === 0) {
        fs.writeSync(fd, encodeHeader(opts.createdNs, opts.meta), 0, HEADER_SIZE, 0);
        return new CaptureWriter(file, fd, chunkRecords, 0, 0);
      }
      const head = Buffer.alloc(HEADER_SIZE);
      fs.readSync(fd, head, 0, HEADER_SIZE, 0);
      const h = decodeHeader(size < HEADER_SIZE ? head.subarray(0, size) : head, file);
      const m = opts.meta;
      // Appended ticks under another time scale would be read back on the wrong timeline.
      if (m && ((m.timeScale ?? 1) !== h.timeScale || (m.ringInput ?? false) !== h.ringInput))
        throw new CaptureFormatError(
          file,
          HEADER.timeScale,
          `cannot append: the file holds time scale ${h.timeScale}${h.ringInput ? ' ring input' : ''}, the writer ${m.timeScale ?? 1}${m.ringInput ? ' ring input' : ''}`,
        );
      const body = size - HEADER_SIZE;
      const torn = body % RECORD_SIZE;
      if (torn !== 0) fs.ftruncateSync(fd, size - torn);
      return new CaptureWriter(file, fd, chunkRecords, (body - torn) / RECORD_SIZE, torn);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  get recordsWritten(): number {
    return this.records;
  }

  push(t: NormalizedTick): void {
    if (this.fd === undefined || this.failed) {
      this.mErrors.inc();
      return;
    }
    // One symbol-definition record the first time a (venue, symbol id) appears or its name changes.
    const key = t.venueId * 0x1_0000_0000 + t.symbolId;
    if (this.known.get(key) !== t.symbol) {
      this.reserve();
      encodeSymbol(this.chunk, this.used, t.venueId, t.symbolId, t.symbol);
      this.used += RECORD_SIZE;
      this.records++;
      this.known.set(key, t.symbol);
    }
    this.reserve();
    // Typed views need exact value types; anything else (e.g. a sequence beyond u64) takes the
    // checked Buffer path, which throws a RangeError instead of wrapping silently.
    if (this.views !== undefined && fitsViews(t)) encodeTickViews(this.views, this.used, t);
    else encodeTick(this.chunk, this.used, t);
    this.used += RECORD_SIZE;
    this.records++;
  }

  /** Writes buffered records to the file (page cache; durable only after close's fsync). */
  flush(): void {
    if (this.fd === undefined || this.used === 0) return;
    try {
      let off = 0;
      while (off < this.used) {
        const n = fs.writeSync(this.fd, this.chunk, off, this.used - off, this.pos);
        off += n;
        this.pos += n;
      }
    } catch (err) {
      // Disk full or I/O error: keep the process alive, count what is lost, surface it once.
      this.failed = err instanceof Error ? err : new Error(String(err));
      this.mErrors.inc(this.used / RECORD_SIZE);
    }
    this.used = 0;
  }

  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    try {
      fs.fsyncSync(this.fd);
    } finally {
      fs.closeSync(this.fd);
      this.fd = undefined;
      this.mRecords.inc(this.records);
    }
    if (this.failed) throw new CaptureFormatError(this.path, -1, `write failed: ${this.failed.message}`);
  }

  private reserve(): void {
    if (this.used + RECORD_SIZE > this.chunk.length) this.flush();
  }
}
