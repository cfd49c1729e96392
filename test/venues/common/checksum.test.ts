import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OrderBook } from '../../../src/venues/common/book.js';
import { krakenChecksum, okxChecksum } from '../../../src/venues/common/checksum.js';
import {
  CRC32_INIT,
  crc32,
  crc32Append,
  crc32Bytes,
  crc32Finish,
  crc32Signed,
  crc32Update,
  crc32UpdateChar,
} from '../../../src/venues/common/crc32.js';
import { sharedDataDir } from '../../../src/simulators/recordings.js';

const data = sharedDataDir();
const json = (...p: string[]) => JSON.parse(readFileSync(path.join(data, ...p), 'utf8')) as Record<string, unknown>;

describe('crc32', () => {
  it('crc32Append folds a string hashed from 0 into any register exactly as hashing it there (linearity), for every length', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (let len = 0; len <= 80; len++) {
      const s = Array.from({ length: len }, () => String.fromCharCode(32 + Math.floor(rnd() * 95))).join('');
      for (const c of [CRC32_INIT, 0, 0x12345678 | 0, -1, (rnd() * 2 ** 32) | 0]) {
        expect(crc32Append(c, crc32Update(0, s), len) >>> 0).toBe(crc32Update(c, s) >>> 0);
      }
    }
  });

  it('the four-at-a-time incremental update equals the byte-wise CRC for every length and split', () => {
    let seed = 9;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
    const byteWise = (c: number, str: string) => {
      for (let i = 0; i < str.length; i++) c = crc32UpdateChar(c, str.charCodeAt(i));
      return c;
    };
    for (let k = 0; k < 5000; k++) {
      const len = Math.floor(rnd() * 40);
      const str = Array.from({ length: len }, () => String.fromCharCode(32 + Math.floor(rnd() * 95))).join('');
      const cut = Math.floor(rnd() * (len + 1));
      const got = crc32Update(crc32Update(CRC32_INIT, str.slice(0, cut)), str.slice(cut));
      expect(got >>> 0).toBe(byteWise(CRC32_INIT, str) >>> 0);
    }
  });

  it('matches the standard check value and zlib on arbitrary bytes', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(crc32('')).toBe(0);
    // Cross-check against an independent implementation: gzip's trailer holds the CRC-32 of its input.
    const buf = createHash('sha256').update('seed').digest();
    const gz = gzipSync(buf);
    expect(crc32Bytes(buf)).toBe(gz.readUInt32LE(gz.length - 8));
  });

  it('incremental updates equal the checksum of the concatenation', () => {
    const parts = ['3366.1', ':', '7', ':', '3366.8', '', '9'];
    let c = CRC32_INIT;
    for (const p of parts) c = crc32Update(c, p);
    expect(crc32Finish(c)).toBe(crc32(parts.join('')));
    expect(crc32Finish(crc32UpdateChar(crc32Update(CRC32_INIT, 'ab'), 99))).toBe(crc32('abc'));
  });

  it('gives the signed form OKX compares against', () => {
    expect(crc32Signed('3366.1:7:3366.8:9:3366:6:3368:8')).toBe(-1881014294);
  });
});

describe('Kraken v2 checksum vectors', () => {
  const v = json('kraken', 'kraken_v2_checksum_vectors.json') as {
    vectors: Array<{
      name: string;
      expected_checksum: number;
      message: {
        data: Array<{
          bids: Array<{ price: string | number; qty: string | number }>;
          asks: Array<{ price: string | number; qty: string | number }>;
        }>;
      };
    }>;
  };
  it.each(v.vectors.map((x) => [x.name, x] as const))('%s', (_n, x) => {
    const b = new OrderBook();
    const d = x.message.data[0]!;
    for (const l of d.bids) b.bids.set(Number(l.price), Number(l.qty), String(l.price), String(l.qty));
    for (const l of d.asks) b.asks.set(Number(l.price), Number(l.qty), String(l.price), String(l.qty));
    expect(krakenChecksum(b, 1, 8)).toBe(x.expected_checksum);
    // A one-lot change anywhere in the top 10 changes the checksum.
    b.bids.at(3)!.qty += 1e-8;
    expect(krakenChecksum(b, 1, 8)).not.toBe(x.expected_checksum);
  });
});

describe('OKX checksum vectors', () => {
  type Msg = { arg: { instId: string }; data: Array<{ bids: string[][]; asks: string[][] }> };
  const v = json('okx', 'okx_checksum_vectors.json') as {
    vectors: Array<{ name: string; expected_checksum?: number; message?: Msg; computed?: number; stated?: number }>;
  };
  const books = new Map<string, OrderBook>();
  const apply = (m: Msg) => {
    let b = books.get(m.arg.instId);
    if (!b) books.set(m.arg.instId, (b = new OrderBook()));
    for (const [p, s] of m.data[0]!.bids) b.bids.set(Number(p), Number(s), p!, s!);
    for (const [p, s] of m.data[0]!.asks) b.asks.set(Number(p), Number(s), p!, s!);
    return b;
  };
  // Snapshots come first in the file, then first updates applied on top of them.
  const real = v.vectors.filter((x) => x.message !== undefined && x.expected_checksum !== undefined);
  it.each(real.map((x) => [x.name, x] as const))('%s', (_n, x) => {
    expect(okxChecksum(apply(x.message!))).toBe(x.expected_checksum);
  });

  it('rejects the docs sample whose stated checksum does not match its own levels (the documented trap)', () => {
    const line = readFileSync(path.join(data, 'okx', 'nautilus_okx_ws_samples.jsonl'), 'utf8').split('\n')[0]!;
    const m = (JSON.parse(line) as { msg: Msg & { data: Array<{ checksum: number }> } }).msg;
    const b = new OrderBook();
    for (const [p, s] of m.data[0]!.bids) b.bids.set(Number(p), Number(s), p!, s!);
    for (const [p, s] of m.data[0]!.asks) b.asks.set(Number(p), Number(s), p!, s!);
    const trap = v.vectors.find((x) => x.name.startsWith('TRAP'))!;
    expect(okxChecksum(b)).toBe(trap.computed);
    expect(okxChecksum(b)).not.toBe(m.data[0]!.checksum);
  });
});
