/**
 * Streaming capture reader. Reads large chunks (default 4 MiB = 43690 records) and decodes them into
 * batches of NormalizedTick, so the cost per record is the decode alone. A torn last record (writer
 * crashed mid-write) is ignored and reported in `truncatedBytes`; anything else malformed is a
 * CaptureFormatError naming the byte offset.
 */
import fs from 'node:fs';
import type { NormalizedTick, VenueName } from '../../contracts/market.js';
import { StreamTable, TickColumns } from './columns.js';
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

  /**
   * The same ticks as `batches`, as columns (no object or BigInt per record): the backtest's feed.
   * One TickColumns is reused for every batch: a batch is valid until the generator is resumed.
   * `streams` numbers the (venue, symbol) streams; pass one table to every reader of a run.
   */
  async *columns(streams: StreamTable = new StreamTable()): AsyncGenerator<TickColumns> {
    const fh = await fs.promises.open(this.path, 'r');
    try {
      const buf = Buffer.alloc(this.chunkRecords * RECORD_SIZE);
      const cols = new TickColumns(this.chunkRecords, streams);
      let pos = HEADER_SIZE;
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        const whole = bytesRead - (bytesRead % RECORD_SIZE);
        if (whole === 0) {
          this.truncatedBytes = bytesRead;
          return;
        }
        cols.clear();
        this.decodeColumns(buf, whole, pos, cols);
        pos += whole;
        if (cols.count > 0) yield cols;
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

  /** The stream of a tick record's (venue id, symbol id), or a CaptureFormatError for an undefined one. */
  private streamOf(venueId: number, symbolId: number, streams: StreamTable, fileOffset: number): number {
    const venue: VenueName | undefined = venueById(venueId);
    const symbol = this.symbols.get(venueId * 0x1_0000_0000 + symbolId);
    if (venue === undefined || symbol === undefined) {
      throw new CaptureFormatError(this.path, fileOffset, `tick for undefined venue/symbol ${venueId}/${symbolId}`);
    }
    return streams.idOf(venue, symbol);
  }

  private decodeColumns(b: Buffer, length: number, fileOffset: number, cols: TickColumns): void {
    const v = recordViews(b);
    let lastVenueId = -1;
    let lastSymbolId = -1;
    let lastStream = 0;
    for (let o = 0; o < length; o += RECORD_SIZE) {
      const type = b[o]!;
      if (type === RecordType.TICK) {
        const n = cols.count++;
        if (v !== undefined) {
          // Aligned little-endian host: words straight from the record into the columns.
          const w = o >>> 2;
          const venueId = v.u16[(o >>> 1) + 1]!;
          const symbolId = v.u32[w + 1]!;
          if (venueId !== lastVenueId || symbolId !== lastSymbolId) {
            lastStream = this.streamOf(venueId, symbolId, cols.streams, fileOffset + o);
            lastVenueId = venueId;
            lastSymbolId = symbolId;
          }
          const a = n << 1;
          cols.exchWords[a] = v.u32[w + 2]!;
          cols.exchWords[a + 1] = v.u32[w + 3]!;
          cols.recvWords[a] = v.u32[w + 4]!;
          cols.recvWords[a + 1] = v.u32[w + 5]!;
          cols.sequenceWords[a] = v.u32[w + 6]!;
          cols.sequenceWords[a + 1] = v.u32[w + 7]!;
          const f = o >>> 3;
          cols.bid[n] = v.f64[f + 4]!;
          cols.ask[n] = v.f64[f + 5]!;
          cols.bidSize[n] = v.f64[f + 6]!;
          cols.askSize[n] = v.f64[f + 7]!;
          cols.lastPx[n] = v.f64[f + 8]!;
          cols.lastQty[n] = v.f64[f + 9]!;
          cols.flags[n] = v.u32[w + 20]!;
          cols.venueId[n] = venueId;
          cols.symbolId[n] = symbolId;
          cols.aggressor[n] = Math.sign(v.i8[o + 1]!);
          cols.stream[n] = lastStream;
        } else {
          const venueId = b.readUInt16LE(o + TICK.venueId);
          const symbolId = b.readUInt32LE(o + TICK.symbolId);
          cols.stream[n] = this.streamOf(venueId, symbolId, cols.streams, fileOffset + o);
          cols.exchTsNs[n] = b.readBigInt64LE(o + TICK.exchTsNs);
          cols.recvTsNs[n] = b.readBigInt64LE(o + TICK.recvTsNs);
          cols.sequence[n] = b.readBigUInt64LE(o + TICK.sequence);
          cols.bid[n] = b.readDoubleLE(o + TICK.bid);
          cols.ask[n] = b.readDoubleLE(o + TICK.ask);
          cols.bidSize[n] = b.readDoubleLE(o + TICK.bidSize);
          cols.askSize[n] = b.readDoubleLE(o + TICK.askSize);
          cols.lastPx[n] = b.readDoubleLE(o + TICK.lastPx);
          cols.lastQty[n] = b.readDoubleLE(o + TICK.lastQty);
          cols.flags[n] = b.readUInt32LE(o + TICK.flags);
          cols.venueId[n] = venueId;
          cols.symbolId[n] = symbolId;
          cols.aggressor[n] = Math.sign(b.readInt8(o + TICK.aggressor));
        }
      } else if (type === RecordType.SYMBOL) {
        this.defineSymbol(b, o, fileOffset);
        lastVenueId = -1; // a (re)definition: resolve the next tick's stream again
      } else {
        throw new CaptureFormatError(this.path, fileOffset + o, `unknown record type ${type}`);
      }
    }
  }

  private defineSymbol(b: Buffer, o: number, fileOffset: number): void {
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
