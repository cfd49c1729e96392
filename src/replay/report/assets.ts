/**
 * The charting library (uPlot, from npm) inlined into every report, so a report opens with no
 * network: read once from the installed package and kept for the life of the process.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface ChartAssets {
  readonly script: string;
  readonly css: string;
  readonly version: string;
}

let cached: ChartAssets | undefined;

export function chartAssets(): ChartAssets {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const pkg = JSON.parse(readFileSync(require.resolve('uplot/package.json'), 'utf8')) as { version: string };
  cached = {
    script: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    version: pkg.version,
  };
  return cached;
}

/** JSON safe inside a <script> element: `<` is escaped so no `</script>` or `<!--` can end it early. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Text safe inside HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * Page-side helpers shared by the single-run and the comparison report: every chart is a uPlot
 * instance registered in `window.kestrelReport.charts` with the number of points each series was
 * given (non-null values), mirrored in the chart element's `data-points` attribute, so that a
 * browser test can check what was drawn.
 */
export const PAGE_PRELUDE = `
window.kestrelReport = { ready: false, charts: {}, errors: [] };
window.addEventListener('error', function (e) { window.kestrelReport.errors.push(String(e.message)); });
function kCount(a) { var n = 0; for (var i = 0; i < a.length; i++) if (a[i] !== null && a[i] !== undefined) n++; return n; }
function kChart(id, opts, data) {
  var el = document.getElementById(id);
  var width = Math.max(320, Math.min(1100, el.clientWidth || 1000));
  opts.width = width;
  opts.height = opts.height || 260;
  var u = new uPlot(opts, data, el);
  var points = {};
  for (var i = 1; i < opts.series.length; i++) {
    points[opts.series[i].label] = kCount(data[i]);
  }
  var total = 0; for (var k in points) total += points[k];
  el.setAttribute('data-points', String(total));
  window.kestrelReport.charts[id] = { points: points, total: total, width: u.width, height: u.height };
  return u;
}
`;
