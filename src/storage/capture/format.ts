/**
 * Capture file format v1: the binary tick recording used when ClickHouse is not configured, and the
 * replay input. Fixed-size little-endian records after a fixed header, append-only, so a file can be
 * read while it is written, a torn tail (crash mid-write) is detected by length alone, and a reader
 * can seek to record n at HEADER_SIZE + n * RECORD_SIZE. Layout documented in docs/STORAGE.md.
 */
import { VENUE_IDS, type NormalizedTick, type VenueName } from '../../contracts/market.js';
import { KestrelError } from '../../contracts/errors.js';

export const MAGIC = 'KSTRLCAP';
export const VERSION = 1;
export const HEADER_SIZE = 64;
export const RECORD_SIZE = 96;

export const RecordType = { TICK: 1, SYMBOL: 2 } as const;

/** Byte offsets inside a tick record. */
export const TICK = {
  type: 0, // u8
  aggressor: 1, // i8
  venueId: 2, // u16
  symbolId: 4, // u32
  exchTsNs: 8, // i64
  recvTsNs: 16, // i64
  sequence: 24, // u64
  bid: 32, // f64
  ask: 40, // f64
  bidSize: 48, // f64
  askSize: 56, // f64
  lastPx: 64, // f64
  lastQty: 72, // f64
  flags: 80, // u32
  // 84..95 reserved, zero
} as const;

/** Byte offsets inside a symbol-definition record: (venueId, symbolId) -> canonical symbol. */
export const SYMBOL = {
  type: 0, // u8
  venueId: 2, // u16
  symbolId: 4, // u32
  length: 8, // u8, UTF-8 byte length
  name: 9, // up to MAX_SYMBOL_BYTES
} as const;
export const MAX_SYMBOL_BYTES = RECORD_SIZE - SYMBOL.name;

export class CaptureFormatError extends KestrelError {
  override readonly name = 'CaptureFormatError';
  constructor(
    readonly path: string,
    readonly offset: number,
    reason: string,
  ) {
    super('CAPTURE_FORMAT', `${path} at byte ${offset}: ${reason}`);
  }
}

/** Header flag: the records are the engine's ring input, in push order (see CaptureMeta.ringInput). */
export const HEADER_FLAG_RING_INPUT = 1;

/**
 * What a backtest needs to know about a capture besides its ticks (bytes 24..35 of the header; a file
 * written before these fields existed reads as time scale 1, not ring input).
 */
export interface CaptureMeta {
  /**
   * Recorded time / event time of the ticks: N when a session replayed its market data N× faster
   * (session.pace accelerated, speed N), so the receive stamps are compressed by N and the engine ran
   * with its time constants divided by N (engineParams). A backtest over the capture must do the same.
   */
  timeScale: number;
  /**
   * True when every record is a tick exactly as the session pushed it to an engine ring, in push
   * order, its receive stamp being the time the engine saw: a backtest over it feeds the engine the
   * same input, so it emits the same signals.
   */
  ringInput: boolean;
}

export interface CaptureHeader extends CaptureMeta {
  version: number;
  recordSize: number;
  createdNs: bigint;
}

export const HEADER = { createdNs: 16, timeScale: 24, flags: 32 } as const;

export function encodeHeader(createdNs: bigint, meta: Partial<CaptureMeta> = {}): Buffer {
  const timeScale = meta.timeScale ?? 1;
  if (!(Number.isFinite(timeScale) && timeScale > 0)) throw new RangeError(`capture time scale must be > 0, got ${timeScale}`);
  const b = Buffer.alloc(HEADER_SIZE);
  b.write(MAGIC, 0, 'latin1');
  b.writeUInt16LE(VERSION, 8);
  b.writeUInt16LE(HEADER_SIZE, 10);
  b.writeUInt16LE(RECORD_SIZE, 12);
  b.writeBigInt64LE(createdNs, HEADER.createdNs);
  b.writeDoubleLE(timeScale, HEADER.timeScale);
  b.writeUInt32LE(meta.ringInput ? HEADER_FLAG_RING_INPUT : 0, HEADER.flags);
  return b;
}

export function decodeHeader(b: Buffer, path: string): CaptureHeader {
  if (b.length < HEADER_SIZE) throw new CaptureFormatError(path, 0, `file shorter than the ${HEADER_SIZE}-byte header`);
  if (b.toString('latin1', 0, 8) !== MAGIC) throw new CaptureFormatError(path, 0, 'not a Kestrel capture file (bad magic)');
  const version = b.readUInt16LE(8);
  if (version !== VERSION) throw new CaptureFormatError(path, 8, `unsupported capture version ${version}`);
  const headerSize = b.readUInt16LE(10);
  const recordSize = b.readUInt16LE(12);
  if (headerSize !== HEADER_SIZE || recordSize !== RECORD_SIZE) {
    throw new CaptureFormatError(path, 10, `unexpected header/record size ${headerSize}/${recordSize}`);
  }
  // Zero: a file from before the field existed (its ticks were on recorded time).
  const scale = b.readDoubleLE(HEADER.timeScale);
  if (scale !== 0 && !(Number.isFinite(scale) && scale > 0))
    throw new CaptureFormatError(path, HEADER.timeScale, `bad time scale ${scale}`);
  return {
    version,
    recordSize,
    createdNs: b.readBigInt64LE(HEADER.createdNs),
    timeScale: scale === 0 ? 1 : scale,
    ringInput: (b.readUInt32LE(HEADER.flags) & HEADER_FLAG_RING_INPUT) !== 0,
  };
}

