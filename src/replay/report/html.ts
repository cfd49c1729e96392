/**
 * The self-contained HTML report of one backtest: equity and drawdown, position, fills on the price
 * chart, per-signal confidence against outcome, the accuracy table, the config and the decision
 * digest. Charts are uPlot, inlined (see assets.ts); the data is embedded as JSON.
 */
import { writeFileSync } from 'node:fs';
import type { AccuracyReport } from '../../shadow/accuracy.js';
import { maskDeep } from '../../observability/redact.js';
import { chartAssets, escapeHtml, PAGE_PRELUDE, scriptJson } from './assets.js';
import type { ReportScoredSignal, ReportSeries } from './recorder.js';

/** The subset of the backtest's JSON report the page shows (kept structural so it never drifts). */
export interface ReportSummary {
  engine: string;
  fillModel: string;
  ticks: number;
  signals: number;
  orders: number;
  fills: number;
  rejects: Record<string, number>;
  position: number;
  avgPrice: number;
  realizedPnl: number;
  unrealizedPnl: number;
  fees: number;
  netPnl: number;
  accuracy: AccuracyReport;
  /** Per regime (src/replay/regime-report.ts); optional so older reports still render. */
  regimes?: ReadonlyArray<{ regime: string; signals: number; scored: number; hitRate: number | undefined; fills: number; pnl: number }>;
  digest: string;
  capture: string;
  report: string;
}

export interface BacktestHtmlInput {
  title: string;
  summary: ReportSummary;
  series: ReportSeries;
  scored: readonly ReportScoredSignal[];
  config: unknown;
}

/** Price chart rows: mid samples and fills merged on one ascending time axis (fills never merged together). */
export interface PriceRows {
  t: number[];
  mid: Array<number | null>;
  buy: Array<number | null>;
  sell: Array<number | null>;
}

/**
 * uPlot draws one x axis for all series; a fill at the same millisecond as another point gets its own
 * row, nudged by a nanosecond, so every fill is a marker of its own.
 */
export function priceRows(series: ReportSeries): PriceRows {
  const out: PriceRows = { t: [], mid: [], buy: [], sell: [] };
  const fills = series.fills.slice().sort((a, b) => a.tMs - b.tMs);
  let i = 0;
  let j = 0;
  let last = -Infinity;
  const push = (t: number, mid: number | null, buy: number | null, sell: number | null) => {
    const x = t > last ? t : last + 1e-6;
    last = x;
    out.t.push(x);
    out.mid.push(mid);
    out.buy.push(buy);
    out.sell.push(sell);
  };
  while (i < series.tMs.length || j < fills.length) {
    const f = fills[j];
    if (f && (i >= series.tMs.length || f.tMs < series.tMs[i]!)) {
      push(f.tMs, null, f.side > 0 ? f.price : null, f.side < 0 ? f.price : null);
      j++;
    } else {
      push(series.tMs[i]!, series.mid[i]!, null, null);
      i++;
    }
  }
  return out;
}

/** Scored signals ordered by confidence, hits and misses as separate series on one confidence axis. */
export function confidenceRows(scored: readonly ReportScoredSignal[]): {
  conf: number[];
  hit: Array<number | null>;
  miss: Array<number | null>;
} {
  const sorted = scored.slice().sort((a, b) => a.confidence - b.confidence);
  return {
    conf: sorted.map((s) => s.confidence),
    hit: sorted.map((s) => (s.hit ? s.outcomeBps : null)),
    miss: sorted.map((s) => (s.hit ? null : s.outcomeBps)),
  };
}

const fmt = (x: number | undefined, d: number) => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));

export function renderBacktestHtml(input: BacktestHtmlInput): string {
  const { summary: r, series: s } = input;
  const assets = chartAssets();
  const price = priceRows(s);
  const conf = confidenceRows(input.scored);
  const data = {
    equity: [s.tMs, s.equity],
    drawdown: [s.tMs, s.drawdown],
    position: [s.tMs, s.position],
    price: [price.t, price.mid, price.buy, price.sell],
    confidence: [conf.conf, conf.hit, conf.miss],
  };
  const a = r.accuracy;
  const rows = (pairs: Array<[string, string]>) =>
    pairs.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  const rejects =
    Object.entries(r.rejects)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none';
  const decimation = s.stride > 1 ? ` (every ${s.stride}th of ${s.marks} book ticks)` : ` (all ${s.marks} book ticks)`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(input.title)}</title>
