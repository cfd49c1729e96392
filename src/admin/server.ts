/**
 * Health and admin HTTP server: /health/live, /health/ready, /metrics, and the operator actions
 * /admin/pause, /admin/resume, /admin/drain (POST). Readiness aggregates named checks that services
 * register, so an operator sees which dependency is not ready.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { registry } from '../observability/metrics.js';

export type ReadinessCheck = () => boolean | Promise<boolean>;

export interface AdminActions {
  pause?: () => void | Promise<void>;
  resume?: () => void | Promise<void>;
  drain?: () => void | Promise<void>;
  /** Snapshot for /admin/state and the dashboard: positions, PnL, breakers, counters. */
  state?: () => unknown;
}

export class AdminServer {
  private readonly checks = new Map<string, ReadinessCheck>();
  private server: http.Server | undefined;

  constructor(private readonly actions: AdminActions = {}) {}

  addReadinessCheck(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  async readiness(): Promise<{ ready: boolean; checks: Record<string, boolean> }> {
    const checks: Record<string, boolean> = {};
    for (const [name, check] of this.checks) {
      try {
        checks[name] = await check();
      } catch {
        checks[name] = false;
      }
    }
    return { ready: Object.values(checks).every(Boolean), checks };
  }

  async listen(port: number, host: string): Promise<string> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String(err) }));
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const addr = server.address() as AddressInfo;
    return `http://${host}:${addr.port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && url.pathname === '/health/live') return json(200, { live: true });
    if (req.method === 'GET' && url.pathname === '/health/ready') {
      const r = await this.readiness();
      return json(r.ready ? 200 : 503, r);
    }
    if (req.method === 'GET' && url.pathname === '/metrics') {
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(await registry.metrics());
      return;
    }
    if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/admin/dashboard')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(DASHBOARD_HTML);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/admin/state') {
      const ready = await this.readiness();
      return json(200, { ready, state: this.actions.state ? this.actions.state() : null });
    }
    const action = url.pathname.startsWith('/admin/') ? url.pathname.slice('/admin/'.length) : undefined;
    if (action === 'pause' || action === 'resume' || action === 'drain') {
      if (req.method !== 'POST') return json(405, { error: `use POST for /admin/${action}` });
      const fn = this.actions[action];
      if (!fn) return json(501, { error: `${action} is not wired in this process` });
      await fn();
      return json(200, { ok: true, action });
    }
    return json(404, { error: `no route ${req.method} ${url.pathname}` });
  }
}

// A dependency-free operator page: polls /admin/state and /health/ready once a second.
const DASHBOARD_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>kestrel</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;background:#0f1115;color:#e6e6e6}
h1{font-size:18px;margin:0 0 12px} .ok{color:#4ade80} .bad{color:#f87171}
pre{background:#171a21;padding:12px;border-radius:6px;overflow:auto;max-height:70vh}
button{margin-right:8px;padding:6px 12px;background:#2a2f3a;color:#e6e6e6;border:1px solid #444;border-radius:4px;cursor:pointer}
</style></head><body>
<h1>kestrel <span id="ready">…</span></h1>
<div><button onclick="act('pause')">Pause trading</button><button onclick="act('resume')">Resume trading</button>
<a href="/metrics" style="color:#93c5fd">/metrics</a></div>
<pre id="state">loading…</pre>
<script>
async function refresh(){
  try{const r=await fetch('/admin/state');const j=await r.json();
    const el=document.getElementById('ready');el.textContent=j.ready.ready?'ready':'not ready';el.className=j.ready.ready?'ok':'bad';
    document.getElementById('state').textContent=JSON.stringify(j,null,2);}catch(e){document.getElementById('state').textContent=String(e);}
}
async function act(a){await fetch('/admin/'+a,{method:'POST'});refresh();}
refresh();setInterval(refresh,1000);
</script></body></html>`;
