/**
 * Batched ClickHouse tick writer; a TickSink. push() only encodes the row into the open batch's buffer
 * (RowBinary) and returns: no I/O, no await, no growth beyond `maxBufferedRows` (beyond it rows are
 * dropped and counted). Batches are sealed by size or age and inserted one at a time, in order.
 *
 * Exactly-once on retry: every batch carries a random 64-bit batch_id in each row, every insert a
 * query_id. An insert never spans two partitions (batches are sealed at UTC day boundaries) and never
 * exceeds the server's max_insert_block_size, so the server writes it as one part: all rows or none.
 * After a failed insert the writer waits until the query has left system.processes, then counts the
 * insert's rows by batch_id: all there means the server committed before the connection broke (no
 * retry); none means retry the same batches. On servers with non-replicated dedup (22.2+) the batch_id is also sent as
 * insert_deduplication_token.
 */
import { monotonicMs } from '../../clock/monotonic.js';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { ClickHouseLogLevel, createClient, drainStream, type ClickHouseClient } from '@clickhouse/client';
import type { NormalizedTick } from '../../contracts/market.js';
import type { TickSink } from '../../ingestion/types.js';
import { counter, gauge, histogram } from '../../observability/metrics.js';
import { createLogger, type Logger } from '../../observability/logger.js';
import { detectCapabilities, type ClickHouseCapabilities } from './capabilities.js';
import { FIXED_ROW_BYTES, encodeRowWith, encodedString, viewOf } from './rowbinary.js';
import { TICK_COLUMNS, ident, schemaStatements, type SchemaOptions } from './schema.js';
import { KestrelError } from '../../contracts/errors.js';

export interface ClickHouseWriterOptions {
  url: string;
  database: string;
  username?: string;
  password?: string;
  /** Rows per insert (SPEC batch_size). At most 1,000,000 so one batch is one server block. */
  batchSize: number;
  /** Queued batches are merged into one insert up to this many rows (<= 1,000,000: one server block). */
  maxInsertRows: number;
  /** Seal a non-empty batch after this long (SPEC flush_interval_ms). */
  flushIntervalMs: number;
  /** Rows held in memory (open + sealed + in flight); beyond it push() drops and counts. */
  maxBufferedRows: number;
  retryInitialMs: number;
  retryMaxMs: number;
  requestTimeoutMs: number;
  /** Create the database, tables and view when missing. */
  createSchema: boolean;
  coldVolume?: string;
}

export const DEFAULT_CLICKHOUSE_WRITER: Omit<ClickHouseWriterOptions, 'url'> = {
  database: 'kestrel',
  batchSize: 10_000,
  maxInsertRows: 500_000,
  flushIntervalMs: 50,
  maxBufferedRows: 200_000,
  retryInitialMs: 100,
  retryMaxMs: 5_000,
  requestTimeoutMs: 30_000,
  createSchema: true,
};

export class ClickHouseConfigError extends KestrelError {
  override readonly name = 'ClickHouseConfigError';
  constructor(message: string, options?: ErrorOptions) {
    super('CLICKHOUSE_CONFIG_INVALID', message, options);
  }
}

interface Batch {
  id: bigint;
  rows: number;
  buf: Buffer;
  view: DataView;
  used: number;
  dayStartNs: bigint;
  dayEndNs: bigint;
  minNs: bigint;
  maxNs: bigint;
  /** Monotonic ms (monotonicMs): batch age paces I/O to the database in real time, whatever the trading clock. */
  sealedAt: number;
  createdAt: number;
}

export interface ClickHouseWriterStats {
  bufferedRows: number;
  insertedRows: number;
  insertedBatches: number;
  /** INSERT statements that committed (one carries one or more batches). */
  inserts: number;
  retries: number;
  /** Failed inserts that had in fact committed (found by batch_id): the retry that would have duplicated them was skipped. */
  committedDespiteError: number;
  dropped: { buffer_full: number; shutdown: number; partial: number };
  lastError: string | undefined;
}

