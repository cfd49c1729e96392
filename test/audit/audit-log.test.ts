import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditLog, pack, packRaw } from '../../src/audit/audit-log.js';
import { AuditChain, encodeEvent, eventHash, GENESIS_HASH } from '../../src/audit/chain.js';
import { exportAuditMetrics } from '../../src/audit/metrics.js';
import { attachBusAudit, attachConfigAudit } from '../../src/audit/order-audit.js';
import { registry } from '../../src/observability/metrics.js';
import { FileAuditSink, readAuditFile, type AuditSink } from '../../src/audit/sinks.js';
import { verifyAuditBytes, verifyAuditFile, verifyEvents } from '../../src/audit/verify.js';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { VirtualClock } from '../../src/clock/clock.js';
import { loadConfig } from '../../src/config/index.js';
import { ConfigService } from '../../src/config/service.js';
import {
  AuditEventSchema,
  CircuitStateSchema,
  OrderAckSchema,
  OrderStatus,
  RiskBreachSchema,
  type AuditEvent,
} from '../../src/contracts/index.js';
import { subjects } from '../../src/contracts/subjects.js';
import { create, toBinary } from '@bufbuild/protobuf';
import { tmpDir } from '../support/tmp.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const tmp = tmpDir('auditlog');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const clock = () => new VirtualClock(1_700_000_000_000_000_000n);
const EMPTY = packRaw('google.protobuf.Empty', new Uint8Array());

/** A sink held in memory whose writes can be paused or made to fail. */
class ScriptedSink implements AuditSink {
  stored: AuditEvent[] = [];
  calls = 0;
  failNext = 0;
  gate: Promise<void> = Promise.resolve();
  async append(e: AuditEvent): Promise<void> {
    await this.appendBatch([e]);
  }
  async appendBatch(events: readonly AuditEvent[]): Promise<void> {
    this.calls++;
    await this.gate;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('disk on fire');
    }
    this.stored.push(...events);
  }
  async head(): Promise<string> {
    return this.stored.at(-1)?.hash ?? GENESIS_HASH;
  }
  async close(): Promise<void> {}
}

async function sampleFile(name: string, n: number): Promise<string> {
  const file = path.join(tmp, name);
  const log = await AuditLog.open(new FileAuditSink(file), { service: 'test', replay: false, clock: clock() });
  for (let i = 0; i < n; i++) {
    log.record(
      'order_fill',
      `t-${i}`,
      () => pack(OrderAckSchema, create(OrderAckSchema, { clientId: `c-${i}`, status: OrderStatus.FILLED, filledQty: i + 0.5 })),
      {
        client_id: `c-${i}`,
        fill_qty: String(i + 0.5),
      },
    );
  }
  await log.close();
  return file;
}

