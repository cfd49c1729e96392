/**
 * The executor's write-ahead log: typed records over SegmentLog and the replay that rebuilds the
 * order map, positions and nonce watermarks after a restart.
 *
 * Records ([u8 type][body]):
 *  INTENT      the encoded OrderRequest, byte for byte what goes on ord.req (fsynced before send)
 *  SENT        client id: the request left (written after the send, durable with the next commit)
 *  ACK         an encoded OrderAck from the venue (reply or ord.ack stream)
 *  FAILED      client id + detail: the venue was asked and never had the order
 *  POSITIONS   PortfolioState (checkpoint only: replaces the book)
 *  NONCE       venue + reserved watermark: nonces below it may have been used
 *  ORDER_STATE checkpoint copy of an open order (state + request bytes); does not touch positions
 */
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { OrderAckSchema, OrderRequestSchema, PortfolioStateSchema, type OrderAck } from '../../contracts/index.js';
import { PositionBook } from '../../positions/book.js';
import { OrderRecord, OrderState, isTerminal } from '../order.js';
import { SegmentLog, type SegmentLogOptions } from './segment-log.js';
import { KestrelError } from '../../contracts/errors.js';

export enum RecordType {
  INTENT = 1,
  SENT = 2,
  ACK = 3,
  FAILED = 4,
  POSITIONS = 5,
  NONCE = 6,
  ORDER_STATE = 7,
}

export class WalRecordError extends KestrelError {
  override readonly name = 'WalRecordError';
  constructor(message: string, options?: ErrorOptions) {
    super('WAL_RECORD_INVALID', message, options);
  }
}

/** State the WAL describes; the executor mutates the same object, so checkpoints read it live. */
export interface JournalState {
  orders: Map<string, OrderRecord>;
  book: PositionBook;
  /** Highest reserved (durable) nonce watermark per venue. */
  nonceWatermark: Map<string, bigint>;
  /** Signal dedupe keys (trace ids) of orders in the replayed WAL. */
  traceIds: Set<string>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function tagged(type: RecordType, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + body.length);
  out[0] = type;
  out.set(body, 1);
  return out;
}

export function orderFromRequest(bytes: Uint8Array): OrderRecord {
  const r = fromBinary(OrderRequestSchema, bytes);
  return new OrderRecord(
    r.clientId,
    r.venue,
    r.symbol,
    r.side,
    r.size,
    r.price,
    r.nonce,
    r.orderGroupId,
    r.traceId,
    r.strategyId,
    r.shadow,
    r.createdTsNs,
    bytes,
  );
}

function encodeOrderState(o: OrderRecord): Uint8Array {
  const vid = enc.encode(o.venueOrderId);
  const head = 1 + 24 + 1 + 2 + vid.length; // state, 3 x f64, inDoubt, u16 id length, id
  const buf = new Uint8Array(1 + head + o.requestBytes.length);
  const dv = new DataView(buf.buffer);
  buf[0] = RecordType.ORDER_STATE;
  buf[1] = o.state;
  dv.setFloat64(2, o.filledQty, true);
  dv.setFloat64(10, o.avgPrice, true);
  dv.setFloat64(18, o.fees, true);
  buf[26] = o.inDoubt ? 1 : 0;
  dv.setUint16(27, vid.length, true);
  buf.set(vid, 29);
  buf.set(o.requestBytes, 29 + vid.length);
  return buf;
}

export class OrderJournal {
  readonly state: JournalState;

  private constructor(
    readonly log: SegmentLog,
    state: JournalState,
  ) {
    this.state = state;
  }

  /** Open the WAL directory, replay it, and return the journal positioned for appending. */
  static open(dir: string, opts: Omit<SegmentLogOptions, 'checkpoint'> = {}): { journal: OrderJournal; truncatedBytes: number } {
    const state: JournalState = {
      orders: new Map(),
      book: new PositionBook(),
      nonceWatermark: new Map(),
      traceIds: new Set(),
    };
    let journal: OrderJournal | undefined;
    const { log, recovered } = SegmentLog.open(dir, { ...opts, checkpoint: () => journal!.checkpointRecords() });
    journal = new OrderJournal(log, state);
    for (const rec of recovered.records) journal.replay(rec);
    return { journal, truncatedBytes: recovered.truncatedBytes };
  }

  intent(o: OrderRecord): void {
    this.log.appendTagged(RecordType.INTENT, o.requestBytes);
  }

  sent(clientId: string): void {
    this.log.appendTagged(RecordType.SENT, enc.encode(clientId));
  }