<meta name="kestrel-digest" content="${escapeHtml(r.digest)}">
<style>${assets.css}
body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:1140px;color:#1d2330;padding:0 16px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}table{border-collapse:collapse;margin:8px 0}
th,td{padding:3px 12px 3px 0;text-align:left;vertical-align:top}th{font-weight:600;color:#475066}
code,pre{font:12px/1.4 ui-monospace,monospace}pre{background:#f4f6fa;padding:12px;overflow:auto;max-height:420px}
.chart{min-height:120px}.note{color:#6a7285;font-size:12px}
</style></head><body>
<h1>${escapeHtml(input.title)}</h1>
<p>Decision digest <code id="digest">${escapeHtml(r.digest)}</code></p>
<table id="summary">${rows([
    ['engine', r.engine],
    ['fill model', r.fillModel],
    ['ticks', String(r.ticks)],
    ['signals', String(r.signals)],
    ['orders', `${r.orders} sent, ${r.fills} filled`],
    ['refused', rejects],
    ['final position', `${fmt(r.position, 5)} @ ${fmt(r.avgPrice, 2)}`],
    ['PnL', `realized ${fmt(r.realizedPnl, 2)}, unrealized ${fmt(r.unrealizedPnl, 2)}, fees ${fmt(r.fees, 2)}, net ${fmt(r.netPnl, 2)}`],
    ['max drawdown', fmt(s.maxDrawdown, 2)],
    ['capture', r.capture],
    ['JSON report', r.report],
  ])}</table>
<h2>Equity (net PnL, quote currency)</h2><p class="note">Sampled${escapeHtml(decimation)}.</p><div class="chart" id="equity"></div>
<h2>Drawdown</h2><div class="chart" id="drawdown"></div>
<h2>Position</h2><div class="chart" id="position"></div>
<h2>Fills on the mid price</h2><p class="note">${r.fills} fills${s.fillsOmitted > 0 ? `, ${s.fillsOmitted} beyond the first ${s.fills.length} not drawn` : ''}.</p><div class="chart" id="price"></div>
<h2>Confidence against outcome</h2><p class="note">Each scored signal: its confidence, and the mid move over the accuracy horizon in its direction (bps).</p><div class="chart" id="confidence"></div>
<h2>Accuracy</h2>
<table id="accuracy">${rows([
    ['signals', String(a.signals)],
    ['scored', String(a.scored)],
    ['hit rate', fmt(a.hitRate, 3)],
    ['ROC AUC', fmt(a.rocAuc, 3)],
    ['precision', fmt(a.precision, 3)],
    ['recall', fmt(a.recall, 3)],
    ['slippage (bps)', fmt(a.avgSlippageBps, 2)],
    ['Sharpe (per signal)', fmt(a.sharpe, 3)],
    ['drift alerts', String(a.driftAlerts)],
  ])}</table>
<h2>By regime</h2><p class="note">Regime of each signal at decision (docs/STRATEGY.md "Regime"). PnL: that regime's fills, net of fees, marked to the last mid; the rows add up to the net PnL.</p>
<table id="regimes"><tr><th>regime</th><th>signals</th><th>scored</th><th>hit rate</th><th>fills</th><th>PnL</th></tr>${(r.regimes ?? [])
    .map(
      (g) =>
        `<tr><td>${escapeHtml(g.regime)}</td><td>${g.signals}</td><td>${g.scored}</td><td>${fmt(g.hitRate, 3)}</td><td>${g.fills}</td><td>${fmt(g.pnl, 2)}</td></tr>`,
    )
    .join('')}</table>
<h2>Config</h2><pre id="config">${escapeHtml(JSON.stringify(maskDeep(input.config), null, 2))}</pre>
<p class="note">Charts: uPlot ${escapeHtml(assets.version)}, inlined.</p>
<script>${assets.script}</script>
<script>
${PAGE_PRELUDE}
var D = ${scriptJson(data)};
var time = { x: { time: true } };
// Event times are shown in UTC, whatever the reader's time zone.
function utc(ts) { return uPlot.tzDate(new Date(ts), 'Etc/UTC'); }
function line(label, stroke, extra) { var s = { label: label, stroke: stroke, width: 1.5 }; for (var k in extra) s[k] = extra[k]; return s; }
function dots(label, fill) { return { label: label, stroke: fill, fill: fill, width: 0, paths: function () { return null; }, points: { show: true, size: 8, fill: fill, stroke: fill } }; }
kChart('equity', { ms: 1, tzDate: utc, scales: time, series: [{}, line('equity', '#1f6feb', { fill: 'rgba(31,111,235,0.08)' })] }, D.equity);
kChart('drawdown', { ms: 1, tzDate: utc, height: 180, scales: time, series: [{}, line('drawdown', '#cf222e', { fill: 'rgba(207,34,46,0.15)' })] }, D.drawdown);
kChart('position', { ms: 1, tzDate: utc, height: 180, scales: time, series: [{}, line('position', '#8250df', { paths: uPlot.paths.stepped({ align: 1 }) })] }, D.position);
kChart('price', { ms: 1, tzDate: utc, height: 320, scales: time, axes: [{}, { size: 70 }], series: [{}, line('mid', '#57606a', { spanGaps: true, width: 1 }), dots('buy fills', '#1a7f37'), dots('sell fills', '#cf222e')] }, D.price);
kChart('confidence', { height: 300, scales: { x: { time: false } }, axes: [{ label: 'confidence' }, { label: 'outcome (bps)' }],
  series: [{ label: 'confidence' }, dots('hit', '#1a7f37'), dots('miss', '#cf222e')] }, D.confidence);
window.kestrelReport.ready = true;
</script>
</body></html>
`;
}

export function writeBacktestHtml(file: string, input: BacktestHtmlInput): void {
  writeFileSync(file, renderBacktestHtml(input));
}
