/**
 * A long `.kcap` made from a real one: the source's ticks repeated end to end, each repetition
 * shifted in time by the source's span (plus 1 ms) and in sequence by its length, so the result is
 * one monotonic, gap-free recording of any size (the 10-million-tick scale test of issue 11).
 */
import { CaptureReader } from '../../src/storage/capture/reader.js';
import { CaptureWriter } from '../../src/storage/capture/writer.js';
import type { NormalizedTick } from '../../src/contracts/market.js';

export async function writeScaledCapture(source: string, target: string, ticks: number): Promise<number> {
  const base: NormalizedTick[] = await (await CaptureReader.open(source)).readAll();
  if (base.length === 0) throw new Error(`${source} holds no tick`);
  const first = base[0]!.recvTsNs;
  const span = base[base.length - 1]!.recvTsNs - first + 1_000_000n;
  const w = CaptureWriter.open(target, { createdNs: first });
  let n = 0;
  try {
    for (let k = 0n; n < ticks; k++) {
      const dt = k * span;
      const ds = k * BigInt(base.length);
      for (const t of base) {
        if (n >= ticks) break;
        w.push({ ...t, recvTsNs: t.recvTsNs + dt, exchTsNs: t.exchTsNs + dt, sequence: t.sequence + ds });
        n++;
      }
    }
  } finally {
    w.close();
  }
  return n;
}
