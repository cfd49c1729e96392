import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TickFlag, type NormalizedTick } from '../../src/contracts/market.js';
import { capabilitiesFor, detectCapabilities } from '../../src/storage/clickhouse/capabilities.js';
import { schemaStatements, ticks1mQuery } from '../../src/storage/clickhouse/schema.js';
import { ClickHouseConfigError, ClickHouseTickWriter } from '../../src/storage/clickhouse/writer.js';
import { CLICKHOUSE_URL, requireServer } from '../support/servers.js';
import { FaultProxy } from './tcp-fault-proxy.js';
import { tick } from '../ingestion/helpers.js';

const up = await requireServer('ClickHouse', CLICKHOUSE_URL);
const DB = `kestrel_test_${process.pid}_${Date.now().toString(36)}`;
let admin: ClickHouseClient;

beforeAll(async () => {
  if (!up) return;
  admin = createClient({ url: CLICKHOUSE_URL });
});
afterAll(async () => {
  if (!up) return;
  await admin.command({ query: `DROP DATABASE IF EXISTS ${DB}` });
  await admin.close();
});

async function rows<T>(query: string): Promise<T[]> {
  const r = await admin.query({ query, format: 'JSONEachRow' });
  return r.json<T>();
}
async function count(table: string, where = '1'): Promise<number> {
  const [r] = await rows<{ n: string }>(`SELECT count() AS n FROM ${DB}.${table} WHERE ${where}`);
  return Number(r!.n);
}

function series(n: number, symbol: string, startSeq = 1): NormalizedTick[] {
  return Array.from({ length: n }, (_, i) => tick(startSeq + i, { symbol, venue: i % 2 ? 'okx' : 'binance' }));
}

describe('DDL by server capabilities', () => {
  it('uses plain types on 18.16 and ZSTD codecs, TTL, LowCardinality and dedup window on current servers', () => {
    const old = schemaStatements(capabilitiesFor('18.16.1', new Set()), { database: 'k', coldVolume: 'cold_storage' }).join('\n');
    expect(old).not.toMatch(/CODEC|TTL|LowCardinality|deduplication/);
    expect(old).toContain('PARTITION BY toYYYYMMDD(timestamp)');
    expect(old).toContain('ORDER BY (venue, symbol, ts_ns, sequence)');
    const modern = schemaStatements(
      capabilitiesFor('24.8.4.13', new Set(['insert_deduplication_token', 'non_replicated_deduplication_window'])),
      { database: 'k', coldVolume: 'cold_storage' },
    ).join('\n');
    expect(modern).toContain('CODEC(Delta, ZSTD(1))');
    expect(modern).toContain("TTL timestamp + INTERVAL 7 DAY TO VOLUME 'cold_storage'");
    expect(modern).toContain('LowCardinality(String)');
    expect(modern).toContain('non_replicated_deduplication_window = 1000');
  });

  it('refuses bad writer options with a typed error', async () => {
    await expect(ClickHouseTickWriter.connect({ url: 'http://127.0.0.1:1', batchSize: 0 })).rejects.toBeInstanceOf(ClickHouseConfigError);
    await expect(ClickHouseTickWriter.connect({ url: 'not a url' })).rejects.toBeInstanceOf(ClickHouseConfigError);
  });
});

