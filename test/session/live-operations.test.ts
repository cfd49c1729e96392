import fs from 'node:fs';
import path from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { NatsBus } from '../../src/bus/nats-bus.js';
import { systemClock } from '../../src/clock/clock.js';
import { loadConfig } from '../../src/config/index.js';
import { OrderRequestSchema } from '../../src/contracts/index.js';
import { subjects } from '../../src/contracts/subjects.js';
import { runTradingSession } from '../../src/session/trading-session.js';
import { kestrel } from '../support/processes.js';
import { startOwnNats } from '../support/nats-server.js';
import { tmpDir } from '../support/tmp.js';
import { until } from '../support/wait.js';

describe('operating a running session', () => {
  it(
    '`kestrel config set` over real NATS lowers a risk limit in the running session and the next order obeys it',
    { timeout: 180_000 },
    async () => {
      const nats = await startOwnNats();
      if (!nats) return;
      const NATS_URL = nats.url;
      const dir = tmpDir('live-ops');
      const tokenFile = path.join(dir, 'token');
      const config = loadConfig({
        env: {},
        overrides: {
          logging: { level: 'silent' },
          bus: { kind: 'nats', nats_url: NATS_URL },
          session: { pace: 'accelerated', speed: 10 },
          admin: { port: 0, token_file: tokenFile },
          audit: { file: path.join(dir, 'audit.log') },
          execution: { wal_dir: path.join(dir, 'wal') },
        },
      });
      const bus = await NatsBus.connect({ servers: NATS_URL });
      const watch = await NatsBus.connect({ servers: NATS_URL });
      // Every order the executor sends, stamped with when this test saw it.
      const sent: Array<{ atNs: bigint; notional: number }> = [];
      watch.subscribe('ord.req.*', (m) => {
        const r = fromBinary(OrderRequestSchema, m.data);
        sent.push({ atNs: systemClock.nowNs(), notional: r.size * r.price });
      });
      let reloadAtNs: bigint | undefined;
      watch.subscribe(subjects.configReload('live'), () => void (reloadAtNs ??= systemClock.nowNs()));
      let adminUrl = '';
      let cli: { line: string; code: number | null } | undefined;
      const session = runTradingSession(config, bus, {
        onReady: (info) => void (adminUrl = info.adminUrl ?? ''),
      });
      let ended = false;
      void session.then(
        () => (ended = true),
        () => (ended = true),
      );
      try {
        // Trading under the default limit first.
        await until(() => sent.length >= 1, 60_000, 'a first order');
        expect(sent[0]!.notional).toBeGreaterThan(1);
        const p = kestrel(['config', 'set', 'risk.max_order_notional=1'], { KESTREL__bus__nats_url: NATS_URL });
        const code = await p.exited;
        cli = { line: p.stdout.join('\n'), code };
        expect(cli.code, p.stderr()).toBe(0);
        expect(cli.line).toBe('config 1.0.0 -> 1.0.1 applied: risk.max_order_notional 100000 -> 1');
        expect(reloadAtNs).toBeDefined();
        // A key the running session cannot take: one line, exit 1, nothing changed.
        const refused = kestrel(['config', 'set', 'rings.capacity=1024'], { KESTREL__bus__nats_url: NATS_URL });
        expect(await refused.exited).toBe(1);
        expect(refused.stderr().trim()).toBe(
          'kestrel: config set refused (PARAM_NOT_LIVE): rings.capacity cannot change while running (restart with --set rings.capacity=VALUE)',
        );
        // Let signals keep coming under the new limit, then end the session.
        const sentAtChange = sent.length;
        await new Promise((r) => setTimeout(r, 6000));
        const token = fs.readFileSync(tokenFile, 'utf8').trim();
        // End it now (drain) unless the recording already ran out (slow, loaded machine).
        if (!ended)
          await fetch(`${adminUrl}/admin/drain`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
        const s = await session;
        // Orders decided before the limit reached the executor may still be on the wire; 200 ms later none are.
        const late = sent.filter((o) => o.atNs > reloadAtNs! + 200_000_000n);
        expect(late).toEqual([]);
        expect(sent.length - sentAtChange).toBeLessThanOrEqual(2);
        expect(s.orders.rejectReasons.RISK_LIMIT ?? 0).toBeGreaterThan(0);
        expect(s.signals).toBeGreaterThan(s.orders.sent);
      } finally {
        await session.catch(() => undefined);
        await watch.close();
        await bus.close();
        await nats.stop();
      }
    },
  );
});
