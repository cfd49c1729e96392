/**
 * The simulators' checksum implementation (zlib CRC-32, src/simulators/common/venue-checksums.ts)
 * against the venues' published vectors in shared/data. The simulators verify the adapters with it,
 * so it must agree with the venues on its own, not by sharing code with the adapters.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { krakenBookCrc, okxBookCrc } from '../../src/simulators/common/venue-checksums.js';
import { sharedDataDir } from '../../src/simulators/recordings.js';

const json = (...p: string[]) => JSON.parse(readFileSync(path.join(sharedDataDir(), ...p), 'utf8')) as Record<string, unknown>;

describe('simulator Kraken checksum (independent, zlib)', () => {
  type Lv = { price: string | number; qty: string | number };
  const v = json('kraken', 'kraken_v2_checksum_vectors.json') as {
    vectors: Array<{ name: string; expected_checksum: number; message: { data: Array<{ bids: Lv[]; asks: Lv[] }> } }>;
  };
  it('has vectors to check', () => expect(v.vectors.length).toBeGreaterThan(0));
  it.each(v.vectors.map((x) => [x.name, x] as const))('%s', (_n, x) => {
    const d = x.message.data[0]!;
    const side = (ls: Lv[], desc: boolean) =>
      ls.map((l) => [Number(l.price), Number(l.qty)] as const).sort((a, b) => (desc ? b[0] - a[0] : a[0] - b[0]));
    expect(krakenBookCrc(side(d.asks, false), side(d.bids, true), 1, 8)).toBe(x.expected_checksum);
    // One lot more on one level is a different book and a different checksum.
    const bids = side(d.bids, true).map((l, i) => (i === 3 ? ([l[0], l[1] + 1e-8] as const) : l));
    expect(krakenBookCrc(side(d.asks, false), bids, 1, 8)).not.toBe(x.expected_checksum);
  });
});

describe('simulator OKX checksum (independent, zlib)', () => {
  type Msg = { arg: { instId: string }; data: Array<{ bids: string[][]; asks: string[][] }> };
  const v = json('okx', 'okx_checksum_vectors.json') as { vectors: Array<{ name: string; expected_checksum?: number; message?: Msg }> };
  // Vectors are snapshots followed by updates on top of them: keep each instrument's book as strings.
  const books = new Map<string, { bids: Map<string, string>; asks: Map<string, string> }>();
  const sideOf = (m: Map<string, string>, desc: boolean) =>
    [...m.entries()].sort((a, b) => (desc ? Number(b[0]) - Number(a[0]) : Number(a[0]) - Number(b[0]))).map(([p, q]) => [p, q] as const);
  const real = v.vectors.filter((x) => x.message !== undefined && x.expected_checksum !== undefined);
  it('has vectors to check', () => expect(real.length).toBeGreaterThan(0));
  it.each(real.map((x) => [x.name, x] as const))('%s', (_n, x) => {
    const m = x.message!;
    let b = books.get(m.arg.instId);
    if (!b) books.set(m.arg.instId, (b = { bids: new Map(), asks: new Map() }));
    for (const [p, s] of m.data[0]!.bids) {
      if (Number(s) === 0) b.bids.delete(p!);
      else b.bids.set(p!, s!);
    }
    for (const [p, s] of m.data[0]!.asks) {
      if (Number(s) === 0) b.asks.delete(p!);
      else b.asks.set(p!, s!);
    }
    expect(okxBookCrc(sideOf(b.bids, true), sideOf(b.asks, false))).toBe(x.expected_checksum);
  });
});