const DAY_NS = 86_400_000_000_000n;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ClickHouseTickWriter implements TickSink {
  readonly name = 'clickhouse';
  readonly options: ClickHouseWriterOptions;
  private current: Batch | undefined;
  private readonly sealed: Batch[] = [];
  private buffered = 0;
  private pumping: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private abandon = false;
  private readonly pool: Buffer[] = [];
  private readonly insertSql: string;
  private readonly s: ClickHouseWriterStats = {
    bufferedRows: 0,
    insertedRows: 0,
    insertedBatches: 0,
    inserts: 0,
    retries: 0,
    committedDespiteError: 0,
    dropped: { buffer_full: 0, shutdown: 0, partial: 0 },
    lastError: undefined,
  };
  private readonly m = {
    inserted: counter('clickhouse_rows_inserted_total', 'Tick rows committed to ClickHouse'),
    dropped: counter('clickhouse_rows_dropped_total', 'Tick rows not persisted to ClickHouse, by reason', ['reason']),
    retries: counter('clickhouse_insert_retries_total', 'ClickHouse insert attempts that failed and were retried or verified'),
    buffered: gauge('clickhouse_buffered_rows', 'Tick rows waiting for ClickHouse'),
    seconds: histogram(
      'clickhouse_insert_seconds',
      'Duration of one batched ClickHouse insert',
      [],
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    ),
  };

  private constructor(
    readonly client: ClickHouseClient,
    readonly capabilities: ClickHouseCapabilities,
    options: ClickHouseWriterOptions,
    private readonly log: Logger,
  ) {
    this.options = options;
    this.insertSql = `INSERT INTO ${ident(options.database)}.ticks (${TICK_COLUMNS.map((c) => c[0]).join(', ')}) FORMAT RowBinary`;
    this.timer = setInterval(() => this.onTimer(), Math.max(1, Math.floor(options.flushIntervalMs / 2)));
    this.timer.unref();
  }

  /** Connects, detects the server's capabilities and (optionally) creates the schema. */
  static async connect(
    input: Partial<ClickHouseWriterOptions> & { url: string },
    logger: Logger = createLogger('clickhouse'),
  ): Promise<ClickHouseTickWriter> {
    const options: ClickHouseWriterOptions = { ...DEFAULT_CLICKHOUSE_WRITER, ...input };
    validate(options);
    const client = createClient({
      url: options.url,
      username: options.username ?? 'default',
      password: options.password ?? '',
      request_timeout: options.requestTimeoutMs,
      // Failures are handled (verified, retried, counted) and logged here once; the client's own
      // console logging would repeat every transient error.
      log: { level: ClickHouseLogLevel.OFF },
    });
    try {
      const caps = await detectCapabilities(client);
      if (options.createSchema) await ensureSchema(client, caps, options);
      return new ClickHouseTickWriter(client, caps, options, logger);
    } catch (err) {
      await client.close();
      throw err;
    }
  }

  push(t: NormalizedTick): void {
    if (this.closing || this.buffered >= this.options.maxBufferedRows) {
      const reason = this.closing ? 'shutdown' : 'buffer_full';
      this.s.dropped[reason]++;
      this.m.dropped.inc({ reason });
      return;
    }
    const ts = t.exchTsNs;
    let b = this.current;
    if (b !== undefined && (ts < b.dayStartNs || ts >= b.dayEndNs)) {
      // One batch = one partition, so the insert is one part and atomic.
      this.seal();
      b = undefined;
    }
    if (b === undefined) b = this.current = this.newBatch(ts);
    const venue = encodedString(t.venue);
    const symbol = encodedString(t.symbol);
    const need = FIXED_ROW_BYTES + venue.length + symbol.length;
    if (b.used + need > b.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(b.buf.length * 2, b.used + need));
      b.buf.copy(bigger, 0, 0, b.used);
      b.buf = bigger;
      b.view = viewOf(bigger);
    }
    b.used = encodeRowWith(b.buf, b.view, b.used, t, b.id, venue, symbol);
    b.rows++;
    if (ts < b.minNs) b.minNs = ts;
    if (ts > b.maxNs) b.maxNs = ts;
    this.buffered++;
    if (b.rows >= this.options.batchSize) this.seal();
  }

  /** Seals the open batch and resolves once everything pushed so far is committed. */
  async flush(): Promise<void> {
    this.seal();
    while (this.pumping) await this.pumping;
  }

  /**
   * Flushes and closes. If the server stays unreachable for `timeoutMs`, the remaining rows are
   * counted as dropped (reason shutdown) instead of hanging the shutdown.
   */
  async close(timeoutMs = 10_000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.seal();
    this.closing = true;
    const done = this.flush();
    let timedOut = false;
    await Promise.race([done, sleep(timeoutMs).then(() => (timedOut = true))]);
    if (timedOut) {
      this.abandon = true;
      await done;
    }
    await this.client.close();
  }

  stats(): ClickHouseWriterStats {
    return { ...this.s, dropped: { ...this.s.dropped }, bufferedRows: this.buffered };
  }

  // ---- internals ----

  private newBatch(ts: bigint): Batch {
    const dayStart = (ts / DAY_NS) * DAY_NS;
    const size = Math.min(this.options.batchSize, 16_384) * 128;
    const buf = this.pool.pop() ?? Buffer.allocUnsafe(size);
    const now = monotonicMs();
    return {
      id: randomBytes(8).readBigUInt64LE(0),
      rows: 0,
      buf,
      view: viewOf(buf),
      used: 0,
      dayStartNs: dayStart,
      dayEndNs: dayStart + DAY_NS,
      minNs: ts,
      maxNs: ts,
      sealedAt: 0,
      createdAt: now,
    };
  }

  private onTimer(): void {
    const b = this.current;
    if (b !== undefined && b.rows > 0 && monotonicMs() - b.createdAt >= this.options.flushIntervalMs) this.seal();
    this.m.buffered.set(this.buffered);
  }

  private seal(): void {
    const b = this.current;
    this.current = undefined;
    if (b === undefined || b.rows === 0) return;
    b.sealedAt = monotonicMs();
    this.sealed.push(b);
    this.kick();
  }

  private kick(): void {
    if (this.pumping) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      // A batch sealed between the loop's last check and here would otherwise wait for the next seal.
      if (this.sealed.length > 0) this.kick();
    });
  }

  private async pump(): Promise<void> {
    for (let head = this.sealed.shift(); head !== undefined; head = this.sealed.shift()) {
      // Adaptive batching: batches that queued up behind a slow insert go out together (same UTC day,
      // so still one partition and one atomic part). The buffers are streamed as they are, no copy.
      const group = [head];
      let rows = head.rows;
      while (this.sealed.length > 0) {
        const next = this.sealed[0]!;
        if (next.dayStartNs !== head.dayStartNs || rows + next.rows > this.options.maxInsertRows) break;
        group.push(this.sealed.shift()!);
        rows += next.rows;
      }
      const outcome = await this.insertExactlyOnce(group, rows);
      this.buffered -= rows;
      if (outcome === 'committed') {
        this.s.insertedRows += rows;
        this.s.insertedBatches += group.length;
        this.s.inserts++;
        this.m.inserted.inc(rows);
      } else {
        this.s.dropped[outcome] += rows;
        this.m.dropped.inc({ reason: outcome }, rows);
      }
      for (const b of group) {
        if (b.buf.length <= this.options.batchSize * 256 && this.pool.length < 8) this.pool.push(b.buf);
      }
    }
  }

  private async insertExactlyOnce(group: Batch[], rows: number): Promise<'committed' | 'shutdown' | 'partial'> {
    let delay = this.options.retryInitialMs;
    const head = group[0]!;
    for (let attempt = 0; ; attempt++) {
      if (this.abandon) return 'shutdown';
      const queryId = `kestrel-ticks-${head.id.toString(16)}-${group.length}-${attempt}`;
      const t0 = monotonicMs();
      try {
        const res = await this.client.exec({
          query: this.insertSql,
          values: Readable.from(group.map((b) => b.buf.subarray(0, b.used))),
          query_id: queryId,
          clickhouse_settings: this.capabilities.dedupToken
            ? { insert_deduplication_token: group.map((b) => b.id.toString(16)).join('-') }
            : {},
        });
        await drainStream(res.stream);
        this.m.seconds.observe((monotonicMs() - t0) / 1000);
        return 'committed';
      } catch (err) {
        this.s.retries++;
        this.m.retries.inc();
        this.s.lastError = err instanceof Error ? err.message : String(err);
        if (attempt === 0) {
          this.log.warn({ batch: head.id.toString(16), rows, err: this.s.lastError }, 'ClickHouse insert failed; verifying before retry');
        }
      }
      // Did the failed attempt commit after all? Ask until the server answers.
      for (;;) {
        if (this.abandon) return 'shutdown';
        const present = await this.countRows(group, queryId).catch(() => undefined);
        if (present === rows) {
          this.s.committedDespiteError++;
          return 'committed';
        }
        if (present === 0) break;
        if (present !== undefined) {
          // Cannot happen for a single-part insert; never retry into duplicates.
          this.log.error({ batch: head.id.toString(16), rows, present }, 'ClickHouse insert partially present; not retried');
          return 'partial';
        }
        await sleep(delay);
        delay = Math.min(delay * 2, this.options.retryMaxMs);
      }
      await sleep(delay);
      delay = Math.min(delay * 2, this.options.retryMaxMs);
    }
  }

  /** Rows of the group's batches in the table, once the attempt `queryId` is no longer running on the server. */
  private async countRows(group: Batch[], queryId: string): Promise<number> {
    const db = ident(this.options.database);
    const deadline = monotonicMs() + this.options.requestTimeoutMs;
    for (;;) {
      const r = await this.client.query({
        query: `SELECT count() AS n FROM system.processes WHERE query_id = '${queryId}'`,
        format: 'JSONEachRow',
      });
      const [row] = await r.json<{ n: string | number }>();
      if (Number(row?.n ?? 0) === 0) break;
      if (monotonicMs() > deadline) throw new Error(`insert ${queryId} still running after ${this.options.requestTimeoutMs} ms`);
      await sleep(20);
    }
    let minNs = group[0]!.minNs;
    let maxNs = group[0]!.maxNs;
    for (const b of group) {
      if (b.minNs < minNs) minNs = b.minNs;
      if (b.maxNs > maxNs) maxNs = b.maxNs;
    }
    // The time range lets the server prune partitions and granules; batch_id picks the rows.
    const r = await this.client.query({
      query:
        `SELECT count() AS n FROM ${db}.ticks WHERE timestamp >= toDateTime(${minNs / 1_000_000_000n}) AND ` +
        `timestamp <= toDateTime(${maxNs / 1_000_000_000n}) AND batch_id IN (${group.map((b) => b.id.toString()).join(', ')})`,
      format: 'JSONEachRow',
    });
    const [row] = await r.json<{ n: string | number }>();
    return Number(row?.n ?? 0);
  }
}

