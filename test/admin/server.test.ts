import { afterEach, describe, expect, it } from 'vitest';
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
      { pause: () => void calls.push('pause'), resume: () => void calls.push('resume'), drain: () => void calls.push('drain'), clearHalt: () => void calls.push('clear') },
      { token: TOKEN },
    );
    const base = await server.listen(0, '127.0.0.1');
    for (const action of ['pause', 'resume', 'drain', 'clear-halt']) {
      const variants: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-token-0123456789abcdef' }, { authorization: TOKEN }, { authorization: `Bearer ${TOKEN}x` }, { authorization: 'Basic abc' }];
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
    const ok = await fetch(`${base}/admin/clear-halt`, { method: 'POST', headers: auth, body: JSON.stringify({ cause: 'risk', reason: 'limits reviewed', operator: 'alice' }) });
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
});