describe('AuditLog: off the hot path, bounded, never silent', () => {
  it('record() only queues: the sink is written later, in order, in batches, and the chain verifies', async () => {
    const sink = new ScriptedSink();
    const log = await AuditLog.open(sink, { service: 's', replay: false, clock: clock(), maxBatch: 100 });
    for (let i = 0; i < 250; i++) expect(log.record('order_intent', `t-${i}`, EMPTY, { i: String(i) })).toBe(true);
    expect(sink.calls).toBe(0);
    await log.flush();
    expect(sink.stored.map((e) => e.metadata.i)).toEqual(Array.from({ length: 250 }, (_, i) => String(i)));
    expect(sink.calls).toBe(3);
    expect(verifyEvents(sink.stored).ok).toBe(true);
    expect(log.health.ok).toBe(true);
  });

  it('a full queue drops new events but counts them, reports it, and writes an audit_gap into the chain', async () => {
    const sink = new ScriptedSink();
    let release!: () => void;
    sink.gate = new Promise((r) => (release = r));
    const log = await AuditLog.open(sink, { service: 's', replay: false, clock: clock(), capacity: 10, maxBatch: 4 });
    const failures: number[] = [];
    log.onFailure((h) => failures.push(h.dropped));
    const stopMetrics = exportAuditMetrics(log);
    log.record('a', '', EMPTY);
    await new Promise((r) => setImmediate(r)); // the first batch is now stuck in the sink
    let accepted = 0;
    for (let i = 0; i < 30; i++) if (log.record('b', '', EMPTY, { i: String(i) })) accepted++;
    expect(accepted).toBe(10);
    expect(log.stats.dropped).toBe(20);
    expect(log.health.ok).toBe(false);
    expect(failures).toEqual([1]); // reported once per incident, when it began
    release();
    await log.close();
    const gap = sink.stored.filter((e) => e.eventType === 'audit_gap');
    expect(gap).toHaveLength(1);
    expect(gap[0]!.metadata.dropped).toBe('20');
    // And on /metrics.
    stopMetrics();
    const text = await registry.metrics();
    expect(text).toMatch(/kestrel_audit_events_total\{outcome="dropped"\} 20/);
    expect(text).toMatch(/kestrel_audit_healthy 0/);
    expect(sink.stored.filter((e) => e.eventType === 'b')).toHaveLength(10);
    expect(verifyEvents(sink.stored).ok).toBe(true);
  });

  it('a failed write is counted, surfaced to durable waiters, and retried with the same events', async () => {
    const sink = new ScriptedSink();
    sink.failNext = 2;
    const log = await AuditLog.open(sink, { service: 's', replay: false, clock: clock(), retryMs: 5 });
    await expect(log.recordDurable('control', 'x', EMPTY)).rejects.toThrow(/disk on fire/);
    log.record('order_send', 'y', EMPTY);
    await log.flush();
    expect(log.stats.failedWrites).toBe(2);
    expect(sink.stored.map((e) => e.eventType)).toEqual(['control', 'order_send']);
    expect(verifyEvents(sink.stored).ok).toBe(true);
    expect(log.health.ok).toBe(true); // writing again
  });
});

describe('several writers on one sink (sessions sharing the JetStream stream)', () => {
  it('verifies interleaved writers each on its own links; a removed or reordered event is still found', async () => {
    const sink = new ScriptedSink();
    const a = await AuditLog.open(sink, { service: 'session', replay: false, clock: clock() });
    a.record('session_start', '', EMPTY);
    await a.flush();
    const b = await AuditLog.open(sink, { service: 'session', replay: false, clock: clock() });
    for (let i = 0; i < 4; i++) {
      a.record('order_send', `a${i}`, EMPTY);
      b.record('order_send', `b${i}`, EMPTY);
      await Promise.all([a.flush(), b.flush()]);
    }
    await a.close();
    await b.close();
    const all = sink.stored;
    expect(new Set(all.map((e) => e.service)).size).toBe(2);
    expect(verifyEvents(all)).toMatchObject({ ok: true, verified: 9 });
    // Any event but a writer's last (a chain's tail: nothing links to it yet) is missed when removed.
    const lastOf = new Set([...new Set(all.map((e) => e.service))].map((w) => all.map((e) => e.service).lastIndexOf(w)));
    for (let i = 0; i < all.length; i++) {
      if (!lastOf.has(i)) expect(verifyEvents([...all.slice(0, i), ...all.slice(i + 1)]).ok, `without event ${i}`).toBe(false);
    }
    // Reordering one writer's events, or moving a writer's first event before the head it linked to.
    const aIdx = all.map((e, i) => (e.service === all[0]!.service ? i : -1)).filter((i) => i >= 0);
    const bFirst = all.findIndex((e) => e.service !== all[0]!.service);
    const swap = (i: number, j: number) => {
      const x = [...all];
      [x[i], x[j]] = [x[j]!, x[i]!];
      return x;
    };
    expect(verifyEvents(swap(aIdx[1]!, aIdx[2]!)).ok).toBe(false);
    expect(verifyEvents(swap(0, bFirst)).ok).toBe(false);
  });
});

describe('AuditLog close with a sink that never recovers', () => {
  it('gives up after the timeout, counts the unwritten events as dropped, and stops retrying', async () => {
    const sink = new ScriptedSink();
    sink.failNext = Number.MAX_SAFE_INTEGER;
    const log = await AuditLog.open(sink, { service: 's', replay: false, clock: clock(), retryMs: 5 });
    log.record('order_send', 'a', EMPTY);
    log.record('order_send', 'b', EMPTY);
    await log.close(100);
    expect(log.stats.dropped).toBe(2);
    expect(log.health.ok).toBe(false);
    const calls = sink.calls;
    await new Promise((r) => setTimeout(r, 100));
    expect(sink.calls).toBe(calls);
    expect(log.record('late', '', EMPTY)).toBe(false);
  });
});

