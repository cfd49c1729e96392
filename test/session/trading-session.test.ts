import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { NatsBus } from '../../src/bus/nats-bus.js';
import { loadConfig } from '../../src/config/index.js';
import { runTradingSession } from '../../src/session/trading-session.js';
import { NATS_URL, requireServer } from '../support/servers.js';
import { tmpDir } from '../support/tmp.js';

const config = (over: Record<string, unknown> = {}) =>
  loadConfig({
    env: {},
    overrides: { logging: { level: 'silent' }, session: { pace: 'accelerated', speed: 100 }, admin: { port: 0 }, ...over },
  });

describe('default paper session through every real component', () => {
  it('replays the recording over sockets into rings, engine, executor, venues and positions', async () => {
    const bus = new InProcessBus();
    const dir = tmpDir('session-admin');
    const tokenFile = path.join(dir, 'admin', 'token');
    let admin: string | undefined;
    let ready: unknown;
    let unauthPause: unknown;
    const s = await runTradingSession(
      config({ admin: { port: 0, token_file: tokenFile }, audit: { file: path.join(dir, 'audit.log') } }),
      bus,
      {
        onReady: ({ adminUrl }) => {
          admin = adminUrl;
          void fetch(`${adminUrl}/health/live`).then((r) => (ready = r.status));
          void fetch(`${adminUrl}/admin/pause`, { method: 'POST' }).then((r) => (unauthPause = r.status));
        },
      },
    );
    await bus.close();
    expect(admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready).toBe(200);
    // The admin token was generated at first start, owner-only; a POST without it was refused.
    expect(unauthPause).toBe(401);
    expect(fs.statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(tokenFile, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(s.ticks.accepted).toBeGreaterThan(37_000);
    // The engine thread consumed every accepted tick through the shared-memory ring.
    expect(s.engineStats.ticks).toBe(s.ticks.accepted);
    expect(s.engineStats.missed).toBe(0);
    expect(s.signals).toBeGreaterThan(0);
    expect(s.orders.sent).toBeGreaterThan(0);
    expect(s.fills).toBeGreaterThan(0);
    expect(s.positions.length).toBe(1);
    expect(s.tickStore).toMatch(/^capture /);
    expect(s.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('runs with its stages on the real NATS server', async () => {
    if (!(await requireServer('NATS', NATS_URL.replace('nats:', 'http:')))) return;
    const bus = await NatsBus.connect({ servers: NATS_URL });
    const s = await runTradingSession(config({ session: { pace: 'accelerated', speed: 100, max_ticks: 6000 }, admin: { port: -1 } }), bus);
    await bus.close();
    expect(s.ticks.accepted).toBeGreaterThanOrEqual(6000);
    expect(s.engineStats.ticks).toBe(s.ticks.accepted);
  });
});
