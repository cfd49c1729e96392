/**
 * Hand-written protobuf encoder for OrderRequest (kestrel.v1, proto/kestrel/v1/order.proto), the one
 * encoding on the hot path. Byte-identical to `toBinary(OrderRequestSchema, …)` (proto3: default
 * values omitted, fields in number order); test/execution/order-encoder.test.ts checks that on random
 * requests. About 10x cheaper than create()+toBinary() because nothing is built but the bytes.
 */
import type { OrderRequest } from '../contracts/index.js';

/** The OrderRequest contract's fields (src/contracts), without the protobuf-es message markers. */
export type OrderRequestFields = Omit<OrderRequest, '$typeName' | '$unknown'>;

const utf8 = new TextEncoder();
const f64 = new Float64Array(1);
const f64b = new Uint8Array(f64.buffer);

class Writer {
  buf: Uint8Array;
  pos = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
  byte(b: number): void {
    this.buf[this.pos++] = b;
  }
  varint32(v: number): void {
    this.ensure(5);
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }
  /** 64-bit varint from a bigint (two's complement for negatives, as protobuf int64). */
  varint64(v: bigint): void {
    this.ensure(10);
    let lo = Number(BigInt.asUintN(64, v) & 0xffffffffn) >>> 0;
    let hi = Number(BigInt.asUintN(64, v) >> 32n) >>> 0;
    while (hi > 0 || lo > 0x7f) {
      this.buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.buf[this.pos++] = lo;
  }
  string(tag: number, s: string): void {
    if (s.length === 0) return;
    this.ensure(1 + 5 + s.length * 3);
    this.buf[this.pos++] = tag;
    // Reserve one length byte (ASCII ids fit); move the bytes if the length needs more.
    const start = this.pos + 1;
    const { written } = utf8.encodeInto(s, this.buf.subarray(start));
    if (written! < 0x80) {
      this.buf[this.pos] = written!;
      this.pos = start + written!;
    } else {
      const bytes = this.buf.slice(start, start + written!);
      this.varint32(written!);
      this.ensure(written!);
      this.buf.set(bytes, this.pos);
      this.pos += written!;
    }
  }
  double(tag: number, v: number): void {
    if (v === 0 && !Object.is(v, -0)) return;
    this.ensure(9);
    this.buf[this.pos++] = tag;
    f64[0] = v;
    for (let i = 0; i < 8; i++) this.buf[this.pos++] = f64b[i]!;
  }
  enumv(tag: number, v: number): void {
    if (v === 0) return;
    this.ensure(1);
    this.buf[this.pos++] = tag;
    if (v < 0) this.varint64(BigInt(v));
    else this.varint32(v);
  }
}

/** Encode an OrderRequest exactly as toBinary(OrderRequestSchema) would. */
export function encodeOrderRequest(r: OrderRequestFields): Uint8Array {
  const w = new Writer(128 + r.clientId.length + r.symbol.length + r.strategyId.length + r.traceId.length + r.orderGroupId.length);
  w.string(0x0a, r.clientId);
  w.string(0x12, r.venue);
  w.string(0x1a, r.symbol);
  w.enumv(0x20, r.side);
  w.double(0x29, r.size);
  w.double(0x31, r.price);
  w.enumv(0x38, r.tif);
  w.enumv(0x40, r.orderType);
  w.string(0x4a, r.orderGroupId);
  if (r.nonce !== 0n) {
    w.ensure(1);
    w.byte(0x50);
    w.varint64(r.nonce);
  }
  w.string(0x5a, r.strategyId);
  w.string(0x62, r.traceId);
  if (r.shadow) {
    w.ensure(2);
    w.byte(0x68);
    w.byte(1);
  }
  if (r.createdTsNs !== 0n) {
    w.ensure(1);
    w.byte(0x70);
    w.varint64(r.createdTsNs);
  }
  return w.buf.subarray(0, w.pos);
}