describe('audit file: tamper evidence and crashes', () => {
  it('detects a single flipped byte anywhere in the file', async () => {
    const file = await sampleFile('flip.log', 6);
    const good = fs.readFileSync(file);
    expect(verifyAuditFile(file)).toMatchObject({ ok: true, verified: 6, tornTailBytes: 0 });
    const missed: string[] = [];
    for (let pos = 0; pos < good.length; pos++) {
      // Low bit (a neighbouring base64 digit), 0x20 (case), 0x80 (not ASCII), and the byte → '\n'.
      for (const flip of [
        (b: number) => b ^ 0x01,
        (b: number) => b ^ 0x20,
        (b: number) => b ^ 0x80,
        (b: number) => (b === 0x0a ? 0x41 : 0x0a),
      ]) {
        const bad = Buffer.from(good);
        bad[pos] = flip(bad[pos]!);
        if (verifyAuditBytes(bad).ok) missed.push(`byte ${pos}: ${good[pos]} → ${bad[pos]}`);
      }
    }
    expect(missed).toEqual([]);
    // And through the file path, once.
    const bad = Buffer.from(good);
    bad[good.length - 1] = 0x4a; // the last line terminator
    fs.writeFileSync(file, bad);
    expect(verifyAuditFile(file)).toMatchObject({ ok: false, verified: 5 });
  }, 60_000);

  it('reads a torn last line as a torn tail; reopening cuts it and continues the chain', async () => {
    const file = await sampleFile('torn.log', 3);
    const whole = fs.readFileSync(file);
    const lastStart = whole.subarray(0, whole.length - 1).lastIndexOf(0x0a) + 1;
    for (const keep of [1, 40, whole.length - lastStart - 1]) {
      fs.writeFileSync(file, whole.subarray(0, lastStart + keep));
      const v = verifyAuditFile(file);
      expect(v).toMatchObject({ ok: true, verified: 2, tornTailBytes: keep });
    }
    const sink = new FileAuditSink(file);
    expect(sink.truncatedBytes).toBeGreaterThan(0);
    const log = await AuditLog.open(sink, { service: 'test', replay: false, clock: clock() });
    log.record('session_start', '', EMPTY);
    await log.close();
    expect(verifyAuditFile(file)).toMatchObject({ ok: true, verified: 3, tornTailBytes: 0 });
  });

  it('refuses to append to a damaged file (appending would hide the damage)', async () => {
    const file = await sampleFile('damaged.log', 3);
    const b = fs.readFileSync(file);
    b[10] = b[10]! ^ 0x01;
    fs.writeFileSync(file, b);
    expect(() => new FileAuditSink(file)).toThrow(/damaged/);
  });

  it('a writer SIGKILLed mid-write leaves a chain that verifies up to the torn tail', async () => {
    // tmpfs when there is one: a process kill tears a write the same way, without loading the disk.
    const base = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/kestrel-audit-kill-') : tmp;
    const results: Array<{ verified: number; torn: number }> = [];
    try {
      // Kill until one kill landed inside a write (a torn last line); aimed at writes in progress,
      // most kills do. 20 rounds without one would be a failure.
      for (let round = 0; round < 20 && !(results.some((r) => r.torn > 0) && round >= 2); round++) {
        const file = path.join(base, `kill-${round}`, 'audit.log');
        const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'test/audit/fixtures/audit-writer.ts'), file], {
          cwd: repoRoot,
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        await new Promise<void>((resolve, reject) => {
          child.stdout!.on('data', (d: Buffer) => String(d).includes('ready') && resolve());
          child.once('exit', (code) => reject(new Error(`writer exited early (${code})`)));
        });
        // Kill when the file ends inside a line, i.e. while a write(2) is copying a batch in (else
        // at a varied moment after at most 2 s).
        const fd = fs.openSync(file, 'r');
        const last = Buffer.alloc(1);
        const end = Date.now() + 30 + ((round * 97) % 2000);
        while (Date.now() < end) {
          const size = fs.fstatSync(fd).size;
          if (size > 0 && fs.readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a) break;
          await new Promise((r) => setImmediate(r));
        }
        child.kill('SIGKILL');
        fs.closeSync(fd);
        await new Promise((r) => child.once('exit', r));
        const v = verifyAuditFile(file);
        expect(v.ok, JSON.stringify(v)).toBe(true);
        expect(v.verified).toBeGreaterThan(0);
        results.push({ verified: v.verified, torn: v.tornTailBytes });
        // The next writer cuts the torn line and continues the same chain.
        const log = await AuditLog.open(new FileAuditSink(file), { service: 'test', replay: false, clock: clock() });
        log.record('session_start', '', EMPTY);
        await log.close();
        expect(verifyAuditFile(file)).toMatchObject({ ok: true, verified: v.verified + 1, tornTailBytes: 0 });
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
      }
    } finally {
      if (base !== tmp) fs.rmSync(base, { recursive: true, force: true });
    }
    console.log(`SIGKILL rounds: ${JSON.stringify(results)}`);
    expect(results.some((r) => r.torn > 0)).toBe(true);
  }, 90_000);
});

