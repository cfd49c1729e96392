/**
 * `kestrel run audit` as its own OS process over a real NATS (JetStream): events a writer chains into
 * stream `audit` reach the archive file in order; SIGKILL mid-stream and SIGTERM both resume from
 * the last ack with no gap and no duplicate line, and `kestrel audit verify FILE` passes on it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { AuditLog, pack } from '../../src/audit/audit-log.js';
import { FileAuditSink, JetStreamAuditSink } from '../../src/audit/sinks.js';
import { NatsBus } from '../../src/bus/nats-bus.js';
import { systemClock } from '../../src/clock/clock.js';
import { ControlCommandSchema } from '../../src/contracts/index.js';
import { startOwnNats, type OwnNats } from '../support/nats-server.js';
import { kestrel, repoRoot } from '../support/processes.js';
import { writeServiceConfig } from '../support/service-config.js';
import { tmpDir } from '../support/tmp.js';
import { eventually } from '../support/wait.js';

describe('kestrel run audit (audit archive process)', () => {
  let nats: OwnNats | undefined;
  let bus: NatsBus;
  let log: AuditLog;
  let dir: string;

  beforeAll(async () => {
    nats = await startOwnNats();
    if (!nats) return;
    bus = await NatsBus.connect({ servers: nats.url });
    log = await AuditLog.open(await JetStreamAuditSink.open(bus.connection, 'live'), {
      service: 'test-writer',
      replay: false,
      clock: systemClock,
    });
    dir = tmpDir('kestrel-audit-proc-');
  });

  afterAll(async () => {
    await log?.close();
    await bus?.close();
    await nats?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  let written = 0;
  /** `n` events into the stream, each durable before the next batch. */
  const writeEvents = async (n: number) => {
    for (let i = 0; i < n; i++) {
      written++;
      log.record(
        'control',
        `t${written}`,
        pack(ControlCommandSchema, create(ControlCommandSchema, { command: 'pause', reason: `event ${written}` })),
      );
    }
    await log.flush();
  };

  it('archives the chain, resumes after SIGKILL and SIGTERM with no gap or duplicate, and verifies', { timeout: 180_000 }, async () => {
    if (!nats) return;
    const file = path.join(dir, 'archive', 'audit.log');
    const cfg = writeServiceConfig(path.join(dir, 'kestrel.yaml'), { bus: { nats_url: nats.url }, audit: { file } });
    const lines = () => (fs.existsSync(file) ? FileAuditSink.readAll(file) : []);
    await writeEvents(200);

    // First run: SIGKILL while it is still archiving (no drain, some events written but not acked).
    const first = kestrel(['run', 'audit', '--config', cfg]);
    const url = (await first.line(/"event":"ready".*"adminUrl":"([^"]+)"/, 60_000))[1]!;
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
    await eventually(() => lines().length >= 20, 30_000, 'some events archived');
    first.child.kill('SIGKILL');
    await first.exited;
    const afterKill = lines().length;
    expect(afterKill).toBeLessThanOrEqual(200);

    // More events while it is down, then a second run: everything, once.
    await writeEvents(100);
    const second = kestrel(['run', 'audit', '--config', cfg]);
    const url2 = (await second.line(/"event":"ready".*"adminUrl":"([^"]+)"/, 60_000))[1]!;
    await eventually(() => lines().length === 300, 60_000, 'all 300 events archived');
    const ready = await fetch(`${url2}/health/ready`);
    expect(ready.status, await ready.text()).toBe(200);
    const metrics = await (await fetch(`${url2}/metrics`)).text();
    expect(metrics).toMatch(/audit_archive_events_total/);
    second.child.kill('SIGTERM');
    expect(await second.exited, second.stderr()).toBe(0);

    // A third run after a clean stop takes only what is new.
    await writeEvents(50);
    const third = kestrel(['run', 'audit', '--config', cfg]);
    await third.line(/"event":"ready"/, 60_000);
    await eventually(() => lines().length === 350, 60_000, 'all 350 events archived');
    third.child.kill('SIGTERM');
    expect(await third.exited, third.stderr()).toBe(0);

    const archived = lines();
    expect(new Set(archived.map((e) => e.eventId)).size).toBe(350);
    const stream = await (await JetStreamAuditSink.attach(bus.connection, 'audit')).readAll();
    expect(archived.map((e) => e.hash)).toEqual(stream.map((e) => e.hash));
    const verify = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'audit', 'verify', file], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
  });
});
