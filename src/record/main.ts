/**
 * The tick recorder as its own process (`kestrel run recorder`): every normalized tick on the bus
 * (md.norm.>, published by `kestrel run md` or a session on NATS) into the ClickHouse `ticks` table
 * (storage.clickhouse_url / clickhouse_database, batched by storage.batch_size and
 * flush_interval_ms) — the store `kestrel backtest --from clickhouse` reads. (`kestrel record` is the
 * other recorder: it connects to the venues itself, without a bus.)
 *
 * md.norm is plain pub/sub (the tick path stays off JetStream): ticks published while the recorder
 * is down are not recorded. SIGTERM: unsubscribe, commit every buffered row, exit 0.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { probeServer } from '../admin/server.js';
import { runAsEntryPoint, serviceMain } from '../cli/entry.js';
import { recorderService } from '../cli/services.js';
import { UsageError, type FlagValues } from '../cli/args.js';
import { connectServiceBus, loadServiceConfig, untilStopSignal, writeReady } from '../cli/service-runtime.js';
import { TickSchema, fromProto, patterns, type Namespace, type NormalizedTick } from '../contracts/index.js';
import { counter } from '../observability/metrics.js';
import { ClickHouseTickWriter } from '../storage/clickhouse/writer.js';

export function main(argv: readonly string[]): Promise<number> {
  return serviceMain(recorderService, argv, run);
}

export async function run(flags: FlagValues): Promise<number> {
  const config = loadServiceConfig(flags);
  if (config.storage.clickhouse_url === '') throw new UsageError('kestrel run recorder needs storage.clickhouse_url');
  const ns = config.bus.namespace as Namespace;
  const writer = await ClickHouseTickWriter.connect({
    url: config.storage.clickhouse_url,
    database: config.storage.clickhouse_database,
    batchSize: config.storage.batch_size,
    flushIntervalMs: config.storage.flush_interval_ms,
    maxBufferedRows: config.storage.max_buffered_rows,
  });
  const mRejected = counter('recorder_ticks_rejected_total', 'md.norm messages the recorder could not decode');
  const bus = await connectServiceBus(config, 'recorder');
  const sub = bus.subscribe(patterns.mdNormAll(ns), (m) => {
    let t: NormalizedTick | undefined;
    try {
      t = fromProto(fromBinary(TickSchema, m.data));
    } catch {
      t = undefined;
    }
    if (t) writer.push(t);
    else mRejected.inc();
  });
  const probes = probeServer();
  probes.addReadinessCheck('bus', () => !bus.connection.isClosed());
  // Rows waiting past the buffer bound are dropped and counted: not ready while it is full.
  probes.addReadinessCheck('clickhouse', () => writer.stats().bufferedRows < config.storage.max_buffered_rows);
  const adminUrl = await probes.listen(config.services.recorder.admin_port, config.admin.host);
  await bus.flush();
  writeReady('recorder', { adminUrl, table: `${config.storage.clickhouse_database}.ticks` });
  await untilStopSignal();
  sub.unsubscribe();
  await writer.close();
  await probes.close();
  await bus.close();
  const st = writer.stats();
  process.stdout.write(JSON.stringify({ event: 'stopped', service: 'recorder', inserted: st.insertedRows, dropped: st.dropped }) + '\n');
  return 0;
}

runAsEntryPoint(import.meta.url, 'recorder failed', main);
