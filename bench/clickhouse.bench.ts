/**
 * ClickHouse persistence benchmark against the real server (scripts/clickhouse.sh): the batched
 * writer's end-to-end insert throughput (push -> committed), the cost of push() on the hot path, and
 * per-batch insert latency by batch size. Rows are real Binance BTCUSDT top-of-book updates.
 */
import os from 'node:os';
import { createClient } from '@clickhouse/client';
import type { NormalizedTick } from '../src/contracts/market.js';
import { ClickHouseTickWriter } from '../src/storage/clickhouse/writer.js';
import { latencyHistogram, summarize } from './lib/hdr.js';
import { loadBinanceTicks } from './ingestion.bench.js';

const URL_ = process.env.KESTREL_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';

function repeat(base: NormalizedTick[], n: number): NormalizedTick[] {
  const span = base[base.length - 1]!.recvTsNs - base[0]!.recvTsNs + 1_000_000n;
  const out: NormalizedTick[] = [];
  for (let r = 0; out.length < n; r++) {
    for (const t of base) {
      if (out.length >= n) break;
      const shift = span * BigInt(r);
      out.push({ ...t, exchTsNs: t.exchTsNs + shift, recvTsNs: t.recvTsNs + shift, sequence: BigInt(out.length + 1) });
    }
  }
  return out;
}

export async function run(): Promise<object> {
  const database = `kestrel_bench_${process.pid}`;
  const admin = createClient({ url: URL_ });
  const loadStart = os.loadavg()[0];
  try {
    await admin.ping();
    const v = await (await admin.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })).json<{ v: string }>();
    const n = Number(process.env.KESTREL_BENCH_CH_ROWS ?? 1_000_000);
    const ticks = repeat(await loadBinanceTicks(n), n);

    // End to end: ingestion-like bursts of 1000 rows per event-loop turn (the writer's inserts run in
    // between), then wait for the last commit. push() cost is timed per burst, divided by its size.
    // The bound is lifted here to measure what the server absorbs; with the default (200k) a faster
    // producer sees buffer_full drops instead, counted.
    const w = await ClickHouseTickWriter.connect({ url: URL_, database, batchSize: 10_000, maxBufferedRows: n });
    const push = latencyHistogram();
    const t0 = process.hrtime.bigint();
    let pushedNs = 0;
    for (let i = 0; i < ticks.length; i += 1000) {
      const a = process.hrtime.bigint();
      const end = Math.min(i + 1000, ticks.length);
      for (let j = i; j < end; j++) w.push(ticks[j]!);
      const d = Number(process.hrtime.bigint() - a);
      pushedNs += d;
      push.recordValue(Math.max(1, Math.round(d / (end - i))));
      await new Promise((r) => setImmediate(r));
    }
    await w.flush();
    const totalNs = Number(process.hrtime.bigint() - t0);
    const st = w.stats();
    await w.close();
    const [c] = await (
      await admin.query({ query: `SELECT count() AS n FROM ${database}.ticks`, format: 'JSONEachRow' })
    ).json<{ n: string }>();

    // Per-batch latency: push one batch, flush, repeat.
    const perBatch: Record<string, object> = {};
    for (const size of [1_000, 10_000, 100_000]) {
      const wb = await ClickHouseTickWriter.connect({
        url: URL_,
        database,
        batchSize: size,
        maxBufferedRows: size,
        flushIntervalMs: 60_000,
      });
      const h = latencyHistogram();
      const reps = size >= 100_000 ? 8 : 30;
      let off = 0;
      for (let r = 0; r < reps; r++) {
        for (let i = 0; i < size; i++) wb.push(ticks[(off + i) % ticks.length]!);
        off += size;
        const a = process.hrtime.bigint();
        await wb.flush();
        h.recordValue(Number(process.hrtime.bigint() - a));
      }
      await wb.close();
      const s = summarize(h);
      perBatch[`batch_${size}`] = { ...s, rows_per_s_at_p50: Math.round(size / (s.p50_ns / 1e9)) };
    }

    const result = {
      server: v[0]?.v,
      load_avg_1m_start: loadStart,
      load_avg_1m_end: os.loadavg()[0],
      format: 'RowBinary via HTTP',
      rows: n,
      rows_committed: Number(c?.n ?? 0),
      end_to_end_rows_per_s: Math.round(n / (totalNs / 1e9)),
      push_only_rows_per_s: Math.round(n / (pushedNs / 1e9)),
      push_ns_per_row_by_burst: summarize(push),
      inserts: st.inserts,
      batches: st.insertedBatches,
      retries: st.retries,
      dropped: st.dropped,
      per_batch_insert_latency: perBatch,
    };
    return result;
  } catch (err) {
    return { error: `ClickHouse not reachable at ${URL_} or failed: ${(err as Error).message}` };
  } finally {
    await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
    await admin.close();
  }
}
