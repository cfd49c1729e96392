/**
 * Where an adapter's per-frame time and allocation go, per venue, on the bundled recordings.
 * Run: node --expose-gc --max-semi-space-size=256 --import tsx bench/adapters-breakdown.ts
 * (a large young generation so one pass runs without a scavenge: heapUsed delta / frames is then the
 * bytes allocated per frame). Add --cpu-prof to see the time per function.
 */
import { VirtualClock } from '../src/clock/clock.js';
import { feed, recordingWorkloads, type RecordingWorkload } from './lib/adapter-recordings.js';

const gc = (globalThis as { gc?: () => void }).gc;

function parseOnly(w: Pick<RecordingWorkload, 'frames'>): number {
  let n = 0;
  for (const f of w.frames) if ('text' in f) n += (JSON.parse(f.text) as object) ? 1 : 0;
  return n;
}

function adapterPass(w: Pick<RecordingWorkload, 'frames' | 'make'>): number {
  let ticks = 0;
  const a = w.make({ onTick: () => void ticks++ }, new VirtualClock(1_700_000_000_000_000_000n));
  for (const f of w.frames) feed(a, f);
  return ticks;
}

function timeIt(fn: () => unknown, passes: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < passes; i++) fn();
  return Number(process.hrtime.bigint() - t0) / passes;
}

function allocBytes(fn: () => unknown): number {
  if (!gc) return NaN;
  gc();
  const before = process.memoryUsage().heapUsed;
  fn();
  return process.memoryUsage().heapUsed - before;
}

const only = process.env.VENUE;
const all = await recordingWorkloads();
// The figure is for Binance depth diffs alone: the snapshot plus the depthUpdate frames.
const bin = all.find((w) => w.venue === 'binance')!;
const depthOnly = { ...bin, venue: 'binance-depth' as const, frames: bin.frames.filter((f) => 'snapshot' in f || f.text.includes('"depthUpdate"')) };
for (const w of [...all, depthOnly] as Array<Omit<RecordingWorkload, 'venue'> & { venue: string }>) {
  if (only && w.venue !== only) continue;
  const frames = w.frames.filter((f) => 'text' in f).length;
  for (let i = 0; i < 5; i++) {
    parseOnly(w);
    adapterPass(w);
  }
  const passes = Math.max(3, Math.round(200_000 / frames));
  let parseNs = 0;
  let adapterNs = 0;
  // Interleaved rounds so machine load hits both sides alike.
  for (let r = 0; r < 5; r++) {
    parseNs += timeIt(() => parseOnly(w), passes);
    adapterNs += timeIt(() => adapterPass(w), passes);
  }
  const pAlloc = allocBytes(() => parseOnly(w));
  const aAlloc = allocBytes(() => adapterPass(w));
  console.log(
    JSON.stringify({
      venue: w.venue,
      frames,
      parse_ns_per_frame: Math.round(parseNs / 5 / frames),
      adapter_ns_per_frame: Math.round(adapterNs / 5 / frames),
      ratio: +(adapterNs / parseNs).toFixed(2),
      parse_bytes_per_frame: Math.round(pAlloc / frames),
      adapter_bytes_per_frame: Math.round(aAlloc / frames),
    }),
  );
}
