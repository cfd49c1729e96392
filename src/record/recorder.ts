/**
 * `kestrel record`: public market data from the configured venue endpoints (real venues, their test
 * environments, or a simulator process) through the same adapters and ingestion quality gates as a
 * session, into .kcap capture files (the format `kestrel backtest --data` reads, src/storage/capture)
 * rotated on period boundaries (hourly by default), and/or the ClickHouse `ticks` table. Adapters
 * reconnect and resync on their own after a disconnect, so recording resumes; a file of the current
 * period that already exists (a restarted recorder) is appended to. Serves /health/live,
 * /health/ready and /metrics; reports msgs/s, gaps, resyncs and reconnects per stream.
 */
import path from 'node:path';
import type { AdapterStats } from '../venues/common/adapter-types.js';
import { probeServer } from '../admin/server.js';
import { InProcessBus } from '../bus/in-process-bus.js';
import type { Clock } from '../clock/clock.js';
import type { Config } from '../config/schema.js';
import type { NormalizedTick, VenueName } from '../contracts/market.js';
import { IngestionService } from '../ingestion/service.js';
import { qualityOptionsOf } from '../ingestion/quality.js';
import type { TickSink } from '../ingestion/types.js';
import { createLogger } from '../observability/logger.js';
import { counter, scrapedGauge } from '../observability/metrics.js';
import { openRefData } from '../refdata/index.js';
import { endpointsOf, startVenueMarketData } from '../session/venue-market-data.js';
import { CaptureWriter } from '../storage/capture/writer.js';
import { ClickHouseTickWriter } from '../storage/clickhouse/writer.js';
import { KestrelError } from '../contracts/errors.js';

const log = createLogger('record');

export class RecordError extends KestrelError {
  override readonly name = 'RecordError';
  constructor(message: string, options?: ErrorOptions) {
    super('RECORD', message, options);
  }
}

/** Capture files cut on `rotateMs` boundaries of the clock: ticks-<period start, UTC>.kcap in `dir`. */
export class RotatingCaptureSink implements TickSink {
  readonly name = 'capture-rotating';
  private writer: CaptureWriter | undefined;
  private periodEndMs = 0;
  private readonly written: string[] = [];
  private count = 0;

  constructor(
    private readonly dir: string,
    private readonly rotateMs: number,
    private readonly clock: Clock,
  ) {
    if (!(rotateMs > 0)) throw new RecordError(`rotate period must be positive, got ${rotateMs}`);
  }

  /** Ticks written (symbol-definition records not counted). */
  get ticks(): number {
    return this.count;
  }

  /** Every file written to, in order. */
  get files(): readonly string[] {
    return this.written;
  }

  get current(): string | undefined {
    return this.writer?.path;
  }

  push(t: NormalizedTick): void {
    const nowNs = this.clock.nowNs();
    const nowMs = Number(nowNs / 1_000_000n);
    if (this.writer === undefined || nowMs >= this.periodEndMs) {
      this.writer?.close();
      const start = Math.floor(nowMs / this.rotateMs) * this.rotateMs;
      this.periodEndMs = start + this.rotateMs;
      const stamp = new Date(start)
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.(\d+)Z$/, (_m, ms: string) => (ms === '000' ? 'Z' : `${ms}Z`));
      const file = path.resolve(this.dir, `ticks-${stamp}.kcap`);
      this.writer = CaptureWriter.open(file, { createdNs: nowNs });
      if (this.writer.existingRecords > 0) log.info({ file, records: this.writer.existingRecords }, "appending to this period's capture");
      if (!this.written.includes(file)) this.written.push(file);
    }
    this.writer.push(t);
    this.count++;
  }

  flush(): void {
    this.writer?.flush();
  }

  close(): void {
    this.writer?.close();
    this.writer = undefined;
  }
}

export interface RecordOptions {
  config: Config;
  clock: Clock;
  venues: readonly VenueName[];
  symbols: readonly string[];
  /** Capture directory; undefined with a ClickHouse URL = ClickHouse only. */
  outDir: string | undefined;
  clickhouseUrl: string | undefined;
  rotateMs: number;
  /** Resolves when the recording should end (SIGINT/SIGTERM). */
  stop: Promise<void>;
  /** Called once adapters are connected, with the health/metrics URL. */
  onReady?: (info: { adminUrl: string | undefined }) => void;
  /** Every second, the per-stream status. */
  onStatus?: (s: RecordStatus) => void;
}

export interface StreamStatus {
  venue: string;
  connected: boolean;
  messages: number;
  msgsPerSec: number;
  ticks: number;
  gaps: number;
  resyncs: number;
  reconnects: number;
}

export interface RecordStatus {
  ticks: number;
  file: string | undefined;
  streams: StreamStatus[];
}

export interface RecordSummary {
  /** Ticks that passed the quality gates and were recorded (each sink got every one). */
  ticks: number;
  /** Ticks dropped by the quality gates, by reason. */
  dropped: Record<string, number>;
  files: string[];
  clickhouse: string | undefined;
  streams: StreamStatus[];
}

export function formatRecordStatus(s: RecordStatus): string {
  const streams = s.streams
    .map(
      (x) =>
        `${x.venue}${x.connected ? '' : ' (DOWN)'} ${Math.round(x.msgsPerSec)} msg/s, ${x.gaps} gaps, ${x.resyncs} resyncs, ${x.reconnects} reconnects`,
    )
    .join(' | ');
  return `[record] ${s.ticks} ticks${s.file ? ` -> ${path.basename(s.file)}` : ''} | ${streams}`;
}

