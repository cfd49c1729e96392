/**
 * `kestrel backtest --sweep key=v1,v2 [--sweep key=...]`: the cartesian grid of parameter values,
 * each point a full backtest run in a pool of worker processes (one per core), ranked by net PnL,
 * printed as a table and written as one HTML comparison. Each run is the same computation as a
 * single backtest with those `--set` values, so its digest is the single run's digest.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config/schema.js';
import type { BacktestReport } from '../backtest.js';
import { chartAssets, escapeHtml, PAGE_PRELUDE, scriptJson } from './assets.js';
import { KestrelError } from '../../contracts/errors.js';

export interface SweepAxis {
  key: string;
  values: string[];
}

/** One grid point: the `--set` assignments (key → raw value) in axis order. */
export type SweepPoint = Array<[key: string, value: string]>;

export interface SweepJob {
  id: number;
  config: unknown;
}

export type SweepReply =
  | { id: number; pid: number; ok: true; report: BacktestReport; tMs: number[]; equity: number[]; maxDrawdown: number }
  | { id: number; pid: number; ok: false; error: string };

export interface SweepRun {
  point: SweepPoint;
  pid: number;
  report?: BacktestReport;
  maxDrawdown?: number;
  tMs?: number[];
  equity?: number[];
  error?: string;
}

export class SweepError extends KestrelError {
  override readonly name = 'SweepError';
  constructor(message: string, options?: ErrorOptions) {
    super('SWEEP_INVALID', message, options);
  }
}

export const MAX_SWEEP_POINTS = 1000;

/** `strategy.kelly_fraction=0.1,0.25,0.5` → axis; keys unique, every value non-empty. */
export function parseSweep(specs: readonly string[]): SweepAxis[] {
  const axes: SweepAxis[] = [];
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const key = eq > 0 ? spec.slice(0, eq).trim() : '';
    if (!/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)+$/.test(key)) throw new SweepError(`--sweep needs section.key=v1,v2,..., got '${spec}'`);
    const values = spec
      .slice(eq + 1)
      .split(',')
      .map((v) => v.trim());
    if (values.some((v) => v.length === 0)) throw new SweepError(`--sweep ${key} has an empty value in '${spec}'`);
    if (new Set(values).size !== values.length) throw new SweepError(`--sweep ${key} repeats a value in '${spec}'`);
    if (axes.some((a) => a.key === key)) throw new SweepError(`--sweep ${key} is given twice`);
    axes.push({ key, values });
  }
  const size = axes.reduce((n, a) => n * a.values.length, 1);
  if (size > MAX_SWEEP_POINTS) throw new SweepError(`--sweep grid has ${size} points; at most ${MAX_SWEEP_POINTS}`);
  return axes;
}

/** Cartesian product, first axis slowest: the order runs are listed in before ranking. */
export function sweepGrid(axes: readonly SweepAxis[]): SweepPoint[] {
  let out: SweepPoint[] = [[]];
  for (const a of axes) out = out.flatMap((p) => a.values.map((v): SweepPoint => [...p, [a.key, v]]));
  return axes.length === 0 ? [] : out;
}

function workerEntry(): { file: string; execArgv: string[] } {
  const self = fileURLToPath(import.meta.url);
  const ext = path.extname(self);
  const file = path.join(path.dirname(self), `sweep-worker${ext}`);
  // Run from TypeScript sources (tests, tsx): the child needs the same loader.
  const execArgv =
    ext === '.ts' && !process.execArgv.some((a) => a.includes('tsx')) ? [...process.execArgv, '--import', 'tsx'] : process.execArgv;
  return { file, execArgv };
}

/**
 * Runs every point, at most `workers` at a time, each worker process taking the next point when it
 * finishes one. Configs are built (and validated) before any process starts.
 */
