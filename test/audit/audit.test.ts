import path from 'node:path';
import { create } from '@bufbuild/protobuf';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditChain, AuditChainError, FileAuditSink, JetStreamAuditSink, verifyChain } from '../../src/audit/index.js';
import { NatsBus } from '../../src/bus/nats-bus.js';
import { OrderAckSchema, OrderStatus } from '../../src/contracts/index.js';
import { NATS_URL, requireServer } from '../support/servers.js';
import { tmpDir } from '../support/tmp.js';

function events(chain: AuditChain, n: number) {
  return Array.from({ length: n }, (_, i) =>
    chain.next({
      eventType: 'order_ack',
      traceId: `t-${i}`,
      schema: OrderAckSchema,
      payload: create(OrderAckSchema, { clientId: `c-${i}`, status: OrderStatus.FILLED, filledQty: i }),
      tsNs: BigInt(i),
    }),
  );
}

describe('audit hash chain', () => {
  it('verifies an untouched chain and unpacks its payloads', () => {
    const evs = events(new AuditChain('execution', false), 5);
    expect(() => verifyChain(evs)).not.toThrow();
    const ack = anyUnpack(evs[3]!.payload!, OrderAckSchema);
    expect(ack?.clientId).toBe('c-3');
  });

  it('detects an edited, a removed and a reordered event', () => {
    const evs = events(new AuditChain('execution', false), 5);
    const edited = evs.map((e) => ({ ...e }));
    edited[2] = { ...edited[2]!, traceId: 'forged' };
    expect(() => verifyChain(edited)).toThrow(AuditChainError);
    expect(() => verifyChain([evs[0]!, evs[2]!])).toThrow(/does not link/);
    expect(() => verifyChain([evs[1]!, evs[0]!])).toThrow(AuditChainError);
  });

  it('file sink persists the chain and continues it after a restart', async () => {
    const file = path.join(tmpDir('audit'), 'audit.log');
    const sink = new FileAuditSink(file);
    const chain = new AuditChain('execution', false);
    for (const e of events(chain, 3)) await sink.append(e);
    await sink.close();
    const reopened = new FileAuditSink(file);
    const chain2 = new AuditChain('execution', false, await reopened.head());
    for (const e of events(chain2, 2)) await reopened.append(e);
    await reopened.close();
    const all = FileAuditSink.readAll(file);
    expect(all).toHaveLength(5);
    expect(() => verifyChain(all)).not.toThrow();
  });
});

describe('audit on JetStream (real NATS)', async () => {
  const available = await requireServer('NATS', NATS_URL.replace('nats:', 'http:'));
  const stream = `audit_test_${process.pid}_${Date.now()}`;
  let bus: NatsBus | undefined;
  afterAll(async () => {
    if (!bus) return;
    const jsm = await bus.connection.jetstreamManager();
    await jsm.streams.delete(stream).catch(() => undefined);
    await bus.close();
  });

  it.runIf(available)('stores the chain durably, dedupes a retried publish, and resumes from the head', async () => {
    bus = await NatsBus.connect({ servers: NATS_URL });
    const sink = await JetStreamAuditSink.open(bus.connection, 'live', { stream });
    const chain = new AuditChain('execution', true);
    const evs = events(chain, 4);
    for (const e of evs) await sink.append(e);
    await sink.append(evs[3]!); // a retry after a lost ack
    const stored = await sink.readAll();
    expect(stored.map((e) => e.eventId)).toEqual(evs.map((e) => e.eventId));
    expect(() => verifyChain(stored)).not.toThrow();
    expect(stored.every((e) => e.replay)).toBe(true);
    expect(await sink.head()).toBe(evs[3]!.hash);
  });
});
