/**
 * Ticks as columns: one typed array per field, so a batch of ticks costs a few array writes per tick
 * and no allocation (a `NormalizedTick` is an object plus three BigInts; at a million ticks that is
 * the backtest's largest cost after the kernel itself: decode ~1 s and a fifth of the run in GC).
 * The 64-bit fields (the two times and the sequence) are BigInt64/BigUint64 columns filled and copied
 * through 32-bit word views of the same memory, so moving a row never makes a BigInt; reading one
 * element (`recvTsNs[i]`) does, and only where a consumer needs the value as a bigint.
 */
import type { NormalizedTick, VenueName } from '../../contracts/market.js';
import { LITTLE_ENDIAN } from './format.js';

/** Word positions of a 64-bit element's high and low halves in host order. */
const HI = LITTLE_ENDIAN ? 1 : 0;
const LO = 1 - HI;

/** (venue, symbol) streams of a run, numbered from 0 in order of appearance; shared by every batch of one feed. */
export class StreamTable {
  private readonly index = new Map<string, number>();
  readonly venues: VenueName[] = [];
  readonly symbols: string[] = [];

  /** The stream's number, assigned on first sight. */
  idOf(venue: VenueName, symbol: string): number {
    const key = `${venue}\u0000${symbol}`;
    let id = this.index.get(key);
    if (id === undefined) {
      id = this.venues.length;
      this.index.set(key, id);
      this.venues.push(venue);
      this.symbols.push(symbol);
    }
    return id;
  }

  get size(): number {
    return this.venues.length;
  }
}

export class TickColumns {
  count = 0;
  readonly exchTsNs: BigInt64Array;
  readonly recvTsNs: BigInt64Array;
  readonly sequence: BigUint64Array;
  /** Two little-endian 32-bit words per row of the 64-bit columns above (same memory). */
  readonly exchWords: Uint32Array;
  readonly recvWords: Uint32Array;
  readonly sequenceWords: Uint32Array;
  readonly bid: Float64Array;
  readonly ask: Float64Array;
  readonly bidSize: Float64Array;
  readonly askSize: Float64Array;
  readonly lastPx: Float64Array;
  readonly lastQty: Float64Array;
  readonly flags: Uint32Array;
  readonly venueId: Uint16Array;
  /** The source's symbol id (a capture's own numbering), kept so that `row` gives back the tick read. */
  readonly symbolId: Uint32Array;
  readonly aggressor: Int8Array;
  /** Index into `streams`. */
  readonly stream: Uint32Array;