function validate(o: ClickHouseWriterOptions): void {
  const posInt = (k: keyof ClickHouseWriterOptions, max = Number.MAX_SAFE_INTEGER) => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0 || v > max) {
      throw new ClickHouseConfigError(`clickhouse option ${String(k)} must be an integer in 1..${max}, got ${String(v)}`);
    }
  };
  posInt('batchSize', 1_000_000);
  posInt('maxInsertRows', 1_000_000);
  posInt('flushIntervalMs');
  posInt('maxBufferedRows');
  posInt('retryInitialMs');
  posInt('retryMaxMs');
  posInt('requestTimeoutMs');
  if (o.maxInsertRows < o.batchSize) throw new ClickHouseConfigError('clickhouse maxInsertRows must be >= batchSize');
  if (o.maxBufferedRows < o.batchSize) throw new ClickHouseConfigError('clickhouse maxBufferedRows must be >= batchSize');
  ident(o.database);
  try {
    new URL(o.url);
  } catch {
    throw new ClickHouseConfigError(`clickhouse url is not a URL: ${JSON.stringify(o.url)}`);
  }
}

export async function ensureSchema(client: ClickHouseClient, caps: ClickHouseCapabilities, opts: SchemaOptions): Promise<void> {
  for (const sql of schemaStatements(caps, opts)) await client.command({ query: sql });
}
