import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { readAuditFile } from '../../src/audit/sinks.js';
import { orderHistory, verifyAuditFile, verifyEvents } from '../../src/audit/verify.js';
import { JetStreamAuditSink } from '../../src/audit/sinks.js';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { NatsBus } from '../../src/bus/nats-bus.js';
import { NATS_URL, requireServer } from '../support/servers.js';
import { main } from '../../src/cli/main.js';
import { loadConfig } from '../../src/config/index.js';
import { runTradingSession } from '../../src/session/trading-session.js';
import { tmpDir } from '../support/tmp.js';

describe('a session writes its whole order lifecycle into the audit chain', () => {
  it('one event per lifecycle step, counts equal to the summary; verify and show read it', async () => {
    const dir = tmpDir('session-audit');
    const file = path.join(dir, 'audit', 'audit.log');
    const config = loadConfig({
      env: {},
      overrides: {
        logging: { level: 'silent' },
        // Orders are what this test audits: a slower replay and a lower entry threshold keep a loaded
        // machine from ending the session with no signal (seen with Chromium tests running alongside).
        session: { pace: 'accelerated', speed: 50, max_ticks: 20_000 },
        strategy: { confidence_threshold: 0.2 },
        admin: { port: -1 },
        audit: { file },
        execution: { wal_dir: path.join(dir, 'wal') },
        storage: { capture_dir: path.join(dir, 'capture') },
      },
    });
    const bus = new InProcessBus();
    const s = await runTradingSession(config, bus);
    await bus.close();
    expect(s.orders.sent).toBeGreaterThan(0);
    expect(s.fills).toBeGreaterThan(0);

    const read = readAuditFile(file);
    expect(read.tornTailBytes).toBe(0);
    const events = read.events;
    const count = (t: string) => events.filter((e) => e.eventType === t).length;
    expect(verifyAuditFile(file)).toMatchObject({ ok: true, verified: events.length });
    expect(count('audit_gap')).toBe(0);
    expect(events[0]!.eventType).toBe('session_start');
    expect(events.at(-1)!.eventType).toBe('session_stop');
    expect(events.at(-1)!.metadata).toMatchObject({
      outcome: 'completed',
      orders_sent: String(s.orders.sent),
      fills: String(s.fills),
      audit_dropped: '0',
    });
    // The summary's counts, step by step.
    const types: Record<string, number> = {};
    for (const e of events) types[e.eventType] = (types[e.eventType] ?? 0) + 1;
    const why = JSON.stringify({ types, orders: s.orders, fills: s.fills });
    expect(count('order_send'), why).toBe(s.orders.sent);
    expect(count('order_fill'), why).toBe(s.fills);
    expect(count('order_reject'), why).toBe(s.orders.rejected);
    // Every order: exactly one intent, at most one send, in that order, and a risk decision before it.
    const ids = new Set(events.filter((e) => e.eventType === 'order_intent').map((e) => e.metadata.client_id!));
    expect(ids.size).toBe(count('order_intent'));
    for (const id of ids) {
      const h = orderHistory(events, id).map((e) => e.eventType);
      expect(h.filter((t) => t === 'order_intent')).toHaveLength(1);
      expect(h.filter((t) => t === 'order_send').length).toBeLessThanOrEqual(1);
      const iIntent = h.indexOf('order_intent');
      if (h.includes('order_send')) expect(h.indexOf('order_send')).toBeGreaterThan(iIntent);
      expect(h.slice(0, iIntent)).toContain('risk_decision');
    }
    // The venue reject or local failure of an order names it.
    for (const e of events.filter((x) => x.eventType === 'order_reject')) expect(e.metadata.reason).toMatch(/^[A-Z_]+$/);

    // The CLI over the same file.
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => (out.push(String(c)), true));
    try {
      expect(await main(['audit', 'verify', file])).toBe(0);
      const filled = events.find((e) => e.eventType === 'order_fill')!.metadata.client_id!;
      expect(await main(['audit', 'show', '--order', filled, file])).toBe(0);
      expect(await main(['audit', 'show', '--order', 'KS-nope', file])).toBe(1);
      await expect(main(['audit', 'verify', path.join(dir, 'nope.log')])).rejects.toThrow(/no audit file/);
      // One changed byte in the middle of the file: exit 1, naming where.
      const bytes = fs.readFileSync(file);
      const mid = Math.floor(bytes.length / 2);
      bytes[mid] = bytes[mid]! ^ 0x01;
      fs.writeFileSync(file, bytes);
      expect(await main(['audit', 'verify', file])).toBe(1);
    } finally {
      spy.mockRestore();
    }
    expect(out[0]).toMatch(new RegExp(`${events.length} event\\(s\\), chain intact`));
    expect(out[1]).toMatch(/order_intent[\s\S]*order_send[\s\S]*order_fill/);
    expect(out.at(-1)).toMatch(/BROKEN at event \d+ \(byte \d+\)/);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('over NATS the same steps go to the JetStream stream `audit`, continuing its chain', async (ctx) => {
    if (!(await requireServer('NATS', NATS_URL.replace('nats:', 'http:')))) return ctx.skip();
    const dir = tmpDir('session-audit-nats');
    const config = loadConfig({
      env: {},
      overrides: {
        logging: { level: 'silent' },
        bus: { kind: 'nats', nats_url: NATS_URL },
        // Orders are what this test audits: a slower replay and a lower entry threshold keep a loaded
        // machine from ending the session with no signal (seen with Chromium tests running alongside).
        session: { pace: 'accelerated', speed: 50, max_ticks: 20_000 },
        strategy: { confidence_threshold: 0.2 },
        admin: { port: -1 },
        execution: { wal_dir: path.join(dir, 'wal') },
        storage: { capture_dir: path.join(dir, 'capture') },
      },
    });
    const bus = await NatsBus.connect({ servers: NATS_URL });
    let events;
    let s;
    try {
      s = await runTradingSession(config, bus);
      events = await (await JetStreamAuditSink.open(bus.connection, 'live')).readAll();
    } finally {
      await bus.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // The stream holds other sessions too (earlier ones, and any running in parallel on this server,
    // each its own writer): the whole stream verifies, and this session's writer has its own events.
    expect(verifyEvents(events, events[0]!.prevHash).ok).toBe(true);
    const writer = events.filter((e) => e.eventType === 'session_start' && e.metadata.pid === String(process.pid)).at(-1)!.service;
    const mine = events.filter((e) => e.service === writer);
    expect(mine[0]!.eventType).toBe('session_start');
    expect(mine.at(-1)!.eventType).toBe('session_stop');
    const count = (t: string) => mine.filter((e) => e.eventType === t).length;
    expect(count('order_send')).toBe(s.orders.sent);
    expect(count('order_fill')).toBe(s.fills);
    expect(count('order_reject')).toBe(s.orders.rejected);
    expect(s.orders.sent).toBeGreaterThan(0);
  }, 120_000);
});
