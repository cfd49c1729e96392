/**
 * The operator console: one self-contained HTML page (uPlot inlined from the npm package, no CDN,
 * so it works offline). It renders the snapshots the SSE stream pushes; every control is a POST to
 * the admin server with the operator's bearer token, after a confirmation.
 *
 * `window.kestrelConsole` exposes what the page received and did, for the browser test.
 */
import { chartAssets } from '../../replay/report/assets.js';

let cached: string | undefined;

export function consolePage(): string {
  if (cached) return cached;
  const a = chartAssets();
  cached = `<!doctype html>
<html><head><meta charset="utf-8"><title>kestrel console</title>
<style>${a.css}
body{font:13px/1.4 system-ui,sans-serif;margin:16px;background:#0f1115;color:#e6e6e6}
h1{font-size:18px;margin:0 8px 0 0;display:inline-block} h2{font-size:14px;margin:16px 0 6px;color:#9ca3af;text-transform:uppercase;letter-spacing:.05em}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px} .card{background:#171a21;border-radius:6px;padding:10px 12px;overflow:auto}
table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #262a33;white-space:nowrap} th{color:#9ca3af;font-weight:500}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.light{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:6px;vertical-align:middle}
.ok{color:#4ade80} .warn{color:#facc15} .bad{color:#f87171} .light.ok{background:#4ade80} .light.warn{background:#facc15} .light.bad{background:#f87171}
.badge{padding:2px 8px;border-radius:4px;font-weight:600} .badge.ok{background:#14532d;color:#bbf7d0} .badge.bad{background:#7f1d1d;color:#fecaca} .badge.warn{background:#713f12;color:#fef08a}
button,select,input{padding:5px 10px;background:#2a2f3a;color:#e6e6e6;border:1px solid #444;border-radius:4px;margin-right:6px}
button{cursor:pointer} button.danger{border-color:#b91c1c} #controls{margin:10px 0}
.bar{height:8px;background:#262a33;border-radius:4px;overflow:hidden;width:160px;display:inline-block;vertical-align:middle;margin-right:6px} .bar>i{display:block;height:100%;background:#60a5fa}
.uplot{color:#e6e6e6} .u-legend{color:#e6e6e6}
pre{max-height:300px;overflow:auto}
</style></head><body>
<div><h1>kestrel</h1><span id="trading" class="badge warn">connecting…</span> <span id="mode"></span> <span id="age" style="color:#9ca3af"></span></div>
<div id="controls">
  <input id="token" type="password" placeholder="admin token" autocomplete="off" size="28">
  <button id="btn-pause">Pause</button><button id="btn-resume">Resume</button><button id="btn-drain">Drain</button>
  <select id="flatten-symbol"></select><button id="btn-flatten">Flatten symbol</button>
  <button id="btn-kill" class="danger">Kill</button>
  <span id="action-status"></span>
</div>
<div class="grid">
  <div class="card"><h2>Venues</h2><table id="venues"><thead><tr><th>venue</th><th>public</th><th>last msg</th><th>resyncs</th><th>gaps</th><th>private</th><th>breaker</th></tr></thead><tbody></tbody></table></div>
  <div class="card"><h2>Risk</h2><table id="risk"><tbody></tbody></table></div>
  <div class="card"><h2>PnL (<span id="ccy"></span>)</h2><div id="pnl-totals"></div><div id="pnl-chart"></div></div>
  <div class="card"><h2>Signal → wire latency</h2><div id="latency-chart"></div></div>
  <div class="card"><h2>Positions per venue</h2><table id="positions"><thead><tr><th>venue</th><th>symbol</th><th>qty</th><th>avg</th><th>mark</th><th>realized</th><th>unrealized</th><th>fees</th><th>net</th></tr></thead><tbody></tbody></table>
    <h2>Netted</h2><table id="netted"><thead><tr><th>symbol</th><th>qty</th><th>net PnL</th><th>venues</th></tr></thead><tbody></tbody></table></div>
  <div class="card"><h2>Orders (latest first)</h2><table id="orders"><thead><tr><th>time</th><th>venue</th><th>symbol</th><th>side</th><th>size</th><th>price</th><th>filled</th><th>status</th><th>reject reason</th></tr></thead><tbody></tbody></table></div>
</div>
<details class="card" style="margin-top:16px"><summary>Raw state (<a href="/admin/state" style="color:#93c5fd">/admin/state</a>, <a href="/metrics" style="color:#93c5fd">/metrics</a>)</summary><pre id="raw"></pre></details>
<script>${a.script}</script>
<script>
(function () {
'use strict';
var K = window.kestrelConsole = { ready: false, snapshots: 0, errors: [], last: null, actions: [] };
window.addEventListener('error', function (e) { K.errors.push(String(e.message)); });
var $ = function (id) { return document.getElementById(id); };
var fmt = function (x, d) { return x === null || x === undefined ? '–' : Number(x).toFixed(d === undefined ? 2 : d); };
function row(tbody, cells) {
  var tr = document.createElement('tr');
  cells.forEach(function (c) {
    var td = document.createElement('td');
    if (c && typeof c === 'object' && c.node) td.appendChild(c.node); else td.textContent = String(c);
    if (typeof c === 'number' || (c && c.num)) td.className = 'n';
    tr.appendChild(td);
  });
  tbody.appendChild(tr);
  return tr;
}
function fill(id, rows) { var tb = $(id).tBodies[0]; tb.textContent = ''; rows.forEach(function (r) { row(tb, r); }); }
function light(cls, text) { var s = document.createElement('span'); var l = document.createElement('span'); l.className = 'light ' + cls; s.appendChild(l); s.appendChild(document.createTextNode(text)); return { node: s }; }
function bar(frac) { var s = document.createElement('span'); var b = document.createElement('span'); b.className = 'bar'; var i = document.createElement('i'); i.style.width = Math.min(100, Math.max(0, frac * 100)).toFixed(1) + '%'; if (frac > 0.8) i.style.background = '#f87171'; b.appendChild(i); s.appendChild(b); s.appendChild(document.createTextNode((frac * 100).toFixed(1) + ' %')); return { node: s }; }

var width = function (id) { return Math.max(300, ($(id).clientWidth || 500) - 4); };
var pnlData = [[], []];
var pnlChart = new uPlot({ width: width('pnl-chart'), height: 200, series: [{}, { label: 'net PnL', stroke: '#60a5fa', width: 1.5 }],
  axes: [{ stroke: '#9ca3af', grid: { stroke: '#262a33' } }, { stroke: '#9ca3af', grid: { stroke: '#262a33' } }] }, pnlData, $('pnl-chart'));
var latChart = new uPlot({ width: width('latency-chart'), height: 200, scales: { x: { time: false } },
  series: [{ label: 'bucket' }, { label: 'orders', stroke: '#f59e0b', fill: 'rgba(245,158,11,0.4)', paths: uPlot.paths.bars({ size: [0.8, 60] }) }],
  axes: [{ stroke: '#9ca3af', grid: { show: false }, values: function (u, ticks) { return ticks.map(function (t) { return K.latencyLabels[t] || ''; }); } }, { stroke: '#9ca3af', grid: { stroke: '#262a33' } }] },
  [[], []], $('latency-chart'));
K.latencyLabels = [];
K.charts = { pnl: 0, latency: 0 };

function ms(label) { if (label === '+Inf') return '>'; var s = Number(label); return s < 1e-3 ? (s * 1e6) + 'µs' : (s * 1e3) + 'ms'; }

function render(s) {
  K.last = s; K.snapshots++;
  var t = $('trading');
  if (s.draining) { t.textContent = 'DRAINING'; t.className = 'badge warn'; }
  else if (s.halted) { t.textContent = 'HALTED: ' + Object.keys(s.halts).join(', '); t.className = 'badge bad'; }
  else { t.textContent = 'TRADING'; t.className = 'badge ok'; }
  t.setAttribute('data-state', s.draining ? 'draining' : s.halted ? 'halted' : 'trading');
  $('mode').textContent = 'mode ' + s.mode;
  $('ccy').textContent = s.reportingCurrency;
  var br = {}; s.breakers.forEach(function (b) { br[b.venue] = b.state; });
  fill('venues', s.venues.map(function (v) {
    var b = br[v.venue] || 'CLOSED';
    return [light(v.light, v.venue + (v.paused ? ' (paused)' : '')), light(v.publicConnected ? 'ok' : 'bad', v.publicConnected ? 'up' : 'down'),
      v.lastMessageAgeMs === null ? '–' : v.lastMessageAgeMs + ' ms', v.resyncs, v.gaps, light(v.privateConnected ? 'ok' : 'bad', v.privateConnected ? 'up' : 'down'),
      light(b === 'CLOSED' ? 'ok' : b === 'OPEN' ? 'bad' : 'warn', b)];
  }));
  var r = s.risk;
  fill('risk', r ? [
    ['VaR', fmt(r.var) + ' / ' + fmt(r.maxVar), bar(r.varUtilisation)],
    ['gross notional', fmt(r.grossNotional) + ' / ' + fmt(r.portfolioNotional), bar(r.notionalUtilisation)],
    ['drawdown', fmt(r.drawdown * 100, 2) + ' %', r.maxTotalDrawdown > 0 ? bar(r.drawdown / r.maxTotalDrawdown) : 'no limit'],
    ['limits', 'per symbol ' + fmt(r.perSymbolNotional, 0) + ', per order ' + fmt(r.maxOrderNotional, 0), r.reduceOnly ? 'REDUCE-ONLY: ' + r.reduceOnlyReason : (r.varDegraded ? 'VaR degraded' : '')],
  ] : [['no risk gateway in this process', '', '']]);
  fill('positions', s.positions.map(function (p) { return [p.venue, p.symbol, {node: document.createTextNode(fmt(p.quantity, 6)), num: 1}, fmt(p.avgPrice), fmt(p.mark), fmt(p.realizedPnl), fmt(p.unrealizedPnl), fmt(p.fees), fmt(p.netPnl)]; }));
  fill('netted', s.netted.map(function (n) { return [n.symbol, fmt(n.quantity, 6), fmt(n.netPnl), n.venues]; }));
  fill('orders', s.orders.map(function (o) { return [new Date(o.createdMs).toISOString().slice(11, 23), o.venue, o.symbol, o.side, fmt(o.size, 6), fmt(o.price), fmt(o.filledQty, 6), o.status, o.rejectReason]; }));
  $('pnl-totals').textContent = 'realized ' + fmt(s.pnl.realized) + '  unrealized ' + fmt(s.pnl.unrealized) + '  fees ' + fmt(s.pnl.fees) + '  net ' + fmt(s.pnl.net);
  var sel = $('flatten-symbol'), cur = sel.value, syms = {};
  s.positions.forEach(function (p) { syms[p.symbol] = 1; });
  var keys = Object.keys(syms).sort();
  if (sel.options.length !== keys.length || keys.some(function (k, i) { return sel.options[i].value !== k; })) {
    sel.textContent = ''; keys.forEach(function (k) { var o = document.createElement('option'); o.value = o.textContent = k; sel.appendChild(o); });
    if (keys.indexOf(cur) >= 0) sel.value = cur;
  }
  pnlData[0].push(s.tsMs / 1000); pnlData[1].push(s.pnl.net);
  if (pnlData[0].length > 3600) { pnlData[0].shift(); pnlData[1].shift(); }
  pnlChart.setData(pnlData); K.charts.pnl = pnlData[0].length;
  if (s.latency) {
    K.latencyLabels = s.latency.le.map(ms);
    latChart.setData([s.latency.le.map(function (_, i) { return i; }), s.latency.counts]);
    K.charts.latency = s.latency.count;
  }
  $('age').textContent = 'updated ' + new Date(s.tsMs).toISOString().slice(11, 19) + ' UTC';
  K.ready = true;
}

var es = new EventSource('/admin/events');
es.addEventListener('history', function (e) {
  var h = JSON.parse(e.data);
  pnlData = [h.map(function (p) { return p.tsMs / 1000; }), h.map(function (p) { return p.net; })];
});
es.addEventListener('snapshot', function (e) { try { render(JSON.parse(e.data)); } catch (err) { K.errors.push(String(err)); } });
es.onerror = function () { var t = $('trading'); if (!K.ready) { t.textContent = 'no live feed'; t.className = 'badge warn'; } };

function raw() { fetch('/admin/state').then(function (r) { return r.json(); }).then(function (j) { $('raw').textContent = JSON.stringify(j, null, 2); }).catch(function () {}); }
raw(); setInterval(raw, 2000);

$('token').value = sessionStorage.getItem('kestrel-admin-token') || '';
var CONFIRM = {
  pause: 'Pause trading? New signals are refused and open orders cancelled until Resume.',
  resume: 'Resume trading?',
  drain: 'Drain? No more signals are taken; in-flight orders finish, then the session ends.',
  flatten: 'Flatten %s? Open orders in it are cancelled and every position in it closed at market.',
  kill: 'KILL? Trading halts, open orders are cancelled and EVERY position is closed at market.',
};
function act(action) {
  var body;
  var msg = CONFIRM[action];
  if (action === 'flatten') { var sym = $('flatten-symbol').value; if (!sym) { status('no symbol to flatten', 'bad'); return; } msg = msg.replace('%s', sym); body = JSON.stringify({ symbol: sym }); }
  if (!window.confirm(msg)) { status(action + ' cancelled', 'warn'); return; }
  var token = $('token').value.trim();
  var headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = 'Bearer ' + token;
  fetch('/admin/' + action, { method: 'POST', headers: headers, body: body }).then(function (r) {
    return r.json().catch(function () { return {}; }).then(function (j) {
      K.actions.push({ action: action, status: r.status });
      if (r.status === 401) { sessionStorage.removeItem('kestrel-admin-token'); status(action + ' refused: ' + (j.error || 'unauthorized'), 'bad', r.status); }
      else if (!r.ok) status(action + ' failed (' + r.status + '): ' + (j.error || ''), 'bad', r.status);
      else { sessionStorage.setItem('kestrel-admin-token', token); status(action + ' done', 'ok', r.status); }
    });
  }).catch(function (e) { status(action + ' failed: ' + e, 'bad', 0); });
}
function status(text, cls, code) { var s = $('action-status'); s.textContent = text; s.className = cls; s.setAttribute('data-code', String(code === undefined ? '' : code)); }
['pause', 'resume', 'drain', 'flatten', 'kill'].forEach(function (a) { $('btn-' + a).addEventListener('click', function () { act(a); }); });
})();
</script></body></html>`;
  return cached;
}