  /** An ack as received (its wire bytes when available: no re-encoding). */
  ack(ack: OrderAck, wire?: Uint8Array): void {
    this.log.appendTagged(RecordType.ACK, wire ?? toBinary(OrderAckSchema, ack));
  }

  failed(clientId: string, detail: string): void {
    this.log.append(tagged(RecordType.FAILED, enc.encode(`${clientId}\n${detail}`)));
  }

  nonce(venue: string, watermark: bigint): void {
    const v = enc.encode(venue);
    const buf = new Uint8Array(1 + 8 + v.length);
    buf[0] = RecordType.NONCE;
    new DataView(buf.buffer).setBigUint64(1, watermark, true);
    buf.set(v, 9);
    this.log.append(buf);
  }

  /** fdatasync everything appended so far. */
  commit(): number {
    return this.log.commit();
  }

  /**
   * Write everything appended so far and call `cb` once it is durable (group commit on the libuv
   * pool: the event loop is not held for the flush). See SegmentLog.commitDurable.
   */
  commitDurable(cb: (err?: Error) => void): void {
    this.log.commitDurable(cb);
  }

  /** Write everything appended so far; durable after a background flush or the next commit. */
  commitLazy(): number {
    return this.log.commitLazy();
  }

  get hasPending(): boolean {
    return this.log.hasPending;
  }

  close(): void {
    this.log.close();
  }

  /** What a fresh segment starts with: nonce watermarks, positions, open orders. */
  private checkpointRecords(): Uint8Array[] {
    const recs: Uint8Array[] = [];
    for (const [venue, wm] of this.state.nonceWatermark) {
      const v = enc.encode(venue);
      const buf = new Uint8Array(9 + v.length);
      buf[0] = RecordType.NONCE;
      new DataView(buf.buffer).setBigUint64(1, wm, true);
      buf.set(v, 9);
      recs.push(buf);
    }
    recs.push(tagged(RecordType.POSITIONS, toBinary(PortfolioStateSchema, this.state.book.snapshot())));
    for (const o of this.state.orders.values()) if (!isTerminal(o.state) || o.inDoubt) recs.push(encodeOrderState(o));
    return recs;
  }

  private replay(rec: Uint8Array): void {
    const type = rec[0] as RecordType;
    const body = rec.subarray(1);
    const s = this.state;
    switch (type) {
      case RecordType.INTENT: {
        const o = orderFromRequest(Uint8Array.prototype.slice.call(body));
        if (!s.orders.has(o.clientId)) s.orders.set(o.clientId, o);
        if (o.traceId) s.traceIds.add(o.traceId);
        return;
      }
      case RecordType.SENT: {
        s.orders.get(dec.decode(body))?.markSent(0n);
        return;
      }
      case RecordType.ACK: {
        const ack = fromBinary(OrderAckSchema, body);
        const o = s.orders.get(ack.clientId);
        if (!o) return; // an ack for an order whose intent aged out of retention: nothing to rebuild
        const d = o.apply(ack);
        if (d.qty > 0) s.book.applyFill(o.venue, o.symbol, o.side, d.qty, d.price, d.fee, ack.tsNs);
        return;
      }
      case RecordType.FAILED: {
        const text = dec.decode(body);
        const nl = text.indexOf('\n');
        s.orders.get(nl < 0 ? text : text.slice(0, nl))?.markFailed(nl < 0 ? '' : text.slice(nl + 1));
        return;
      }
      case RecordType.POSITIONS:
        s.book.load(fromBinary(PortfolioStateSchema, body));
        return;
      case RecordType.NONCE: {
        const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
        const wm = dv.getBigUint64(0, true);
        const venue = dec.decode(body.subarray(8));
        if (wm > (s.nonceWatermark.get(venue) ?? 0n)) s.nonceWatermark.set(venue, wm);
        return;
      }
      case RecordType.ORDER_STATE: {
        const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
        const vlen = dv.getUint16(26, true);
        const o = orderFromRequest(Uint8Array.prototype.slice.call(body.subarray(28 + vlen)));
        const existing = s.orders.get(o.clientId) ?? o;
        existing.state = body[0] as OrderState;
        existing.filledQty = dv.getFloat64(1, true);
        existing.avgPrice = dv.getFloat64(9, true);
        existing.fees = dv.getFloat64(17, true);
        existing.inDoubt = body[25] === 1;
        existing.venueOrderId = dec.decode(body.subarray(28, 28 + vlen));
        s.orders.set(existing.clientId, existing);
        if (existing.traceId) s.traceIds.add(existing.traceId);
        return;
      }
      default:
        throw new WalRecordError(`unknown WAL record type ${String(type)}`);
    }
  }
}
