import { afterEach, describe, expect, it } from 'vitest';
import type { ConsoleSnapshot } from '../../src/admin/console/snapshot.js';
import { AdminServer } from '../../src/admin/server.js';
import { HaltClearError } from '../../src/execution/executor.js';

const TOKEN = 'test-admin-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };
import { counter } from '../../src/observability/metrics.js';

describe('admin HTTP server', () => {
  let server: AdminServer | undefined;
  afterEach(async () => server?.close());

  it('serves liveness, readiness with named checks, and Prometheus metrics', async () => {
    let busReady = false;
    server = new AdminServer({}, { token: TOKEN });
    server.addReadinessCheck('bus', () => busReady);
    const base = await server.listen(0, '127.0.0.1');
    counter('admin_test_total', 'test counter').inc(3);

    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    const notReady = await fetch(`${base}/health/ready`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ ready: false, checks: { bus: false } });
    busReady = true;
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('kestrel_admin_test_total 3');
  });

  it('runs operator actions on POST only', async () => {
    const calls: string[] = [];
    server = new AdminServer({ pause: () => void calls.push('pause'), resume: () => void calls.push('resume') }, { token: TOKEN });
    const base = await server.listen(0, '127.0.0.1');
    expect((await fetch(`${base}/admin/pause`)).status).toBe(405);
    expect((await fetch(`${base}/admin/pause`, { method: 'POST', headers: auth })).status).toBe(200);
    expect((await fetch(`${base}/admin/resume`, { method: 'POST', headers: auth })).status).toBe(200);
    expect((await fetch(`${base}/admin/drain`, { method: 'POST', headers: auth })).status).toBe(501);
    expect(calls).toEqual(['pause', 'resume']);
  });

  it('refuses every mutating request without the right bearer token (401), and runs none of them', async () => {
    const calls: string[] = [];
    server = new AdminServer(
      {
        pause: () => void calls.push('pause'),
        resume: () => void calls.push('resume'),
        drain: () => void calls.push('drain'),
        clearHalt: () => void calls.push('clear'),
      },
      { token: TOKEN },
    );
    const base = await server.listen(0, '127.0.0.1');
    for (const action of ['pause', 'resume', 'drain', 'clear-halt']) {
      const variants: Record<string, string>[] = [
        {},
        { authorization: 'Bearer wrong-token-0123456789abcdef' },
        { authorization: TOKEN },
        { authorization: `Bearer ${TOKEN}x` },
        { authorization: 'Basic abc' },
      ];
      for (const headers of variants) {
        const r = await fetch(`${base}/admin/${action}`, { method: 'POST', headers, body: '{"cause":"risk","reason":"r","operator":"o"}' });
        expect(r.status, `${action} ${JSON.stringify(headers)}`).toBe(401);
        expect(r.headers.get('www-authenticate')).toContain('Bearer');
      }
    }
    expect(calls).toEqual([]);
    expect(() => new AdminServer({}, { token: 'short' })).toThrow(/16 characters/);
  });

  it('answers 409 with the cause when resume cannot clear a halt; clear-halt takes {cause, reason, operator}', async () => {
    const cleared: string[] = [];
    server = new AdminServer(
      {
        resume: () => {
          throw new HaltClearError('resume cannot clear a risk halt', 'risk');
        },
        clearHalt: (cause, reason, operator) => void cleared.push(`${cause}/${reason}/${operator}`),
      },
      { token: TOKEN },
    );
    const base = await server.listen(0, '127.0.0.1');
    const r = await fetch(`${base}/admin/resume`, { method: 'POST', headers: auth });
    expect(r.status).toBe(409);
    expect(await r.json()).toEqual({ error: 'resume cannot clear a risk halt', haltCause: 'risk' });
    expect((await fetch(`${base}/admin/clear-halt`, { method: 'POST', headers: auth, body: '{"cause":"risk"}' })).status).toBe(400);
    const ok = await fetch(`${base}/admin/clear-halt`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ cause: 'risk', reason: 'limits reviewed', operator: 'alice' }),
    });
    expect(ok.status).toBe(200);
    expect(cleared).toEqual(['risk/limits reviewed/alice']);
  });

  it('serves the operator dashboard and its state snapshot', async () => {
    server = new AdminServer({ state: () => ({ positions: { 'BTC-USDT': 0.5 } }) }, { token: TOKEN });
    server.addReadinessCheck('engine', () => true);
    const base = await server.listen(0, '127.0.0.1');
    const page = await fetch(`${base}/admin/dashboard`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('/admin/state');
    const state = (await (await fetch(`${base}/admin/state`)).json()) as { ready: { ready: boolean }; state: unknown };
    expect(state.ready.ready).toBe(true);
    expect(state.state).toEqual({ positions: { 'BTC-USDT': 0.5 } });
  });

  it('serves state holding nanosecond bigint timestamps (positions) as JSON, not a dropped connection', async () => {
    server = new AdminServer(
      { state: () => ({ positions: [{ symbol: 'BTC-USDT', quantity: 0.5, tsNs: 1_700_000_000_123_456_789n }] }) },
      { token: TOKEN },
    );
    const base = await server.listen(0, '127.0.0.1');
    const r = await fetch(`${base}/admin/state`);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { state: unknown }).state).toEqual({
      positions: [{ symbol: 'BTC-USDT', quantity: 0.5, tsNs: '1700000000123456789' }],
    });
  });

  it('flatten takes {symbol} and kill runs, both only with the token', async () => {
    const calls: string[] = [];
    server = new AdminServer({ flatten: (s) => void calls.push(`flatten ${s}`), kill: () => void calls.push('kill') }, { token: TOKEN });
    const base = await server.listen(0, '127.0.0.1');
    for (const a of ['flatten', 'kill'])
      expect((await fetch(`${base}/admin/${a}`, { method: 'POST', body: '{"symbol":"BTC-USDT"}' })).status).toBe(401);
    expect((await fetch(`${base}/admin/flatten`, { method: 'POST', headers: auth, body: '{}' })).status).toBe(400);
    const f = await fetch(`${base}/admin/flatten`, { method: 'POST', headers: auth, body: '{"symbol":"BTC-USDT"}' });
    expect(await f.json()).toEqual({ ok: true, action: 'flatten', symbol: 'BTC-USDT' });
    expect((await fetch(`${base}/admin/kill`, { method: 'POST', headers: auth })).status).toBe(200);
    expect(calls).toEqual(['flatten BTC-USDT', 'kill']);
  });

  it('streams console snapshots over server-sent events, the PnL curve first', async () => {
    let net = 0;
    const snapshot = (): ConsoleSnapshot => ({
      tsMs: 1_000 + net,
      mode: 'paper',
      halted: false,
      halts: {},
      draining: false,
      reportingCurrency: 'USDT',
      pnl: { realized: net, unrealized: 0, fees: 0, net: net++ },
      venues: [],
      breakers: [],
      positions: [],
      netted: [],
      orders: [],
      risk: null,
      latency: null,
      counters: {},
    });
    server = new AdminServer({ console: async () => snapshot() }, { token: TOKEN });
    const base = await server.listen(0, '127.0.0.1');
    expect((await fetch(`${base}/admin/console`)).headers.get('content-type')).toContain('text/html');
    await new Promise((r) => setTimeout(r, 1200)); // two samples: at start and after 1 s
    const ctl = new AbortController();
    const r = await fetch(`${base}/admin/events`, { signal: ctl.signal });
    expect(r.headers.get('content-type')).toBe('text/event-stream');
    const reader = r.body!.getReader();
    let text = '';
    while (!/event: snapshot[\s\S]*event: snapshot/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    ctl.abort();
    const events = [...text.matchAll(/event: (\w+)\ndata: (.*)\n/g)].map((m) => [m[1], JSON.parse(m[2]!)] as const);
    expect(events[0]![0]).toBe('history');
    expect((events[0]![1] as Array<{ net: number }>).map((p) => p.net)).toEqual([0, 1]);
    // Then the latest sample, then new ones as they are taken.
    expect(events.slice(1).map(([e, d]) => [e, (d as ConsoleSnapshot).pnl.net])).toEqual([
      ['snapshot', 1],
      ['snapshot', 2],
    ]);
    const j = (await (await fetch(`${base}/admin/console.json`)).json()) as { pnl: Array<{ net: number }> };
    expect(j.pnl.map((p) => p.net).slice(0, 3)).toEqual([0, 1, 2]);
  });
});
