/**
 * Cost of the audit trail on the order path: bench/execution.bench.ts's executor scenario (instant
 * venue, WAL on the repo's disk with its real fdatasync) without audit, with the file audit (batched
 * write + fdatasync off the event loop) and with the JetStream audit (when KESTREL_NATS_URL answers).
 * Measured: paced signal → ord.req latency, sustained orders/s and CPU per order, and what the
 * audit wrote. Cases are interleaved over ROUNDS rounds so a burst of load on this shared machine
 * does not land on one case. Results: bench/results/audit.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuditLog, packRaw } from '../src/audit/audit-log.js';
import { attachBusAudit, attachExecutorAudit } from '../src/audit/order-audit.js';
import { FileAuditSink, JetStreamAuditSink, type AuditSink } from '../src/audit/sinks.js';
import { NatsBus } from '../src/bus/nats-bus.js';
import { SystemClock } from '../src/clock/clock.js';
import { scenario, type Attach } from './execution.bench.js';

const ROUNDS = Number(process.env.KESTREL_BENCH_ROUNDS ?? 2);
const PACED = Number(process.env.KESTREL_BENCH_PACED ?? 1000);
const BURST = Number(process.env.KESTREL_BENCH_BURST ?? 5000);

function withAudit(open: () => Promise<AuditSink>, out: object[]): Attach {
  return async (ex, bus) => {
    const log = await AuditLog.open(await open(), { service: 'bench', replay: false, clock: new SystemClock() });
    attachExecutorAudit(ex, log);
    const stop = attachBusAudit(bus, 'live', log);
    return async () => {
      stop();
      await log.close();
      out.push({ ...log.stats, health_ok: log.health.ok });
    };
  };
}

/**
 * The log alone: the hot-path price of record() (a queue push), and the CPU the drain spends per
 * event (chain, encode, write) for an order-intent-sized event.
 */
async function logAlone(open: () => Promise<AuditSink>, n: number): Promise<object> {
  const log = await AuditLog.open(await open(), { service: 'bench', replay: false, clock: new SystemClock(), capacity: n + 1 });
  const payload = packRaw('kestrel.v1.OrderRequest', new Uint8Array(110).fill(7));
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    log.record('order_intent', `trace-${i}`, payload, {
      client_id: `KS1v8p1hosny${i}`,
      venue: 'binance',
      symbol: 'BTC-USDT',
      side: 'buy',
      qty: '0.001',
      price: '61776.09',
    });
  }
  const recordNs = Number(process.hrtime.bigint() - t0) / n;
  await log.flush();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  await log.close();
  return {
    events: n,
    record_call_ns: Math.round(recordNs),
    events_per_s: Math.round(n / secs),
    cpu_us_per_event: Math.round(((cpu.user + cpu.system) / n) * 100) / 100,
    batches: log.stats.batches,
  };
}

export async function run(): Promise<object> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-bench-audit-'));
  let nats: NatsBus | undefined;
  try {
    nats = await NatsBus.connect({ servers: process.env.KESTREL_NATS_URL ?? 'nats://127.0.0.1:4222' });
  } catch {
    nats = undefined;
  }
  const stream = `bench_audit_${process.pid}`;
  const cases: Record<string, { attach?: (stats: object[]) => Attach; runs: object[]; audit: object[] }> = {
    off: { runs: [], audit: [] },
    file: { attach: (st) => withAudit(async () => new FileAuditSink(path.join(dir, `audit-${Date.now()}.log`)), st), runs: [], audit: [] },
    ...(nats
      ? {
          jetstream: {
            attach: (st: object[]) => withAudit(() => JetStreamAuditSink.open(nats!.connection, 'live', { stream }), st),
            runs: [],
            audit: [],
          },
        }
      : {}),
  };
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of Object.values(cases)) c.runs.push(await scenario(os.tmpdir(), PACED, BURST, 'instant', c.attach?.(c.audit)));
  }
  const alone: Record<string, object[]> = { file: [], ...(nats ? { jetstream: [] } : {}) };
  for (let r = 0; r < ROUNDS; r++) {
    alone.file!.push(await logAlone(async () => new FileAuditSink(path.join(dir, `alone-${r}.log`)), 20_000));
    if (nats) alone.jetstream!.push(await logAlone(() => JetStreamAuditSink.open(nats!.connection, 'live', { stream }), 20_000));
  }
  if (nats) {
    await (await nats.connection.jetstreamManager()).streams.delete(stream).catch(() => undefined);
    await nats.close();
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const result = {
    bench: 'audit',
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    measured: 'executor scenario of execution.bench.ts (instant venue, WAL on disk), audit off / file / JetStream',
    cases,
    log_alone: alone,
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
  const out = path.join(import.meta.dirname, 'results/audit.json');
  fs.writeFileSync(out, JSON.stringify(result, null, 2));
  return result;
}