export async function runSweep(
  points: readonly SweepPoint[],
  configFor: (point: SweepPoint) => Config,
  workers = os.availableParallelism(),
): Promise<SweepRun[]> {
  const configs = points.map(configFor);
  const runs: SweepRun[] = points.map((point) => ({ point, pid: 0 }));
  const n = Math.max(1, Math.min(workers, points.length));
  const { file, execArgv } = workerEntry();
  let next = 0;
  const children: ChildProcess[] = [];
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const child = fork(file, [], { execArgv, serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      children.push(child);
      let current = -1;
      const take = () => {
        if (next >= points.length) {
          current = -1;
          child.send('stop');
          return;
        }
        current = next++;
        child.send({ id: current, config: configs[current] } satisfies SweepJob);
      };
      child.on('message', (msg: SweepReply) => {
        const run = runs[msg.id]!;
        run.pid = msg.pid;
        if (msg.ok) Object.assign(run, { report: msg.report, tMs: msg.tMs, equity: msg.equity, maxDrawdown: msg.maxDrawdown });
        else run.error = msg.error;
        take();
      });
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        // A crashed worker fails the point it held; the points it never took go to the others.
        if (current >= 0) runs[current]!.error = `worker ${child.pid} exited (${signal ?? `code ${code}`}) during this run`;
        if (code === 0 || current >= 0) resolve();
        else reject(new SweepError(`sweep worker ${child.pid} exited (${signal ?? `code ${code}`})`));
      });
      take();
    });
  try {
    await Promise.all(Array.from({ length: n }, one));
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill();
  }
  return runs;
}

/** Best first: net PnL, then the shallower drawdown, then grid order; failed runs last. */
export function rankRuns(runs: readonly SweepRun[]): SweepRun[] {
  return runs
    .map((r, i) => ({ r, i }))
    .sort((a, b) => {
      const ra = a.r.report;
      const rb = b.r.report;
      if (!ra || !rb) return ra ? -1 : rb ? 1 : a.i - b.i;
      return rb.netPnl - ra.netPnl || (b.r.maxDrawdown ?? 0) - (a.r.maxDrawdown ?? 0) || a.i - b.i;
    })
    .map(({ r }) => r);
}

const num = (x: number | undefined, d: number) => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));

interface Column {
  head: string;
  cell: (r: SweepRun, rank: number) => string;
  right?: boolean;
}

function columns(axes: readonly SweepAxis[]): Column[] {
  return [
    { head: 'rank', cell: (_r, k) => String(k), right: true },
    ...axes.map((a, i): Column => ({ head: a.key, cell: (r) => r.point[i]![1], right: true })),
    { head: 'net PnL', cell: (r) => num(r.report?.netPnl, 2), right: true },
    { head: 'max DD', cell: (r) => num(r.maxDrawdown, 2), right: true },
    { head: 'fees', cell: (r) => num(r.report?.fees, 2), right: true },
    { head: 'orders', cell: (r) => (r.report ? String(r.report.orders) : ''), right: true },
    { head: 'fills', cell: (r) => (r.report ? String(r.report.fills) : ''), right: true },
    { head: 'hit rate', cell: (r) => num(r.report?.accuracy.hitRate, 3), right: true },
    { head: 'ROC AUC', cell: (r) => num(r.report?.accuracy.rocAuc, 3), right: true },
    { head: 'digest', cell: (r) => (r.report ? r.report.digest.slice(0, 16) : `FAILED: ${r.error ?? 'no result'}`) },
  ];
}

/** The ranked table printed by `kestrel backtest --sweep`. */
export function formatSweepTable(axes: readonly SweepAxis[], ranked: readonly SweepRun[]): string {
  const cols = columns(axes);
  const cells = ranked.map((r, k) => cols.map((c) => c.cell(r, k + 1)));
  const width = cols.map((c, j) => Math.max(c.head.length, ...cells.map((row) => row[j]!.length)));
  const line = (row: string[]) =>
    row
      .map((v, j) => (cols[j]!.right ? v.padStart(width[j]!) : v.padEnd(width[j]!)))
      .join('  ')
      .trimEnd();
  return [line(cols.map((c) => c.head)), ...cells.map(line)].join('\n');
}

/**
 * Equity curves of all runs on one time axis. Runs over the same data share their sample times
 * (the usual case); otherwise every sample gets a row of its own, the other runs' values null.
 */
