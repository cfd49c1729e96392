/**
 * Health and admin HTTP server: /health/live, /health/ready, /metrics, the operator console (/, with
 * its live feed /admin/events and /admin/console.json), /admin/state, and the operator actions
 * /admin/pause, /admin/resume, /admin/drain, /admin/flatten, /admin/kill, /admin/clear-halt (POST).
 * Readiness aggregates named checks that services register, so an operator sees which dependency is
 * not ready.
 *
 * Every POST needs `Authorization: Bearer <token>` (401 otherwise; compared in constant time). Reads
 * (health, metrics, state, console) stay open so probes and scrapers need no secret.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { enableDefaultMetrics, registry } from '../observability/metrics.js';
import { consolePage } from './console/page.js';
import type { ConsoleSnapshot } from './console/snapshot.js';
import { ConsoleStream } from './console/stream.js';

/** Every route this server answers (docs/OPERATIONS.md is checked against it; a test checks none is a 404). */
export const ADMIN_ROUTES = {
  get: [
    '/health/live',
    '/health/ready',
    '/metrics',
    '/',
    '/admin/dashboard',
    '/admin/console',
    '/admin/events',
    '/admin/console.json',
    '/admin/state',
  ],
  post: ['/admin/pause', '/admin/resume', '/admin/drain', '/admin/flatten', '/admin/kill', '/admin/clear-halt'],
} as const;

export type ReadinessCheck = () => boolean | Promise<boolean>;

export interface AdminActions {
  pause?: () => void | Promise<void>;
  resume?: () => void | Promise<void>;
  drain?: () => void | Promise<void>;
  /** Cancel open orders in `symbol` and close its positions. */
  flatten?: (symbol: string) => void | Promise<void>;
  /** Emergency stop: halt trading, cancel open orders, close every position. */
  kill?: () => void | Promise<void>;
  /** Explicitly clear a halt of the given cause (risk | wal | operator); audited by the implementation. */
  clearHalt?: (cause: string, reason: string, operator: string) => void | Promise<void>;
  /** Snapshot for /admin/state and the dashboard: positions, PnL, breakers, counters. */
  state?: () => unknown;
  /** Operator console snapshot, pushed live to the page; without it the page shows only raw state. */
  console?: () => Promise<ConsoleSnapshot>;
}

export interface AdminServerOptions {
  /** Bearer token every mutating request must carry (resolveAdminToken). */
  token: string;
}

/** An action refused because of the system's state (e.g. resume while a risk halt holds): HTTP 409. */
export interface ConflictError extends Error {
  readonly haltCause?: string;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

export class AdminServer {
  private readonly checks = new Map<string, ReadinessCheck>();
  private server: http.Server | undefined;
  /** Digest of the token: equal-length buffers for timingSafeEqual whatever the caller sends. */
  private readonly tokenDigest: Buffer;
  private readonly stream: ConsoleStream | undefined;

  constructor(
    private readonly actions: AdminActions,
    opts: AdminServerOptions,
  ) {
    if (opts.token.length < 16) throw new TypeError('admin token must be at least 16 characters');
    this.tokenDigest = sha256(opts.token);
    this.stream = actions.console ? new ConsoleStream(actions.console) : undefined;
  }

  private authorized(req: http.IncomingMessage): boolean {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer (.+)$/.exec(h) : null;
    return m !== null && timingSafeEqual(sha256(m[1]!), this.tokenDigest);
  }

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
    // A process that serves /metrics exports its runtime too (CPU, memory, event-loop lag, GC).
    enableDefaultMetrics();
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        // A failure after the answer began (e.g. a client gone mid-stream) can only end it.
        if (res.headersSent) {
          res.destroy();
          return;
        }
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String(err) }));
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.stream?.start();
    const addr = server.address() as AddressInfo;
    return `http://${host}:${addr.port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    // Open event streams and browsers' keep-alive sockets would hold close() for seconds: the
    // process is shutting down, so every connection ends now.
    this.stream?.stop();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const json = (status: number, body: unknown) => {
      // Serialised before the head is written: a failure then still gets a proper 500.
      const text = JSON.stringify(body, bigintAsString);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(text);
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
    if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/admin/dashboard' || url.pathname === '/admin/console')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(consolePage());
      return;
    }
    if (req.method === 'GET' && url.pathname === '/admin/events') {
      if (!this.stream) return json(404, { error: 'no console feed in this process' });
      this.stream.subscribe(req, res);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/admin/console.json') {
      if (!this.stream) return json(404, { error: 'no console feed in this process' });
      return json(200, { snapshot: await this.stream.snapshot(), pnl: this.stream.history });
    }
    if (req.method === 'GET' && url.pathname === '/admin/state') {
      const ready = await this.readiness();
      return json(200, { ready, state: this.actions.state ? this.actions.state() : null });
    }
    const action = url.pathname.startsWith('/admin/') ? url.pathname.slice('/admin/'.length) : undefined;
    if (
      action === 'pause' ||
      action === 'resume' ||
      action === 'drain' ||
      action === 'kill' ||
      action === 'flatten' ||
      action === 'clear-halt'
    ) {
      if (req.method !== 'POST') return json(405, { error: `use POST for /admin/${action}` });
      if (!this.authorized(req)) {
        res.setHeader('www-authenticate', 'Bearer realm="kestrel-admin"');
        return json(401, { error: 'missing or wrong bearer token' });
      }
      try {
        if (action === 'clear-halt') {
          const fn = this.actions.clearHalt;
          if (!fn) return json(501, { error: `${action} is not wired in this process` });
          const body = await readJson(req);
          const cause = typeof body.cause === 'string' ? body.cause : '';
          const reason = typeof body.reason === 'string' ? body.reason : '';
          const operator = typeof body.operator === 'string' ? body.operator : '';
          if (!cause || !reason || !operator) return json(400, { error: 'clear-halt needs JSON {cause, reason, operator}' });
          await fn(cause, reason, operator);
          return json(200, { ok: true, action, cause });
        }
        if (action === 'flatten') {
          const fn = this.actions.flatten;
          if (!fn) return json(501, { error: `${action} is not wired in this process` });
          const symbol = (await readJson(req)).symbol;
          if (typeof symbol !== 'string' || !symbol) return json(400, { error: 'flatten needs JSON {symbol}' });
          await fn(symbol);
          return json(200, { ok: true, action, symbol });
        }
        const fn = this.actions[action];
        if (!fn) return json(501, { error: `${action} is not wired in this process` });
        await fn();
      } catch (err) {
        const cause = (err as ConflictError).haltCause;
        if (cause !== undefined) return json(409, { error: (err as Error).message, haltCause: cause });
        throw err;
      }
      return json(200, { ok: true, action });
    }
    return json(404, { error: `no route ${req.method} ${url.pathname}` });
  }
}

/**
 * Health and metrics only, for a process with no operator action (risk, simulators, record): every
 * POST answers 401, as no one holds the random token.
 */
export function probeServer(): AdminServer {
  return new AdminServer({}, { token: randomBytes(32).toString('hex') });
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > 64 * 1024) throw new Error('request body too large');
  }
  try {
    const v: unknown = JSON.parse(text || '{}');
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** State snapshots hold nanosecond timestamps (bigint), which JSON cannot encode: sent as decimal strings. */
function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
