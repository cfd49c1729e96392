/**
 * Tick persistence for a session: ClickHouse when a URL is configured, else a capture file (the
 * embedded default, also the replay input). Both are TickSinks to hand to the ingestion service.
 */
import type { Clock } from '../clock/clock.js';
import path from 'node:path';
import type { TickSink } from '../ingestion/types.js';
import { CaptureWriter } from './capture/writer.js';
import type { CaptureMeta } from './capture/format.js';
import { ClickHouseTickWriter, type ClickHouseWriterOptions } from './clickhouse/writer.js';

export { CaptureWriter } from './capture/writer.js';
export { CaptureReader } from './capture/reader.js';
export { CaptureFormatError, type CaptureMeta } from './capture/format.js';
export {
  ClickHouseTickWriter,
  ClickHouseConfigError,
  DEFAULT_CLICKHOUSE_WRITER,
  type ClickHouseWriterOptions,
} from './clickhouse/writer.js';

/** Config keys of the `storage:` section (config/default.yaml). */
export interface StorageConfig {
  clickhouse_url: string;
  clickhouse_database: string;
  capture_dir: string;
  batch_size: number;
  flush_interval_ms: number;
  max_buffered_rows: number;
}

export interface TickStore extends TickSink {
  readonly kind: 'clickhouse' | 'capture';
  /** Where the ticks go: the ClickHouse URL/database or the capture file path. */
  readonly location: string;
  close(): Promise<void>;
}

/** `meta`: the header of a capture file (ignored by ClickHouse, whose rows carry no time scale). */
export async function openTickStore(cfg: StorageConfig, clock: Clock, meta?: Partial<CaptureMeta>): Promise<TickStore> {
  if (cfg.clickhouse_url !== '') {
    const opts: Partial<ClickHouseWriterOptions> & { url: string } = {
      url: cfg.clickhouse_url,
      database: cfg.clickhouse_database,
      batchSize: cfg.batch_size,
      flushIntervalMs: cfg.flush_interval_ms,
      maxBufferedRows: cfg.max_buffered_rows,
    };
    const w = await ClickHouseTickWriter.connect(opts);
    return {
      kind: 'clickhouse',
      name: w.name,
      location: `${cfg.clickhouse_url} ${cfg.clickhouse_database}.ticks`,
      push: (t) => w.push(t),
      close: () => w.close(),
    };
  }
  const createdNs = clock.nowNs();
  const stamp = new Date(Number(createdNs / 1_000_000n))
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const file = path.resolve(cfg.capture_dir, `ticks-${stamp}-${process.pid}.kcap`);
  const w = CaptureWriter.open(file, { createdNs, ...(meta ? { meta } : {}) });
  return {
    kind: 'capture',
    name: w.name,
    location: file,
    push: (t) => w.push(t),
    close: async () => w.close(),
  };
}
