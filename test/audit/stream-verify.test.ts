import { afterAll, describe, expect, it, vi } from 'vitest';
import { AuditLog, packRaw } from '../../src/audit/audit-log.js';
import { AuditChain, GENESIS_HASH } from '../../src/audit/chain.js';
import { verifyEvents } from '../../src/audit/verify.js';
import { JetStreamAuditSink } from '../../src/audit/sinks.js';
import { NatsBus } from '../../src/bus/nats-bus.js';
import { main } from '../../src/cli/main.js';
import { SystemClock } from '../../src/clock/clock.js';
import { NATS_URL, requireServer } from '../support/servers.js';

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => (out.push(String(c)), true));
  try {
    return { code: await main(args), out: out.join('') };
  } finally {
    spy.mockRestore();
  }
}

describe('kestrel audit verify --stream (real NATS JetStream)', async () => {
  const available = await requireServer('NATS', NATS_URL.replace('nats:', 'http:'));
  const stream = `audit_verify_${process.pid}_${Date.now()}`;
  let bus: NatsBus | undefined;
  afterAll(async () => {
    if (!bus) return;
    await (await bus.connection.jetstreamManager()).streams.delete(stream).catch(() => undefined);
    await bus.close();
  });

  it.runIf(available)('verifies the stream a log wrote, shows an order, and finds a deleted or forged event', async () => {
    bus = await NatsBus.connect({ servers: NATS_URL });
    const sink = await JetStreamAuditSink.open(bus.connection, 'live', { stream });
    const log = await AuditLog.open(sink, { service: 'test', replay: false, clock: new SystemClock() });
    const empty = packRaw('google.protobuf.Empty', new Uint8Array());
    for (const t of ['risk_decision', 'order_intent', 'order_send', 'order_fill'])
      log.record(t, 'trace-1', empty, t === 'risk_decision' ? { decision: 'approved' } : { client_id: 'KS-1' });
    await log.close();
    const flags = ['--stream', '--stream-name', stream, '--set', `bus.nats_url=${NATS_URL}`, '--set', 'logging.level=silent'];
    const ok = await cli(['audit', 'verify', ...flags]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/4 event\(s\), chain intact/);
    const show = await cli(['audit', 'show', '--order', 'KS-1', ...flags]);
    expect(show.code).toBe(0);
    expect(
      show.out
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(/\s+/)[1]),
    ).toEqual(['risk_decision', 'order_intent', 'order_send', 'order_fill']);
    // Someone with JetStream admin rights deletes a stored event: the chain breaks right after it.
    const jsm = await bus.connection.jetstreamManager();
    await jsm.streams.deleteMessage(stream, (await jsm.streams.info(stream)).state.first_seq + 1);
    const bad = await cli(['audit', 'verify', ...flags]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/BROKEN at event 2 .*does not link/);
    // And one who appends an event in the name of the log's writer, without its last hash.
    const writer = (await sink.readAll())[0]!.service;
    const forged = new AuditChain(writer, false).nextAny('order_fill', 'x', empty, 1n, { client_id: 'KS-1' });
    expect(verifyEvents([...(await sink.readAll()), forged], GENESIS_HASH).ok).toBe(false);
  });
});
