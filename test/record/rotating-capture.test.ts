import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/clock.js';
import { RecordError, RotatingCaptureSink } from '../../src/record/recorder.js';
import { CaptureReader } from '../../src/storage/capture/reader.js';
import { tick } from '../ingestion/helpers.js';
import { tmpDir } from '../support/tmp.js';

const HOUR_NS = 3_600_000_000_000n;

async function ticksIn(file: string): Promise<number> {
  const r = await CaptureReader.open(file);
  let n = 0;
  for await (const b of r.batches()) n += b.length;
  return n;
}

describe('RotatingCaptureSink', () => {
  it('cuts a new .kcap on each period boundary of the clock, named by the period start (UTC)', async () => {
    const dir = tmpDir('rotate');
    const start = Date.UTC(2026, 11, 5, 21, 59, 0);
    const clock = new VirtualClock(BigInt(start) * 1_000_000n);
    const sink = new RotatingCaptureSink(dir, 3_600_000, clock);
    for (let i = 1; i <= 10; i++) sink.push(tick(i));
    clock.advance(HOUR_NS / 60n); // 22:00:00: the next hour's file
    for (let i = 11; i <= 15; i++) sink.push(tick(i));
    sink.close();
    expect(sink.files.map((f) => path.basename(f))).toEqual(['ticks-20261205T210000Z.kcap', 'ticks-20261205T220000Z.kcap']);
    expect(sink.ticks).toBe(15);
    expect(await ticksIn(sink.files[0]!)).toBe(10);
    expect(await ticksIn(sink.files[1]!)).toBe(5);
  });

  it("a restarted recorder appends to the current period's file", async () => {
    const dir = tmpDir('rotate-resume');
    const clock = new VirtualClock(BigInt(Date.UTC(2026, 11, 5, 10, 0, 5)) * 1_000_000n);
    const a = new RotatingCaptureSink(dir, 3_600_000, clock);
    for (let i = 1; i <= 4; i++) a.push(tick(i));
    a.close();
    clock.advance(1_000_000_000n);
    const b = new RotatingCaptureSink(dir, 3_600_000, clock);
    for (let i = 5; i <= 7; i++) b.push(tick(i));
    b.close();
    expect(b.files).toEqual(a.files);
    expect(await ticksIn(a.files[0]!)).toBe(7);
  });

  it('refuses a non-positive period', () => {
    expect(() => new RotatingCaptureSink(tmpDir('rotate-bad'), 0, new VirtualClock())).toThrow(RecordError);
  });
});