const VENUE_BY_ID: ReadonlyMap<number, VenueName> = new Map((Object.entries(VENUE_IDS) as [VenueName, number][]).map(([v, id]) => [id, v]));

export function venueById(id: number): VenueName | undefined {
  return VENUE_BY_ID.get(id);
}

/**
 * Typed-array views over a chunk buffer: on little-endian hosts (x86, ARM) records are read and
 * written through aligned views, 2-4x faster than Buffer's per-field methods. Records are 8-byte
 * aligned because the header and record sizes are multiples of 8 and chunk buffers start at 0.
 */
export interface RecordViews {
  u8: Uint8Array;
  i8: Int8Array;
  u16: Uint16Array;
  u32: Uint32Array;
  i64: BigInt64Array;
  u64: BigUint64Array;
  f64: Float64Array;
}

export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function recordViews(b: Buffer): RecordViews | undefined {
  if (!LITTLE_ENDIAN || b.byteOffset % 8 !== 0 || b.length % 8 !== 0) return undefined;
  const ab = b.buffer;
  const o = b.byteOffset;
  return {
    u8: new Uint8Array(ab, o, b.length),
    i8: new Int8Array(ab, o, b.length),
    u16: new Uint16Array(ab, o, b.length / 2),
    u32: new Uint32Array(ab, o, b.length / 4),
    i64: new BigInt64Array(ab, o, b.length / 8),
    u64: new BigUint64Array(ab, o, b.length / 8),
    f64: new Float64Array(ab, o, b.length / 8),
  };
}

/** encodeTick through aligned views; `o` is a record offset (multiple of 96). */
export function encodeTickViews(v: RecordViews, o: number, t: NormalizedTick): void {
  const w = o >>> 3;
  v.u8[o] = RecordType.TICK;
  v.i8[o + 1] = t.aggressor;
  v.u16[(o >>> 1) + 1] = t.venueId;
  v.u32[(o >>> 2) + 1] = t.symbolId;
  v.i64[w + 1] = t.exchTsNs;
  v.i64[w + 2] = t.recvTsNs;
  v.u64[w + 3] = t.sequence;
  v.f64[w + 4] = t.bid;
  v.f64[w + 5] = t.ask;
  v.f64[w + 6] = t.bidSize;
  v.f64[w + 7] = t.askSize;
  v.f64[w + 8] = t.lastPx;
  v.f64[w + 9] = t.lastQty;
  v.u32[(o >>> 2) + 20] = t.flags >>> 0;
  v.u32[(o >>> 2) + 21] = 0;
  v.u64[w + 11] = 0n;
}

/** Writes a tick record at `o` (the buffer must hold RECORD_SIZE bytes there; reserved bytes stay zero). */
export function encodeTick(b: Buffer, o: number, t: NormalizedTick): void {
  b[o + TICK.type] = RecordType.TICK;
  b.writeInt8(t.aggressor, o + TICK.aggressor);
  b.writeUInt16LE(t.venueId, o + TICK.venueId);
  b.writeUInt32LE(t.symbolId, o + TICK.symbolId);
  b.writeBigInt64LE(t.exchTsNs, o + TICK.exchTsNs);
  b.writeBigInt64LE(t.recvTsNs, o + TICK.recvTsNs);
  b.writeBigUInt64LE(t.sequence, o + TICK.sequence);
  b.writeDoubleLE(t.bid, o + TICK.bid);
  b.writeDoubleLE(t.ask, o + TICK.ask);
  b.writeDoubleLE(t.bidSize, o + TICK.bidSize);
  b.writeDoubleLE(t.askSize, o + TICK.askSize);
  b.writeDoubleLE(t.lastPx, o + TICK.lastPx);
  b.writeDoubleLE(t.lastQty, o + TICK.lastQty);
  b.writeUInt32LE(t.flags, o + TICK.flags);
  b.fill(0, o + 84, o + RECORD_SIZE); // reserved: chunk buffers are reused
}

export function encodeSymbol(b: Buffer, o: number, venueId: number, symbolId: number, symbol: string): void {
  const bytes = Buffer.from(symbol, 'utf8');
  if (bytes.length === 0 || bytes.length > MAX_SYMBOL_BYTES) {
    throw new RangeError(`symbol ${JSON.stringify(symbol)} must be 1..${MAX_SYMBOL_BYTES} UTF-8 bytes`);
  }
  b.fill(0, o, o + RECORD_SIZE);
  b[o + SYMBOL.type] = RecordType.SYMBOL;
  b.writeUInt16LE(venueId, o + SYMBOL.venueId);
  b.writeUInt32LE(symbolId, o + SYMBOL.symbolId);
  b[o + SYMBOL.length] = bytes.length;
  bytes.copy(b, o + SYMBOL.name);
}