describe.runIf(up)('ClickHouse tick persistence (real server)', () => {
  it('detects the server and creates ticks, ticks_1m and the view', async () => {
    const caps = await detectCapabilities(admin);
    expect(caps.major).toBeGreaterThan(0);
    const w = await ClickHouseTickWriter.connect({ url: CLICKHOUSE_URL, database: DB });
    await w.close();
    const tables = (await rows<{ name: string }>(`SELECT name FROM system.tables WHERE database = '${DB}' ORDER BY name`)).map(
      (r) => r.name,
    );
    expect(tables).toEqual(['ticks', 'ticks_1m', 'ticks_1m_mv']);
  });

  it('round-trips every column of real rows and feeds the 1-minute aggregate', async () => {
    const w = await ClickHouseTickWriter.connect({ url: CLICKHOUSE_URL, database: DB, batchSize: 1000, flushIntervalMs: 10 });
    const ticks = series(2500, 'RT-USDT');
    ticks[7] = { ...ticks[7]!, flags: TickFlag.TRADE, lastPx: 60_001.25, lastQty: 0.5, aggressor: 1 };
    ticks[9] = { ...ticks[9]!, flags: TickFlag.TRADE | TickFlag.SKEW, lastPx: 60_002, lastQty: 1.25, aggressor: -1 };
    for (const t of ticks) w.push(t);
    await w.flush();
    expect(w.stats()).toMatchObject({ insertedRows: 2500, insertedBatches: 3, retries: 0 });
    await w.close();
    const back = await rows<Record<string, string | number>>(
      `SELECT ts_ns, recv_ts_ns, venue, symbol, venue_id, symbol_id, bid, ask, bid_size, ask_size, sequence, flags, last_px, last_qty, aggressor, toUnixTimestamp(timestamp) AS ts
       FROM ${DB}.ticks WHERE symbol = 'RT-USDT' ORDER BY sequence`,
    );
    expect(back).toHaveLength(2500);
    const asTick = (r: Record<string, string | number>): NormalizedTick => ({
      exchTsNs: BigInt(r.ts_ns!),
      recvTsNs: BigInt(r.recv_ts_ns!),
      venueId: Number(r.venue_id),
      symbolId: Number(r.symbol_id),
      venue: r.venue as NormalizedTick['venue'],
      symbol: String(r.symbol),
      bid: Number(r.bid),
      ask: Number(r.ask),
      bidSize: Number(r.bid_size),
      askSize: Number(r.ask_size),
      sequence: BigInt(r.sequence!),
      flags: Number(r.flags),
      lastPx: Number(r.last_px),
      lastQty: Number(r.last_qty),
      aggressor: Number(r.aggressor) as -1 | 0 | 1,
    });
    expect(back.map(asTick)).toEqual(ticks);
    expect(Number(back[0]!.ts)).toBe(Number(ticks[0]!.exchTsNs / 1_000_000_000n));

    // 1-minute bars vs the same numbers computed here.
    const bars = await rows<Record<string, string | number>>(ticks1mQuery(DB, 'RT-USDT', 0, 4e9));
    const byMinute = new Map<number, NormalizedTick[]>();
    for (const t of ticks) {
      const m = Number(t.exchTsNs / 60_000_000_000n) * 60;
      byMinute.set(m, [...(byMinute.get(m) ?? []), t]);
    }
    expect(bars.map((b) => Number(b.minute))).toEqual([...byMinute.keys()]);
    for (const b of bars) {
      const ts = byMinute.get(Number(b.minute))!;
      expect(Number(b.ticks)).toBe(ts.length);
      expect(Number(b.avg_bid)).toBeCloseTo(ts.reduce((s, t) => s + t.bid, 0) / ts.length, 6);
      expect(Number(b.high_bid)).toBe(Math.max(...ts.map((t) => t.bid)));
      expect(Number(b.low_ask)).toBe(Math.min(...ts.map((t) => t.ask)));
      const vol = ts.filter((t) => t.flags & TickFlag.TRADE).reduce((s, t) => s + t.lastQty, 0);
      expect(Number(b.total_volume)).toBeCloseTo(vol, 9);
    }
  });

  it.each(['cut-mid-request', 'cut-before-response'] as const)(
    'retries a batch whose connection was killed (%s) without losing or duplicating a row',
    async (fault) => {
      const proxy = new FaultProxy(Number(new URL(CLICKHOUSE_URL).port));
      const port = await proxy.listen();
      const symbol = `FAULT-${fault === 'cut-mid-request' ? 'A' : 'B'}`;
      const w = await ClickHouseTickWriter.connect({
        url: `http://127.0.0.1:${port}`,
        database: DB,
        batchSize: 5000,
        flushIntervalMs: 5,
        retryInitialMs: 10,
      });
      try {
        proxy.fault = fault;
        for (const t of series(12_000, symbol)) w.push(t);
        await w.flush();
        expect(proxy.faultsFired).toBe(1);
        const st = w.stats();
        expect(st.retries).toBe(1);
        expect(st.insertedRows).toBe(12_000);
        if (fault === 'cut-before-response') expect(st.committedDespiteError).toBe(1);
        else expect(st.committedDespiteError).toBe(0);
      } finally {
        await w.close();
        await proxy.close();
      }
      expect(await count('ticks', `symbol = '${symbol}'`)).toBe(12_000);
      const [d] = await rows<{ n: string }>(
        `SELECT count() AS n FROM (SELECT venue, sequence, count() AS c FROM ${DB}.ticks WHERE symbol = '${symbol}' GROUP BY venue, sequence HAVING c > 1)`,
      );
      expect(Number(d!.n)).toBe(0);
    },
  );

  it('buffers while the server is unreachable, drops and counts beyond the bound, and delivers the backlog in merged inserts', async () => {
    const proxy = new FaultProxy(Number(new URL(CLICKHOUSE_URL).port));
    const port = await proxy.listen();
    const w = await ClickHouseTickWriter.connect({
      url: `http://127.0.0.1:${port}`,
      database: DB,
      batchSize: 1000,
      maxBufferedRows: 3000,
      flushIntervalMs: 5,
      retryInitialMs: 10,
      retryMaxMs: 50,
    });
    try {
      proxy.down = true;
      proxy.dropAll();
      const t0 = performance.now();
      for (const t of series(5000, 'OUTAGE-USDT')) w.push(t);
      const pushMs = performance.now() - t0;
      expect(pushMs).toBeLessThan(500); // never waits for the server
      expect(w.stats().dropped.buffer_full).toBe(2000);
      await new Promise((r) => setTimeout(r, 200));
      expect(w.stats().insertedRows).toBe(0);
      proxy.down = false;
      await w.flush();
      expect(w.stats().insertedRows).toBe(3000);
      // The backlog went out as fewer, larger inserts (adaptive batching), still exactly once.
      expect(w.stats().insertedBatches).toBe(3);
      expect(w.stats().inserts).toBeLessThan(3);
    } finally {
      await w.close();
      await proxy.close();
    }
    expect(await count('ticks', "symbol = 'OUTAGE-USDT'")).toBe(3000);
  });
});
