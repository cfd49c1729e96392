/**
 * Streaming capture reader. Reads large chunks (default 4 MiB = 43690 records) and decodes them into
 * batches of NormalizedTick, so the cost per record is the decode alone. A torn last record (writer
 * crashed mid-write) is ignored and reported in `truncatedBytes`; anything else malformed is a
 * CaptureFormatError naming the byte offset.
 */
import fs from 'node:fs';
import type { NormalizedTick } from '../../contracts/market.js';
import {
  CaptureFormatError,
  HEADER_SIZE,
  MAX_SYMBOL_BYTES,
  RECORD_SIZE,
  RecordType,
  SYMBOL,
  TICK,
  decodeHeader,
  recordViews,
  venueById,
  type CaptureHeader,
} from './format.js';

export interface CaptureReaderOptions {
  /** Records per read; default 43690 (~4 MiB). */
  chunkRecords?: number;
}

export class CaptureReader {
  truncatedBytes = 0;
  private readonly symbols = new Map<number, string>();

  private constructor(
    readonly path: string,
    readonly header: CaptureHeader,
    private readonly chunkRecords: number,
  ) {}

  static async open(file: string, opts: CaptureReaderOptions = {}): Promise<CaptureReader> {
    const fh = await fs.promises.open(file, 'r');
    try {
      const head = Buffer.alloc(HEADER_SIZE);
      const { bytesRead } = await fh.read(head, 0, HEADER_SIZE, 0);
      const header = decodeHeader(head.subarray(0, bytesRead), file);
      return new CaptureReader(file, header, opts.chunkRecords ?? 43_690);
    } finally {
      await fh.close();
    }
  }

  /** Ticks in file order, in batches of up to chunkRecords. */
  async *batches(): AsyncGenerator<NormalizedTick[]> {
    const fh = await fs.promises.open(this.path, 'r');
    try {
      const buf = Buffer.alloc(this.chunkRecords * RECORD_SIZE);
      let pos = HEADER_SIZE;
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        const whole = bytesRead - (bytesRead % RECORD_SIZE);
        if (whole === 0) {
          this.truncatedBytes = bytesRead;
          return;
        }
        const out = this.decode(buf, whole, pos);
        pos += whole;
        if (out.length > 0) yield out;
        if (bytesRead < buf.length) {
          this.truncatedBytes = bytesRead - whole;
          return;
        }
      }
    } finally {
      await fh.close();
    }
  }

  async *ticks(): AsyncGenerator<NormalizedTick> {
    for await (const batch of this.batches()) yield* batch;
  }

  async readAll(): Promise<NormalizedTick[]> {
    const all: NormalizedTick[] = [];
    for await (const b of this.batches()) for (const t of b) all.push(t);
    return all;
  }

  private decode(b: Buffer, length: number, fileOffset: number): NormalizedTick[] {
    const out: NormalizedTick[] = [];
    const v = recordViews(b);
    // The previous tick's (venue, symbol) ids and names: runs of one stream skip both map lookups.
    let lastVenueId = -1;
    let lastSymbolId = -1;
    let lastVenue: NormalizedTick['venue'] = 'binance'; // placeholders, read only after a lookup
    let lastSymbol = '';
    for (let o = 0; o < length; o += RECORD_SIZE) {
      const type = b[o]!;
      if (type === RecordType.TICK && v !== undefined) {
        const venueId = v.u16[(o >>> 1) + 1]!;
        const symbolId = v.u32[(o >>> 2) + 1]!;
        if (venueId !== lastVenueId || symbolId !== lastSymbolId) {
          const venue = venueById(venueId);
          const symbol = this.symbols.get(venueId * 0x1_0000_0000 + symbolId);
          if (venue === undefined || symbol === undefined) {
            throw new CaptureFormatError(this.path, fileOffset + o, `tick for undefined venue/symbol ${venueId}/${symbolId}`);
          }
          lastVenueId = venueId;
          lastSymbolId = symbolId;
          lastVenue = venue;
          lastSymbol = symbol;
        }
        const venue = lastVenue;
        const symbol = lastSymbol;
        const w = o >>> 3;
        const aggressor = v.i8[o + 1]!;
        out.push({
          exchTsNs: v.i64[w + 1]!,
          recvTsNs: v.i64[w + 2]!,
          venueId,
          symbolId,
          venue,
          symbol,
          bid: v.f64[w + 4]!,
          ask: v.f64[w + 5]!,
          bidSize: v.f64[w + 6]!,
          askSize: v.f64[w + 7]!,
          sequence: v.u64[w + 3]!,
          flags: v.u32[(o >>> 2) + 20]!,
          lastPx: v.f64[w + 8]!,
          lastQty: v.f64[w + 9]!,
          aggressor: aggressor > 0 ? 1 : aggressor < 0 ? -1 : 0,
        });
      } else if (type === RecordType.TICK) {
        const venueId = b.readUInt16LE(o + TICK.venueId);
        const symbolId = b.readUInt32LE(o + TICK.symbolId);
        const venue = venueById(venueId);
        const symbol = this.symbols.get(venueId * 0x1_0000_0000 + symbolId);
        if (venue === undefined || symbol === undefined) {
          throw new CaptureFormatError(this.path, fileOffset + o, `tick for undefined venue/symbol ${venueId}/${symbolId}`);
        }
        const aggressor = b.readInt8(o + TICK.aggressor);
        out.push({
          exchTsNs: b.readBigInt64LE(o + TICK.exchTsNs),
          recvTsNs: b.readBigInt64LE(o + TICK.recvTsNs),
          venueId,
          symbolId,
          venue,
          symbol,
          bid: b.readDoubleLE(o + TICK.bid),
          ask: b.readDoubleLE(o + TICK.ask),
          bidSize: b.readDoubleLE(o + TICK.bidSize),
          askSize: b.readDoubleLE(o + TICK.askSize),
          sequence: b.readBigUInt64LE(o + TICK.sequence),
          flags: b.readUInt32LE(o + TICK.flags),
          lastPx: b.readDoubleLE(o + TICK.lastPx),
          lastQty: b.readDoubleLE(o + TICK.lastQty),
          aggressor: aggressor > 0 ? 1 : aggressor < 0 ? -1 : 0,
        });
      } else if (type === RecordType.SYMBOL) {
        const venueId = b.readUInt16LE(o + SYMBOL.venueId);
        if (venueById(venueId) === undefined) {
          throw new CaptureFormatError(this.path, fileOffset + o, `symbol record for unknown venue id ${venueId}`);
        }
        const len = b[o + SYMBOL.length]!;
        if (len === 0 || len > MAX_SYMBOL_BYTES) {
          throw new CaptureFormatError(this.path, fileOffset + o, `symbol record with bad length ${len}`);
        }
        const name = b.toString('utf8', o + SYMBOL.name, o + SYMBOL.name + len);
        this.symbols.set(venueId * 0x1_0000_0000 + b.readUInt32LE(o + SYMBOL.symbolId), name);
        lastVenueId = -1; // a (re)definition: look the next tick's names up again
      } else {
        throw new CaptureFormatError(this.path, fileOffset + o, `unknown record type ${type}`);
      }
    }
    return out;
  }
}