export function equityRows(runs: readonly SweepRun[]): Array<Array<number | null>> {
  const ok = runs.filter((r) => r.tMs && r.equity);
  const first = ok[0]?.tMs ?? [];
  if (ok.every((r) => r.tMs!.length === first.length && r.tMs!.every((t, i) => t === first[i])))
    return [first, ...ok.map((r) => r.equity!)];
  const all = ok.flatMap((r, k) => r.tMs!.map((t, i) => ({ t, k, v: r.equity![i]! }))).sort((a, b) => a.t - b.t || a.k - b.k);
  const rows: Array<Array<number | null>> = [[], ...ok.map(() => [])];
  let last = -Infinity;
  for (const e of all) {
    last = e.t > last ? e.t : last + 1e-6;
    rows[0]!.push(last);
    ok.forEach((_, k) => rows[k + 1]!.push(k === e.k ? e.v : null));
  }
  return rows;
}

export function renderSweepHtml(axes: readonly SweepAxis[], ranked: readonly SweepRun[], htmlDir: string): string {
  const assets = chartAssets();
  const cols = columns(axes);
  const ok = ranked.filter((r) => r.report);
  const label = (r: SweepRun) => r.point.map(([k, v]) => `${k.split('.').pop()}=${v}`).join(' ');
  const body = ranked
    .map((r, k) => {
      const tds = cols.map((c) => `<td${c.right ? ' class="r"' : ''}>${escapeHtml(c.cell(r, k + 1))}</td>`).join('');
      const link = r.report
        ? `<td><a href="${escapeHtml(path.relative(htmlDir, r.report.html).split(path.sep).join('/'))}">report</a></td>`
        : '<td></td>';
      return `<tr>${tds}${link}</tr>`;
    })
    .join('\n');
  const data = { equity: equityRows(ok), labels: ok.map(label), pnl: [ok.map((_, i) => i + 1), ok.map((r) => r.report!.netPnl)] };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kestrel backtest sweep</title>
<style>${assets.css}
body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:1140px;color:#1d2330;padding:0 16px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}table{border-collapse:collapse;width:100%}
th{max-width:10em;overflow-wrap:anywhere}th,td{padding:3px 8px;border-bottom:1px solid #e3e6ee;text-align:left;font-variant-numeric:tabular-nums}td.r{text-align:right}
code{font:12px ui-monospace,monospace}.note{color:#6a7285;font-size:12px}
</style></head><body>
<h1>kestrel backtest sweep: ${ranked.length} runs</h1>
<p>Grid: ${axes.map((a) => `<code>${escapeHtml(a.key)} = ${escapeHtml(a.values.join(', '))}</code>`).join(' × ')}. Ranked by net PnL, then drawdown.</p>
<table id="ranking"><thead><tr>${cols.map((c) => `<th>${escapeHtml(c.head)}</th>`).join('')}<th></th></tr></thead><tbody>
${body}
</tbody></table>
<h2>Equity of every run</h2><div class="chart" id="equity"></div>
<h2>Net PnL by rank</h2><div class="chart" id="pnl"></div>
<p class="note">Charts: uPlot ${escapeHtml(assets.version)}, inlined.</p>
<script>${assets.script}</script>
<script>
${PAGE_PRELUDE}
var D = ${scriptJson(data)};
var palette = ['#1f6feb', '#cf222e', '#1a7f37', '#8250df', '#bf8700', '#0a7ea4', '#d1242f', '#57606a'];
function utc(ts) { return uPlot.tzDate(new Date(ts), 'Etc/UTC'); }
var eqSeries = [{}];
D.labels.forEach(function (l, i) { eqSeries.push({ label: '#' + (i + 1) + ' ' + l, stroke: palette[i % palette.length], width: 1.5, spanGaps: true }); });
kChart('equity', { ms: 1, tzDate: utc, height: 340, scales: { x: { time: true } }, series: eqSeries }, D.equity);
kChart('pnl', { height: 220, scales: { x: { time: false } }, axes: [{ label: 'rank' }, { label: 'net PnL' }],
  series: [{ label: 'rank' }, { label: 'net PnL', stroke: '#1f6feb', fill: '#1f6feb', width: 0, paths: function () { return null; }, points: { show: true, size: 9 } }] }, D.pnl);
window.kestrelReport.ready = true;
</script>
</body></html>
`;
}

export function writeSweepHtml(file: string, axes: readonly SweepAxis[], ranked: readonly SweepRun[]): void {
  writeFileSync(file, renderSweepHtml(axes, ranked, path.dirname(file)));
}
