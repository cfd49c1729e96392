/**
 * The audit trail's archiver as its own process (`kestrel run audit`): a durable JetStream consumer
 * of stream `audit` (audit.>) that appends every event to the hash-chained file audit.file — the
 * format `kestrel audit verify FILE` checks — after checking that it links to the chain so far and
 * that its content matches its hash. A message is acked only once its line is fdatasync'ed, so a
 * restart resumes after the last ack; an event redelivered after a crash between write and ack is
 * already in the file (same hash) and is acked without a second line: no gap, no duplicate.
 *
 * An event that does not link (events removed from the stream, a tampered message) is not appended:
 * it is retried, the readiness check `chain` fails and kestrel_audit_archive_broken is 1 until an
 * operator acts — appending it would make the file fail verification.
 *
 * SIGTERM: stop fetching (the position stays on the server), finish the event in hand, exit 0.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { probeServer } from '../admin/server.js';
import { ConsumerMonitor, ensureStreams } from '../bus/streams.js';
import { runAsEntryPoint, serviceMain } from '../cli/entry.js';
import { auditService } from '../cli/services.js';
import type { FlagValues } from '../cli/args.js';
import { connectServiceBus, loadServiceConfig, untilStopSignal, writeReady } from '../cli/service-runtime.js';
import { AuditEventSchema, type Namespace } from '../contracts/index.js';
import { createLogger } from '../observability/logger.js';
import { counter, gauge } from '../observability/metrics.js';
import { AuditChainError } from './chain.js';
import { FileAuditSink } from './sinks.js';
import { ChainVerifier } from './verify.js';

/** Durable consumer name: the archive's position in stream `audit`, kept by the server across restarts. */
export const AUDIT_ARCHIVE_DURABLE = 'audit_archive';

/** How long an event held by a killed archive waits before the next archive gets it. */
const ARCHIVE_ACK_WAIT_MS = 5000;

export function main(argv: readonly string[]): Promise<number> {
  return serviceMain(auditService, argv, run);
}

export async function run(flags: FlagValues): Promise<number> {
  const config = loadServiceConfig(flags);
  const ns = config.bus.namespace as Namespace;
  const log = createLogger('audit-archive');
  const sink = new FileAuditSink(config.audit.file);
  // The chain so far, from the file: what links next and which events are already in it.
  const chain = new ChainVerifier();
  let archived = 0;
  for (const e of FileAuditSink.readAll(config.audit.file)) {
    chain.add(e);
    archived++;
  }
  const mAppended = counter('audit_archive_events_total', 'Audit events appended to the archive file');
  const mDuplicates = counter(
    'audit_archive_duplicates_total',
    'Redelivered audit events already in the archive (acked, not written again)',
  );
  const mBroken = gauge('audit_archive_broken', '1 while the next audit event does not link to the archived chain');
  let broken = false;
  const bus = await connectServiceBus(config, 'audit');
  const streams = await ensureStreams(bus, ns, { keys: ['audit'], config: config.bus.streams });
  const consumer = await bus.consumeDurable(
    streams.name('audit'),
    AUDIT_ARCHIVE_DURABLE,
    async (m) => {
      const e = fromBinary(AuditEventSchema, m.data);
      if (chain.has(e)) {
        mDuplicates.inc();
        return;
      }
      const reason = chain.check(e);
      if (reason !== undefined) {
        if (!broken) log.error({ eventId: e.eventId, reason }, 'audit event does not link to the archive: not appended, retried');
        broken = true;
        mBroken.set(1);
        throw new AuditChainError(`audit event ${e.eventId}: ${reason}`, archived);
      }
      await sink.append(e);
      chain.add(e);
      archived++;
      mAppended.inc();
      if (broken) log.info({ eventId: e.eventId }, 'audit chain links again');
      broken = false;
      mBroken.set(0);
    },
    // One event in flight: the stream's order is the chain's order, also after a crash (the event a
    // killed archive held unacked comes back first, after ackWaitMs, before anything later).
    { retryDelayMs: 1000, maxAckPending: 1, ackWaitMs: ARCHIVE_ACK_WAIT_MS },
  );
  const monitor = new ConsumerMonitor({
    bound: config.bus.streams.slow_consumer_pending,
    log: (level, msg, fields) => log[level](fields, msg),
  }).watch(consumer);
  const probes = probeServer();
  probes.addReadinessCheck('bus', () => !bus.connection.isClosed());
  probes.addReadinessCheck('chain', () => !broken);
  probes.addReadinessCheck('streams', () => monitor.healthy);
  const adminUrl = await probes.listen(config.services.audit.admin_port, config.admin.host);
  writeReady('audit', { adminUrl, file: config.audit.file, archived: chain.head });
  await untilStopSignal();
  // The event in hand is written and acked before the consumer stops; the rest stays in the stream.
  await consumer.stop();
  monitor.stop();
  await sink.close();
  await probes.close();
  await bus.close();
  return 0;
}

runAsEntryPoint(import.meta.url, 'audit archive failed', main);
