/**
 * The columnar capture feed (CaptureReader.columns, MarketData.columns) against the object reader it
 * replaces on the backtest's path: the same ticks, field for field, in the same order, across read
 * chunks, symbol (re)definitions, files and symbol filters; torn and corrupt files fail typed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TickFlag, type NormalizedTick, type VenueName } from '../../src/contracts/market.js';
import { TickBatch } from '../../src/native/index.js';
import { DataError } from '../../src/replay/data/inputs.js';
import { openFiles } from '../../src/replay/data/sources.js';
import { openRefData } from '../../src/refdata/index.js';
import { StreamTable, TickColumns } from '../../src/storage/capture/columns.js';
import { CaptureFormatError, HEADER_SIZE, RECORD_SIZE } from '../../src/storage/capture/format.js';
import { CaptureReader } from '../../src/storage/capture/reader.js';
import { CaptureWriter } from '../../src/storage/capture/writer.js';
import { normalizedTick } from '../support/factories.js';
import { tmpDir } from '../support/tmp.js';

const dir = tmpDir('capture-columns');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Ticks of several streams, trades among them, u64 sequences past the signed range, times crossing 32-bit word boundaries. */
function sample(
  n: number,
  streams: ReadonlyArray<{ venue: VenueName; symbol: string; symbolId: number }>,
  offsetNs = 0n,
): NormalizedTick[] {
  const out: NormalizedTick[] = [];
  for (let i = 1; i <= n; i++) {
    const s = streams[i % streams.length]!;
    const trade = i % 5 === 0;
    const t = normalizedTick(i, {
      ...s,
      bid: 60_000 + i * 0.01,
      ask: 60_000.1 + i * 0.01,
      flags: trade ? TickFlag.TRADE | TickFlag.SKEW : 0,
      lastPx: trade ? 60_000.05 : 0,
      lastQty: trade ? 0.001 * i : 0,
      aggressor: trade ? (i % 2 ? 1 : -1) : 0,
      sequence: 2n ** 63n + BigInt(i),
    });
    out.push({ ...t, exchTsNs: t.exchTsNs + offsetNs, recvTsNs: t.recvTsNs + offsetNs });
  }
  return out;
}

function write(file: string, ticks: readonly NormalizedTick[], chunkRecords = 7): void {
  const w = CaptureWriter.open(file, { chunkRecords, createdNs: 1n });
  for (const t of ticks) w.push(t);
  w.close();
}

async function columnRows(reader: CaptureReader): Promise<NormalizedTick[]> {
  const out: NormalizedTick[] = [];
  for await (const cols of reader.columns()) for (let i = 0; i < cols.count; i++) out.push(cols.row(i));
  return out;
}

const BOTH: Array<{ venue: VenueName; symbol: string; symbolId: number }> = [
  { venue: 'binance', symbol: 'BTC-USDT', symbolId: 1 },
  { venue: 'binance', symbol: 'ETH-USDT', symbolId: 2 },
  { venue: 'okx', symbol: 'BTC-USDT', symbolId: 1 },
];

describe('CaptureReader.columns', () => {
  it('yields exactly the ticks of the object reader, across read chunks and symbol definitions', async () => {
    const file = path.join(dir, 'same.kcap');
    const ticks = sample(6000, BOTH);
    write(file, ticks);
    for (const chunkRecords of [1, 5, 333, 43_690]) {
      const objects = await (await CaptureReader.open(file, { chunkRecords })).readAll();
      const cols = await CaptureReader.open(file, { chunkRecords });
      expect(objects).toEqual(ticks);
      expect(await columnRows(cols)).toEqual(objects);
      expect(cols.truncatedBytes).toBe(0);
    }
  });

  it('ignores a torn last record like the object reader and reports its bytes', async () => {
    const file = path.join(dir, 'torn.kcap');
    write(file, sample(100, BOTH));
    fs.appendFileSync(file, Buffer.alloc(50, 7));
    const objects = await CaptureReader.open(file, { chunkRecords: 16 });
    const cols = await CaptureReader.open(file, { chunkRecords: 16 });
    expect(await columnRows(cols)).toEqual(await objects.readAll());
    expect(cols.truncatedBytes).toBe(50);
    expect(objects.truncatedBytes).toBe(50);
  });

  it('fails with a typed error naming the byte offset: tick before its symbol, unknown record, short header', async () => {
    const file = path.join(dir, 'good.kcap');
    write(file, sample(20, BOTH));
    const bytes = fs.readFileSync(file);
    // Records cut off at the front (a file torn at the start): the first tick names an undefined symbol.
    const headless = path.join(dir, 'headless.kcap');
    fs.writeFileSync(headless, Buffer.concat([bytes.subarray(0, HEADER_SIZE), bytes.subarray(HEADER_SIZE + 3 * RECORD_SIZE)]));
    await expect(columnRows(await CaptureReader.open(headless))).rejects.toSatisfy(
      (e: unknown) => e instanceof CaptureFormatError && e.offset === HEADER_SIZE && /undefined venue\/symbol/.test(e.message),
    );
    // Garbage in the middle: an unknown record type at its offset.
    const garbage = path.join(dir, 'garbage.kcap');
    const g = Buffer.from(bytes);
    g[HEADER_SIZE + 10 * RECORD_SIZE] = 0xee;
    fs.writeFileSync(garbage, g);
    await expect(columnRows(await CaptureReader.open(garbage))).rejects.toSatisfy(
      (e: unknown) =>
        e instanceof CaptureFormatError && e.offset === HEADER_SIZE + 10 * RECORD_SIZE && /unknown record type 238/.test(e.message),
    );
    // Truncated inside the header.
    const short = path.join(dir, 'short.kcap');
    fs.writeFileSync(short, bytes.subarray(0, 40));
    await expect(CaptureReader.open(short)).rejects.toBeInstanceOf(CaptureFormatError);
  });

  it('writes the ring record pushNormalized writes, byte for byte', async () => {
    const file = path.join(dir, 'ring.kcap');
    const ticks = sample(50, BOTH);
    write(file, ticks);
    const fromObjects = new TickBatch(64);
    for (const t of ticks) fromObjects.pushNormalized(t, t.symbolId);
    const fromColumns = new TickBatch(64);
    for await (const cols of (await CaptureReader.open(file)).columns()) {
      for (let i = 0; i < cols.count; i++) fromColumns.pushColumn(cols, i, cols.symbolId[i]);
    }
    expect(fromColumns.count).toBe(50);
    expect(Buffer.from(fromColumns.bytes)).toEqual(Buffer.from(fromObjects.bytes));
  });
});

