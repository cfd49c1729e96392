import { afterEach, describe, expect, it } from 'vitest';
import { AdminServer } from '../../src/admin/server.js';
import { counter } from '../../src/observability/metrics.js';

describe('admin HTTP server', () => {
  let server: AdminServer | undefined;
  afterEach(async () => server?.close());

  it('serves liveness, readiness with named checks, and Prometheus metrics', async () => {
    let busReady = false;
    server = new AdminServer();
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
    server = new AdminServer({ pause: () => void calls.push('pause'), resume: () => void calls.push('resume') });
    const base = await server.listen(0, '127.0.0.1');
    expect((await fetch(`${base}/admin/pause`)).status).toBe(405);
    expect((await fetch(`${base}/admin/pause`, { method: 'POST' })).status).toBe(200);
    expect((await fetch(`${base}/admin/resume`, { method: 'POST' })).status).toBe(200);
    expect((await fetch(`${base}/admin/drain`, { method: 'POST' })).status).toBe(501);
    expect(calls).toEqual(['pause', 'resume']);
  });

  it('serves the operator dashboard and its state snapshot', async () => {
    server = new AdminServer({ state: () => ({ positions: { 'BTC-USDT': 0.5 } }) });
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
