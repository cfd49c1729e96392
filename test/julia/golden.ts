/**
 * Reads the shared golden vectors (test/golden/, format in docs/STRATEGY.md "Golden vectors") and
 * compares signals with the cross-engine tolerance. Used by the engine parity test and its runner.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StrategyParams, TickInput } from '../../src/native/index.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// KESTREL_GOLDEN_DIR lets the harness be exercised on other cases in the same format.
export const goldenDir = process.env.KESTREL_GOLDEN_DIR ?? path.join(repoRoot, 'test/golden');

function readCsv(file: string): { header: string[]; rows: string[][] } {
  if (!existsSync(file)) throw new Error(`golden file missing: ${file}`);
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(',');
  const rows = lines.slice(1).map((l, i) => {
    const r = l.split(',');
    if (r.length !== header.length) throw new Error(`${file}:${i + 2}: ${r.length} fields, header has ${header.length}`);
    return r;
  });
  return { header, rows };
}

function col(t: { header: string[] }, name: string, file: string): number {
  const i = t.header.indexOf(name);
  if (i < 0) throw new Error(`${file}: no column ${name}`);
  return i;
}

export function parseFloatC(s: string): number {
  const l = s.trim().toLowerCase();
  if (l === 'nan' || l === '-nan' || l === '+nan') return Number.NaN;
  if (l === 'inf' || l === '+inf' || l === 'infinity') return Number.POSITIVE_INFINITY;
  if (l === '-inf' || l === '-infinity') return Number.NEGATIVE_INFINITY;
  const v = Number(l);
  if (Number.isNaN(v)) throw new Error(`not a number: ${s}`);
  return v;
}

export function goldenCases(): string[] {
  if (!existsSync(goldenDir)) return [];
  return readdirSync(goldenDir)
    .filter((f) => f.endsWith('.ticks.csv'))
    .map((f) => f.slice(0, -'.ticks.csv'.length))
    .sort();
}

export function readTicks(name: string): TickInput[] {
  const file = path.join(goldenDir, `${name}.ticks.csv`);
  const t = readCsv(file);
  const [ci, cts, cf, cb, ca, cbs, cas] = ['index', 'ts_ns', 'flags', 'bid', 'ask', 'bid_size', 'ask_size'].map((c) =>
    col(t, c, file),
  ) as [number, number, number, number, number, number, number];
  return t.rows.map((r, k) => {
    if (Number(r[ci]) !== k) throw new Error(`${file}: row ${k + 1} has index ${r[ci]}`);
    return {
      tsNs: BigInt(r[cts]!),
      flags: Number(r[cf]),
      bid: parseFloatC(r[cb]!),
      ask: parseFloatC(r[ca]!),
      bidSize: parseFloatC(r[cbs]!),
      askSize: parseFloatC(r[cas]!),
    };
  });
}

export function readParams(name: string): Partial<StrategyParams> {
  const file = path.join(goldenDir, `${name}.params.csv`);
  const t = readCsv(file);
  const cn = col(t, 'name', file);
  const cv = col(t, 'value', file);
  const out: Record<string, number> = {};
  for (const r of t.rows) out[r[cn]!.trim()] = parseFloatC(r[cv]!);
  return out as Partial<StrategyParams>;
}

/** A signal as the golden signals.csv has it (plus nothing else). */
export interface GoldenSignal {
  index: number;
  side: number;
  size: number;
  confidence: number;
  zscore: number;
  ref_price: number;
  urgency: number;
  min_fill_qty: number;
  ttl_ms: number;
  max_slippage_bps: number;
  trace_hi: string;
  trace_lo: string;
  /** Regime byte at decision (docs/STRATEGY.md "Regime"). */
  regime: number;
}

export function readSignals(name: string): GoldenSignal[] {
  const file = path.join(goldenDir, `${name}.signals.csv`);
  const t = readCsv(file);
  const c = (n: string) => col(t, n, file);
  return t.rows.map((r) => ({
    index: Number(r[c('index')]),
    side: Number(r[c('side')]),
    size: parseFloatC(r[c('size')]!),
    confidence: parseFloatC(r[c('confidence')]!),
    zscore: parseFloatC(r[c('zscore')]!),
    ref_price: parseFloatC(r[c('ref_price')]!),
    urgency: Number(r[c('urgency')]),
    min_fill_qty: parseFloatC(r[c('min_fill_qty')]!),
    ttl_ms: Number(r[c('ttl_ms')]),
    max_slippage_bps: parseFloatC(r[c('max_slippage_bps')]!),
    trace_hi: BigInt(r[c('trace_hi')]!).toString(),
    trace_lo: BigInt(r[c('trace_lo')]!).toString(),
    regime: Number(r[c('regime')]),
  }));
}

/** docs/STRATEGY.md: relative 1e-9, or 1e-12 absolute near zero; NaN only matches NaN. */
export function closeEnough(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true;
  const d = Math.abs(a - b);
  return d <= 1e-9 * Math.max(Math.abs(a), Math.abs(b)) || d <= 1e-12;
}

/** Differences between engine signals and golden signals, as readable lines (empty = equal). */
export function diffSignals(got: GoldenSignal[], want: GoldenSignal[]): string[] {
  const out: string[] = [];
  const gi = got.map((s) => s.index).join(',');
  const wi = want.map((s) => s.index).join(',');
  if (gi !== wi) out.push(`emitting ticks differ: got [${gi.slice(0, 200)}] want [${wi.slice(0, 200)}]`);
  const n = Math.min(got.length, want.length);
  for (let i = 0; i < n && out.length < 20; i++) {
    const g = got[i]!;
    const w = want[i]!;
    for (const k of ['side', 'urgency', 'ttl_ms', 'trace_hi', 'trace_lo', 'regime'] as const) {
      if (g[k] !== w[k]) out.push(`signal ${i} (tick ${w.index}) ${k}: got ${g[k]} want ${w[k]}`);
    }
    for (const k of ['size', 'confidence', 'zscore', 'ref_price', 'min_fill_qty', 'max_slippage_bps'] as const) {
      if (!closeEnough(g[k], w[k])) out.push(`signal ${i} (tick ${w.index}) ${k}: got ${g[k]} want ${w[k]}`);
    }
  }
  return out;
}
