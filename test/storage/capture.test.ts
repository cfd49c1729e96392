import { systemClock } from '../../src/clock/clock.js';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TickFlag, type NormalizedTick } from '../../src/contracts/market.js';
import { CaptureFormatError, HEADER, HEADER_SIZE, RECORD_SIZE } from '../../src/storage/capture/format.js';
import { CaptureReader } from '../../src/storage/capture/reader.js';
import { CaptureWriter } from '../../src/storage/capture/writer.js';
import { tick } from '../ingestion/helpers.js';
import { tmpDir } from '../support/tmp.js';

const dir = tmpDir('capture');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function sample(n: number): NormalizedTick[] {
  const out: NormalizedTick[] = [];
  for (let i = 1; i <= n; i++) {
    const venue = (['binance', 'kraken', 'okx'] as const)[i % 3]!;
    const symbol = i % 2 ? 'BTC-USDT' : 'ETH-USDT';
    out.push(
      tick(i, {
        venue,
        symbol,
        symbolId: symbol === 'BTC-USDT' ? 1 : 2,
        bid: 60_000 + i * 0.01,
        ask: 60_000.1 + i * 0.01,
        flags: i % 5 === 0 ? TickFlag.TRADE | TickFlag.SKEW : 0,
        lastPx: i % 5 === 0 ? 60_000.05 : 0,
        lastQty: i % 5 === 0 ? 0.001 * i : 0,
        aggressor: i % 5 === 0 ? -1 : 0,
        sequence: 2n ** 63n + BigInt(i), // u64 beyond the signed range survives
      }),
    );
  }
  return out;
}

describe('capture files', () => {
  it('round-trips every field of every tick, across chunk boundaries', async () => {
    const file = path.join(dir, 'rt.kcap');
    const ticks = sample(5000);
    const w = CaptureWriter.open(file, { chunkRecords: 7, createdNs: 123n });
    for (const t of ticks) w.push(t);
    w.close();
    // 6 symbol definitions (3 venues x 2 symbols) + 5000 ticks
    expect(fs.statSync(file).size).toBe(HEADER_SIZE + 5006 * RECORD_SIZE);
    const r = await CaptureReader.open(file, { chunkRecords: 333 });
    expect(r.header.createdNs).toBe(123n);
    expect(await r.readAll()).toEqual(ticks);
    expect(r.truncatedBytes).toBe(0);
  });

  it('keeps the time scale and ring-input flag in the header; a file without them reads as scale 1', async () => {
    const file = path.join(dir, 'scaled.kcap');
    const w = CaptureWriter.open(file, { createdNs: 5n, meta: { timeScale: 100, ringInput: true } });
    for (const t of sample(3)) w.push(t);
    w.close();
    const r = await CaptureReader.open(file);
    expect(r.header).toMatchObject({ createdNs: 5n, timeScale: 100, ringInput: true });
    // Appending under another time scale would put two timelines in one file: refused.
    expect(() => CaptureWriter.open(file, { createdNs: 6n, meta: { timeScale: 1 } })).toThrow(
      /cannot append: the file holds time scale 100/,
    );
    CaptureWriter.open(file, { createdNs: 6n, meta: { timeScale: 100, ringInput: true } }).close();
    // A file written before the fields existed: zeros there.
    const old = path.join(dir, 'unscaled.kcap');
    fs.copyFileSync(file, old);
    const fd = fs.openSync(old, 'r+');
    fs.writeSync(fd, Buffer.alloc(12), 0, 12, HEADER.timeScale);
    fs.closeSync(fd);
    expect((await CaptureReader.open(old)).header).toMatchObject({ timeScale: 1, ringInput: false });
  });

  it('ignores a torn tail when reading and cuts it off when re-opened for append', async () => {
    const file = path.join(dir, 'torn.kcap');
    const ticks = sample(10);
    const w = CaptureWriter.open(file, { createdNs: systemClock.nowNs() });
    for (const t of ticks) w.push(t);
    w.close();
    fs.appendFileSync(file, Buffer.alloc(40, 1)); // crash mid-record
    const r = await CaptureReader.open(file);
    expect(await r.readAll()).toEqual(ticks);
    expect(r.truncatedBytes).toBe(40);
    const more = sample(20).slice(10);
    const w2 = CaptureWriter.open(file, { createdNs: systemClock.nowNs() });
    expect(w2.truncatedBytes).toBe(40);
    expect(w2.existingRecords).toBe(10 + 6);
    for (const t of more) w2.push(t);
    w2.close();
    expect(await (await CaptureReader.open(file)).readAll()).toEqual([...ticks, ...more]);
  });

  it('refuses out-of-range fields with a RangeError instead of wrapping them', () => {
    const w = CaptureWriter.open(path.join(dir, 'range.kcap'), { createdNs: systemClock.nowNs() });
    expect(() => w.push(tick(1, { sequence: 2n ** 64n }))).toThrow(RangeError);
    expect(() => w.push(tick(2, { venueId: 70_000 }))).toThrow(RangeError);
    w.close();
  });

  it('rejects foreign and corrupt files with a typed error naming the offset', async () => {
    const foreign = path.join(dir, 'foreign.bin');
    fs.writeFileSync(foreign, Buffer.alloc(200, 7));
    await expect(CaptureReader.open(foreign)).rejects.toBeInstanceOf(CaptureFormatError);
    expect(() => CaptureWriter.open(foreign, { createdNs: systemClock.nowNs() })).toThrow(CaptureFormatError);

    const file = path.join(dir, 'corrupt.kcap');
    const w = CaptureWriter.open(file, { createdNs: systemClock.nowNs() });
    for (const t of sample(3)) w.push(t);
    w.close();
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([9]), 0, 1, HEADER_SIZE + 2 * RECORD_SIZE);
    fs.closeSync(fd);
    const r = await CaptureReader.open(file);
    await expect(r.readAll()).rejects.toThrow(`byte ${HEADER_SIZE + 2 * RECORD_SIZE}: unknown record type 9`);
  });
});

describe('openTickStore without ClickHouse', () => {
  it('records to a capture file in capture_dir that reads back', async () => {
    const { openTickStore } = await import('../../src/storage/index.js');
    const store = await openTickStore(
      {
        clickhouse_url: '',
        clickhouse_database: 'kestrel',
        capture_dir: path.join(dir, 'session'),
        batch_size: 10_000,
        flush_interval_ms: 50,
        max_buffered_rows: 200_000,
      },
      systemClock,
    );
    expect(store.kind).toBe('capture');
    const ticks = sample(50);
    for (const t of ticks) store.push(t);
    await store.close();
    expect(await (await CaptureReader.open(store.location)).readAll()).toEqual(ticks);
  });
});