function streamStatus(a: AdapterStats, prevMessages: number, elapsedS: number): StreamStatus {
  return {
    venue: a.venue,
    connected: a.connected,
    messages: a.messages,
    msgsPerSec: elapsedS > 0 ? (a.messages - prevMessages) / elapsedS : 0,
    ticks: a.ticks,
    gaps: a.gaps,
    resyncs: a.resyncs,
    reconnects: a.reconnects,
  };
}

export async function runRecorder(o: RecordOptions): Promise<RecordSummary> {
  const { config, clock } = o;
  if (o.outDir === undefined && o.clickhouseUrl === undefined) throw new RecordError('record needs --out DIR and/or --clickhouse URL');
  const cleanups: Array<() => Promise<void> | void> = [];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch (err) {
        log.warn({ err: String(err) }, 'cleanup step failed');
      }
    }
  };
  try {
    const refdata = await openRefData(config.refdata.postgres_url || undefined);
    cleanups.push(() => refdata.close());
    const sinks: TickSink[] = [];
    let capture: RotatingCaptureSink | undefined;
    if (o.outDir !== undefined) {
      capture = new RotatingCaptureSink(o.outDir, o.rotateMs, clock);
      const c = capture;
      sinks.push(c);
      cleanups.push(() => c.close());
    }
    if (o.clickhouseUrl !== undefined) {
      const ch = await ClickHouseTickWriter.connect({
        url: o.clickhouseUrl,
        database: config.storage.clickhouse_database,
        batchSize: config.storage.batch_size,
        flushIntervalMs: config.storage.flush_interval_ms,
        maxBufferedRows: config.storage.max_buffered_rows,
      });
      sinks.push(ch);
      cleanups.push(() => ch.close());
    }
    let recorded = 0;
    sinks.push({ name: 'record-count', push: () => void recorded++ });
    const mRecorded = counter('record_ticks_total', 'Ticks recorded by kestrel record', ['venue']);
    sinks.push({ name: 'record-metrics', push: (t) => mRecorded.inc({ venue: t.venue }) });

    const bus = new InProcessBus();
    cleanups.push(() => bus.close());
    const ingestion = await IngestionService.create(
      {
        shards: config.flow_control.ingestion_shards,
        mailboxCapacity: config.flow_control.queue_sizes.market_data,
        quality: await qualityOptionsOf(config, refdata),
      },
      { bus, namespace: config.bus.namespace, sinks, logger: log },
    );
    // Stopped after the adapters (pushed before them, so cleaned up after): the last ticks get in.
    cleanups.push(() => {
      ingestion.drain();
      ingestion.stop();
    });

    const md = await startVenueMarketData({
      venues: o.venues,
      symbols: o.symbols,
      endpoints: endpointsOf(config),
      refData: refdata,
      sink: ingestion,
      bus,
      namespace: config.bus.namespace,
      clock,
      staleAfterMs: config.data_quality.staleness_threshold_ms,
      maxSkewMs: config.data_quality.max_time_skew_ms,
    });
    cleanups.push(() => md.stop());

    const prev = new Map<string, number>();
    let lastS = Number(clock.nowNs()) / 1e9;
    let streams: StreamStatus[] = [];
    const sample = () => {
      const nowS = Number(clock.nowNs()) / 1e9;
      streams = md.stats().map((a) => streamStatus(a, prev.get(a.venue) ?? 0, nowS - lastS));
      for (const s of streams) prev.set(s.venue, s.messages);
      lastS = nowS;
      capture?.flush();
      return streams;
    };
    const stopGauges = scrapedGauge(
      'record_stream',
      'kestrel record per venue stream: connected, messages, gaps, resyncs, reconnects',
      ['venue', 'field'],
      (g) => {
        for (const a of md.stats()) {
          g.set({ venue: a.venue, field: 'connected' }, a.connected ? 1 : 0);
          g.set({ venue: a.venue, field: 'messages' }, a.messages);
          g.set({ venue: a.venue, field: 'gaps' }, a.gaps);
          g.set({ venue: a.venue, field: 'resyncs' }, a.resyncs);
          g.set({ venue: a.venue, field: 'reconnects' }, a.reconnects);
        }
      },
    );
    cleanups.push(stopGauges);

    let adminUrl: string | undefined;
    if (config.admin.port !== -1) {
      const probes = probeServer();
      probes.addReadinessCheck('venues', () => md.stats().every((a) => a.connected));
      adminUrl = await probes.listen(config.admin.port, config.admin.host);
      cleanups.push(() => probes.close());
    }
    log.info(
      { venues: o.venues, symbols: o.symbols, out: o.outDir, clickhouse: o.clickhouseUrl, rotateMs: o.rotateMs, adminUrl },
      'recording',
    );
    o.onReady?.({ adminUrl });
    const timer = setInterval(() => {
      const s = sample();
      o.onStatus?.({ ticks: recorded, file: capture?.current, streams: s });
    }, 1000);
    cleanups.push(() => clearInterval(timer));
    await o.stop;
    clearInterval(timer);
    // Adapters first, then the ingestion drain, then the writers (cleanups run in reverse).
    await md.stop();
    ingestion.drain();
    sample();
    const st = ingestion.stats();
    await cleanup();
    return {
      ticks: recorded,
      dropped: { ...st.dropped },
      files: capture ? [...capture.files] : [],
      clickhouse: o.clickhouseUrl,
      streams,
    };
  } finally {
    await cleanup();
  }
}