describe('TickColumns', () => {
  it('orders receive times on their 32-bit words, the low word unsigned', () => {
    const cols = new TickColumns(8, new StreamTable());
    const times = [0x1_0000_0000n, 0xffff_ffffn, 0x1_8000_0000n, 0x1_7fff_ffffn, 1_700_000_000_000_000_000n, 1_700_000_000_000_000_001n];
    for (const t of times) cols.pushTick({ ...normalizedTick(1), recvTsNs: t });
    for (let i = 0; i < times.length; i++)
      for (let j = 0; j < times.length; j++) expect(cols.recvBefore(i, cols, j), `${times[i]} < ${times[j]}`).toBe(times[i]! < times[j]!);
  });
});

describe('MarketData.columns over .kcap inputs', () => {
  async function both(
    files: string[],
    symbols?: string[],
  ): Promise<{ objects: NormalizedTick[]; columns: NormalizedTick[]; whole: string | undefined }> {
    const refdata = await openRefData(undefined);
    const opts = { refdata, quality: {}, ...(symbols ? { symbols } : {}) };
    const objects: NormalizedTick[] = [];
    for await (const b of (await openFiles(files, opts)).ticks) objects.push(...b);
    const md = await openFiles(files, opts);
    const columns: NormalizedTick[] = [];
    for await (const c of md.columns()) for (let i = 0; i < c.count; i++) columns.push(c.row(i));
    md.finish();
    return { objects, columns, whole: md.wholeCapture };
  }

  it('merges several captures by receive time (ties to the earlier file) to the same ticks as the object feed, with and without --symbols', async () => {
    const a = path.join(dir, 'a.kcap');
    const b = path.join(dir, 'b.kcap');
    // b's ticks fall between a's (0.5 ms later) and some on exactly a's receive times (ties).
    write(a, sample(3000, BOTH));
    write(b, [
      ...sample(1500, [{ venue: 'okx', symbol: 'ETH-USDT', symbolId: 9 }], 500_000n),
      ...sample(1500, [{ venue: 'binance', symbol: 'BTC-USDT', symbolId: 4 }], 0n).map((t) => ({
        ...t,
        recvTsNs: t.recvTsNs + 1_500_000_000n,
      })),
    ]);
    const all = await both([a, b]);
    expect(all.objects).toHaveLength(6000);
    expect(all.columns).toEqual(all.objects);
    expect(all.whole).toBeUndefined();

    const btc = await both([a, b], ['BTC-USDT']);
    expect(btc.objects.length).toBeGreaterThan(0);
    expect(btc.objects.every((t) => t.symbol === 'BTC-USDT')).toBe(true);
    expect(btc.columns).toEqual(btc.objects);

    const one = await both([a]);
    expect(one.columns).toEqual(one.objects);
    expect(one.whole).toBe(a);
    const filtered = await both([a], ['ETH-USDT']);
    expect(filtered.columns).toEqual(filtered.objects);
    expect(filtered.whole).toBeUndefined();
  });

  it('a capture of torn bytes only is a DataError saying so', async () => {
    const file = path.join(dir, 'only-torn.kcap');
    write(file, []);
    fs.appendFileSync(file, Buffer.alloc(RECORD_SIZE - 1, 1));
    const refdata = await openRefData(undefined);
    const md = await openFiles([file], { refdata, quality: {} });
    const run = async () => {
      for await (const _c of md.columns());
    };
    await expect(run()).rejects.toSatisfy(
      (e: unknown) => e instanceof DataError && /no complete tick record \(95 torn bytes\)/.test(e.message),
    );
  });
});