  constructor(
    readonly capacity: number,
    readonly streams: StreamTable,
  ) {
    if (!Number.isInteger(capacity) || capacity <= 0) throw new RangeError(`TickColumns capacity must be > 0, got ${capacity}`);
    this.exchTsNs = new BigInt64Array(capacity);
    this.recvTsNs = new BigInt64Array(capacity);
    this.sequence = new BigUint64Array(capacity);
    this.exchWords = new Uint32Array(this.exchTsNs.buffer);
    this.recvWords = new Uint32Array(this.recvTsNs.buffer);
    this.sequenceWords = new Uint32Array(this.sequence.buffer);
    this.bid = new Float64Array(capacity);
    this.ask = new Float64Array(capacity);
    this.bidSize = new Float64Array(capacity);
    this.askSize = new Float64Array(capacity);
    this.lastPx = new Float64Array(capacity);
    this.lastQty = new Float64Array(capacity);
    this.flags = new Uint32Array(capacity);
    this.venueId = new Uint16Array(capacity);
    this.symbolId = new Uint32Array(capacity);
    this.aggressor = new Int8Array(capacity);
    this.stream = new Uint32Array(capacity);
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  clear(): void {
    this.count = 0;
  }

  venue(i: number): VenueName {
    return this.streams.venues[this.stream[i]!]!;
  }

  symbol(i: number): string {
    return this.streams.symbols[this.stream[i]!]!;
  }

  /** Appends a tick object (sources that produce objects: venue adapters, ClickHouse). */
  pushTick(t: NormalizedTick): void {
    if (this.count >= this.capacity) throw new RangeError('TickColumns full');
    const n = this.count++;
    this.exchTsNs[n] = t.exchTsNs;
    this.recvTsNs[n] = t.recvTsNs;
    this.sequence[n] = t.sequence;
    this.bid[n] = t.bid;
    this.ask[n] = t.ask;
    this.bidSize[n] = t.bidSize;
    this.askSize[n] = t.askSize;
    this.lastPx[n] = t.lastPx;
    this.lastQty[n] = t.lastQty;
    this.flags[n] = t.flags >>> 0;
    this.venueId[n] = t.venueId;
    this.symbolId[n] = t.symbolId;
    this.aggressor[n] = t.aggressor;
    this.stream[n] = this.streams.idOf(t.venue, t.symbol);
  }

  /** Appends row `i` of `src`, which must number its streams with the same table. */
  copyRow(src: TickColumns, i: number): void {
    if (this.count >= this.capacity) throw new RangeError('TickColumns full');
    if (src.streams !== this.streams) throw new RangeError('TickColumns.copyRow across stream tables');
    const n = this.count++;
    const a = n << 1;
    const b = i << 1;
    this.exchWords[a] = src.exchWords[b]!;
    this.exchWords[a + 1] = src.exchWords[b + 1]!;
    this.recvWords[a] = src.recvWords[b]!;
    this.recvWords[a + 1] = src.recvWords[b + 1]!;
    this.sequenceWords[a] = src.sequenceWords[b]!;
    this.sequenceWords[a + 1] = src.sequenceWords[b + 1]!;
    this.bid[n] = src.bid[i]!;
    this.ask[n] = src.ask[i]!;
    this.bidSize[n] = src.bidSize[i]!;
    this.askSize[n] = src.askSize[i]!;
    this.lastPx[n] = src.lastPx[i]!;
    this.lastQty[n] = src.lastQty[i]!;
    this.flags[n] = src.flags[i]!;
    this.venueId[n] = src.venueId[i]!;
    this.symbolId[n] = src.symbolId[i]!;
    this.aggressor[n] = src.aggressor[i]!;
    this.stream[n] = src.stream[i]!;
  }

  /** Keeps the rows whose `keep[stream]` is true, in order (a symbol filter applied in place). */
  retain(keep: readonly boolean[]): void {
    let n = 0;
    for (let i = 0; i < this.count; i++) {
      if (keep[this.stream[i]!] !== true) continue;
      if (n !== i) this.moveRow(i, n);
      n++;
    }
    this.count = n;
  }

  private moveRow(from: number, to: number): void {
    const a = to << 1;
    const b = from << 1;
    this.exchWords[a] = this.exchWords[b]!;
    this.exchWords[a + 1] = this.exchWords[b + 1]!;
    this.recvWords[a] = this.recvWords[b]!;
    this.recvWords[a + 1] = this.recvWords[b + 1]!;
    this.sequenceWords[a] = this.sequenceWords[b]!;
    this.sequenceWords[a + 1] = this.sequenceWords[b + 1]!;
    this.bid[to] = this.bid[from]!;
    this.ask[to] = this.ask[from]!;
    this.bidSize[to] = this.bidSize[from]!;
    this.askSize[to] = this.askSize[from]!;
    this.lastPx[to] = this.lastPx[from]!;
    this.lastQty[to] = this.lastQty[from]!;
    this.flags[to] = this.flags[from]!;
    this.venueId[to] = this.venueId[from]!;
    this.symbolId[to] = this.symbolId[from]!;
    this.aggressor[to] = this.aggressor[from]!;
    this.stream[to] = this.stream[from]!;
  }

  /**
   * Whether row `i` was received before row `j` of `other` (strictly), compared on the 32-bit words:
   * the merge of several sources decides without making a BigInt.
   */
  recvBefore(i: number, other: TickColumns, j: number): boolean {
    const hi = this.recvWords[(i << 1) + HI]! | 0;
    const ohi = other.recvWords[(j << 1) + HI]! | 0;
    if (hi !== ohi) return hi < ohi;
    return this.recvWords[(i << 1) + LO]! < other.recvWords[(j << 1) + LO]!;
  }

  /** Row `i` as the object the object readers give (tests, writers and other object consumers). */
  row(i: number): NormalizedTick {
    const a = this.aggressor[i]!;
    return {
      exchTsNs: this.exchTsNs[i]!,
      recvTsNs: this.recvTsNs[i]!,
      venueId: this.venueId[i]!,
      symbolId: this.symbolId[i]!,
      venue: this.venue(i),
      symbol: this.symbol(i),
      bid: this.bid[i]!,
      ask: this.ask[i]!,
      bidSize: this.bidSize[i]!,
      askSize: this.askSize[i]!,
      sequence: this.sequence[i]!,
      flags: this.flags[i]!,
      lastPx: this.lastPx[i]!,
      lastQty: this.lastQty[i]!,
      aggressor: a > 0 ? 1 : a < 0 ? -1 : 0,
    };
  }
}
