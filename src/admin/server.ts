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
