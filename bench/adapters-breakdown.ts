/**
 * Adapter cost against the parse floor, per venue, on the bundled recordings: ns per frame of
 * `JSON.parse` alone and of the whole adapter (`handleRaw`: parse, validation, integrity, book,
 * normalize, emit), their ratio, and bytes allocated per frame. With KESTREL_ADAPTERS_BEFORE=<dir>
 * (a checkout of another revision's tree, e.g. `git archive <rev> src | tar -x -C dir` plus a
 * node_modules link) its adapters run in the same process, interleaved round by round with this
 * tree's, so machine load hits both alike.
 *
 * Run: node --expose-gc --max-semi-space-size=256 --import tsx bench/adapters-breakdown.ts
 * (a young generation large enough that one pass runs without a scavenge: the heapUsed delta of a
 * pass / frames is then the bytes allocated per frame). Add --cpu-prof for time per function.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { VirtualClock } from '../src/clock/clock.js';
import { feed, recordingWorkloads, type AdapterClasses, type RecordingWorkload } from './lib/adapter-recordings.js';

const gc = (globalThis as { gc?: () => void }).gc;
type W = Omit<RecordingWorkload, 'venue'> & { venue: string };

function parseOnly(w: W): number {
  let n = 0;
  for (const f of w.frames) if ('text' in f) n += (JSON.parse(f.text) as object) ? 1 : 0;
  return n;
}

function adapterPass(w: W): number {
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

/** The four workloads: each venue's recording, and Binance's depth diffs alone (the figure). */
function withDepthOnly(all: RecordingWorkload[]): W[] {
  const bin = all.find((w) => w.venue === 'binance')!;
  return [
    ...all,
    { ...bin, venue: 'binance-depth', frames: bin.frames.filter((f) => 'snapshot' in f || f.text.includes('"depthUpdate"')) },
  ];
}

async function loadBefore(dir: string): Promise<AdapterClasses> {
  const imp = (p: string) => import(pathToFileURL(path.join(dir, p)).href);
  return {
    BinanceAdapter: (await imp('src/venues/binance/market-data.ts')).BinanceAdapter,
    KrakenAdapter: (await imp('src/venues/kraken/market-data.ts')).KrakenAdapter,
    OkxAdapter: (await imp('src/venues/okx/market-data.ts')).OkxAdapter,
  };
}

const only = process.env.VENUE;
const rounds = Number(process.env.ROUNDS ?? 5);
const afterW = withDepthOnly(await recordingWorkloads());
const beforeDir = process.env.KESTREL_ADAPTERS_BEFORE;
const beforeW = beforeDir ? withDepthOnly(await recordingWorkloads(await loadBefore(beforeDir))) : undefined;
for (let v = 0; v < afterW.length; v++) {
  const w = afterW[v]!;
  const b = beforeW?.[v];
  if (only && w.venue !== only) continue;
  const frames = w.frames.filter((f) => 'text' in f).length;
  for (let i = 0; i < 5; i++) {
    parseOnly(w);
    adapterPass(w);
    if (b) adapterPass(b);
  }
  const passes = Math.max(3, Math.round(100_000 / frames));
  const parse: number[] = [];
  const after: number[] = [];
  const before: number[] = [];
  // Interleaved rounds: parse floor, this tree, the before tree, again and again.
  for (let r = 0; r < rounds; r++) {
    parse.push(timeIt(() => parseOnly(w), passes) / frames);
    after.push(timeIt(() => adapterPass(w), passes) / frames);
    if (b) before.push(timeIt(() => adapterPass(b), passes) / frames);
  }
  const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
  // Ratio per round (floor and adapter measured back to back), then the median and the spread.
  const ratios = after.map((a, i) => a / parse[i]!);
  const bratios = before.map((a, i) => a / parse[i]!);
  const out: Record<string, unknown> = {
    venue: w.venue,
    frames,
    parse_ns_per_frame: Math.round(med(parse)),
    adapter_ns_per_frame: Math.round(med(after)),
    ratio: +med(ratios).toFixed(2),
    ratio_min_max: [+Math.min(...ratios).toFixed(2), +Math.max(...ratios).toFixed(2)],
    // The least-disturbed pass of each side: on a loaded machine the steadiest estimate of the cost itself.
    ratio_of_fastest: +(Math.min(...after) / Math.min(...parse)).toFixed(2),
    parse_bytes_per_frame: Math.round(allocBytes(() => parseOnly(w)) / frames),
    adapter_bytes_per_frame: Math.round(allocBytes(() => adapterPass(w)) / frames),
  };
  if (b) {
    out.before_ns_per_frame = Math.round(med(before));
    out.before_ratio = +med(bratios).toFixed(2);
    out.before_ratio_min_max = [+Math.min(...bratios).toFixed(2), +Math.max(...bratios).toFixed(2)];
    out.before_ratio_of_fastest = +(Math.min(...before) / Math.min(...parse)).toFixed(2);
    out.before_bytes_per_frame = Math.round(allocBytes(() => adapterPass(b)) / frames);
  }
  console.log(JSON.stringify(out));
}
