import { describe, expect, it } from 'vitest';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { NatsBus } from '../../src/bus/nats-bus.js';
import { loadConfig } from '../../src/config/index.js';
import { runPaperSession } from '../../src/session/paper-session.js';
import { NATS_URL, requireServer } from '../support/servers.js';

const config = (over: Record<string, unknown> = {}) =>
  loadConfig({ env: {}, overrides: { session: { max_ticks: 12_000 }, ...over } });

describe('paper session on the real Binance capture', () => {
  it('runs ticks → signals → paper fills → position and PnL end to end', async () => {
    const bus = new InProcessBus();
    const s = await runPaperSession(config(), bus);
    await bus.close();
    expect(s.ticks).toBe(12_000);
    expect(s.signals).toBeGreaterThan(0);
    expect(s.fills).toBe(s.signals);
    expect(s.fees).toBeGreaterThan(0);
    expect(s.lastMid).toBeGreaterThan(50_000);
    expect(s.lastMid).toBeLessThan(70_000);
  });

  it('is deterministic: the same inputs and config give the same decision digest', async () => {
    const a = new InProcessBus();
    const b = new InProcessBus();
    const [x, y] = [await runPaperSession(config(), a), await runPaperSession(config(), b)];
    await Promise.all([a.close(), b.close()]);
    expect(x.digest).toBe(y.digest);
    expect(x.signals).toBe(y.signals);
  });

  it('a different config changes the decisions and so the digest', async () => {
    const a = new InProcessBus();
    const b = new InProcessBus();
    const x = await runPaperSession(config(), a);
    const y = await runPaperSession(config({ strategy: { kelly_fraction: 0.1 } }), b);
    await Promise.all([a.close(), b.close()]);
    expect(x.digest).not.toBe(y.digest);
  });

  it('runs the same session over the real NATS server', async () => {
    if (!(await requireServer('NATS', NATS_URL.replace('nats:', 'http:')))) return;
    const bus = await NatsBus.connect({ servers: NATS_URL });
    const s = await runPaperSession(config({ session: { max_ticks: 4000 }, bus: { namespace: 'replay' } }), bus);
    await bus.close();
    expect(s.ticks).toBe(4000);
  });
});