describe('what else is audited', () => {
  it('risk breaches and breaker transitions from the bus, config changes with versions and diff', async () => {
    const bus = new InProcessBus();
    const sink = new ScriptedSink();
    const log = await AuditLog.open(sink, { service: 's', replay: false, clock: clock() });
    const stop = attachBusAudit(bus, 'live', log);
    bus.publish(
      subjects.riskBreach('live'),
      toBinary(RiskBreachSchema, create(RiskBreachSchema, { limit: 'drawdown.max_daily', value: 0.06, threshold: 0.05 })),
    );
    bus.publish(
      subjects.circuit('okx', 'live'),
      toBinary(CircuitStateSchema, create(CircuitStateSchema, { venue: 'okx', state: 'OPEN', failures: 5 })),
    );
    await bus.flush();
    const base = loadConfig({ env: {}, overrides: { version: '1.0.0' } });
    const service = new ConfigService(base, clock());
    attachConfigAudit(service, log);
    service.apply({ ...base, version: '1.1.0', strategy: { ...base.strategy, kelly_fraction: 0.1 } });
    service.rollback();
    await log.flush();
    stop();
    await bus.close();
    const byType = (t: string) => sink.stored.filter((e) => e.eventType === t);
    expect(byType('risk_breach')[0]!.metadata).toMatchObject({ limit: 'drawdown.max_daily', value: '0.06' });
    expect(byType('circuit_transition')[0]!.metadata).toMatchObject({ venue: 'okx', state: 'OPEN', failures: '5' });
    const changes = byType('config_change');
    expect(changes.map((e) => [e.metadata.from_version, e.metadata.to_version, e.metadata.kind])).toEqual([
      ['1.0.0', '1.1.0', 'apply'],
      ['1.1.0', '1.0.0', 'rollback'],
    ]);
    expect(JSON.parse(changes[0]!.metadata.diff!)).toEqual({
      version: { from: '1.0.0', to: '1.1.0' },
      'strategy.kelly_fraction': { from: base.strategy.kelly_fraction, to: 0.1 },
    });
    expect(verifyEvents(sink.stored).ok).toBe(true);
  });

  it('the single encoding the chain keeps is byte-identical to toBinary, replay or not, and hashes the same', () => {
    for (const replay of [false, true]) {
      const chain = new AuditChain('svc', replay);
      for (const meta of [{}, { client_id: 'KS1', reason: 'RISK_LIMIT' }] as Array<Record<string, string>>) {
        const e = chain.nextAny('order_reject', 'trace', EMPTY, 123n, meta);
        expect(Buffer.from(encodeEvent(e)).equals(Buffer.from(toBinary(AuditEventSchema, e)))).toBe(true);
        expect(eventHash(e)).toBe(e.hash);
      }
    }
  });

  it('a chain continued by AuditChain alone still verifies (same hashing as the log)', () => {
    const chain = new AuditChain('x', false);
    const a = chain.nextAny('t', '', EMPTY, 1n, {});
    expect(verifyEvents([a]).ok).toBe(true);
    expect(readAuditFile(path.join(tmp, 'missing.log')).events).toEqual([]);
  });
});
