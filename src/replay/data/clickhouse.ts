/**
 * A backtest over what `kestrel start` stored in ClickHouse: the `ticks` rows of an event-time range,
 * streamed in receive-time order (the order the session saw them). The rows are post-ingestion
 * ticks, so they go to the engine as they are, like a `.kcap` capture.
 */
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { isVenue, type NormalizedTick } from '../../contracts/market.js';
import type { RefDataRepository } from '../../refdata/repository.js';
import { ident, quote } from '../../storage/clickhouse/schema.js';
import { DataError, type DataInput } from './inputs.js';
import { isoNs, toColumns, type DataSelection, type MarketData } from './sources.js';

export interface ClickHouseRange extends DataSelection {
  url: string;
  database: string;
  startNs: bigint;
  endNs: bigint;
  refdata: RefDataRepository;
}

/** `2024-08-09T00:34:00Z`, a date, or epoch seconds / ms / ns (by magnitude) → epoch ns. */
export function parseTimeArg(s: string): bigint | undefined {
  if (/^\d+$/.test(s)) {
    const n = BigInt(s);
    if (n < 10_000_000_000n) return n * 1_000_000_000n;
    if (n < 10_000_000_000_000n) return n * 1_000_000n;
    return n;
  }
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s);
  return Number.isNaN(ms) ? undefined : BigInt(ms) * 1_000_000n;
}

interface Row {
  ts_ns: string;
  recv_ts_ns: string;
  venue: string;
  symbol: string;
  venue_id: number;
  symbol_id: number;
  bid: number;
  ask: number;
  bid_size: number;
  ask_size: number;
  sequence: string;
  flags: number;
  last_px: number;
  last_qty: number;
  aggressor: number;
}

export async function openClickHouse(r: ClickHouseRange): Promise<MarketData> {
  const where = `${r.url} ${r.database}.ticks [${isoNs(r.startNs)}, ${isoNs(r.endNs)})`;
  if (r.endNs <= r.startNs) throw new DataError(where, '--end must be after --start');
  const filter = r.symbols && r.symbols.length > 0 ? ` AND symbol IN (${r.symbols.map(quote).join(', ')})` : '';
  const query =
    'SELECT ts_ns, recv_ts_ns, venue, symbol, venue_id, symbol_id, bid, ask, bid_size, ask_size, sequence, flags, last_px, last_qty, aggressor' +
    ` FROM ${ident(r.database)}.ticks WHERE ts_ns >= ${r.startNs} AND ts_ns < ${r.endNs}${filter}` +
    ' ORDER BY recv_ts_ns, venue, symbol, sequence';
  const client = createClient({ url: r.url, log: { level: ClickHouseLogLevel.OFF } });
  const perFile = new Map<string, number>();
  const input: DataInput = { file: where, format: 'kcap', gzip: false, bytes: 0, bytesRead: 0 };
  const known = new Map<string, boolean>();
  async function* ticks(): AsyncGenerator<NormalizedTick[]> {
    let n = 0;
    try {
      let rs;
      try {
        rs = await client.query({ query, format: 'JSONEachRow' });
      } catch (e) {
        throw new DataError(where, `query failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, { cause: e });
      }
      for await (const batch of rs.stream()) {
        const out: NormalizedTick[] = [];
        for (const raw of batch) {
          const row = raw.json<Row>();
          if (!isVenue(row.venue)) throw new DataError(where, `row of unknown venue ${row.venue}`);
          const key = `${row.venue}\u0000${row.symbol}`;
          if (!known.has(key)) {
            const ok = (await r.refdata.mappings(row.venue, [row.symbol])).length > 0;
            if (!ok) throw new DataError(where, `${row.venue} symbol ${row.symbol} is not in reference data`);
            known.set(key, true);
          }
          n++;
          out.push({
            exchTsNs: BigInt(row.ts_ns),
            recvTsNs: BigInt(row.recv_ts_ns),
            venueId: row.venue_id,
            symbolId: row.symbol_id,
            venue: row.venue,
            symbol: row.symbol,
            bid: row.bid,
            ask: row.ask,
            bidSize: row.bid_size,
            askSize: row.ask_size,
            sequence: BigInt(row.sequence),
            flags: row.flags,
            lastPx: row.last_px,
            lastQty: row.last_qty,
            aggressor: row.aggressor > 0 ? 1 : row.aggressor < 0 ? -1 : 0,
          });
        }
        if (out.length > 0) yield out;
      }
      perFile.set(where, n);
      if (n === 0) throw new DataError(where, `no ticks in this time range${filter ? ` for ${r.symbols!.join(', ')}` : ''}`);
    } finally {
      await client.close();
    }
  }
  const stream = ticks();
  return {
    ticks: stream,
    columns: () => toColumns(stream),
    inputs: [input],
    boundaries: [],
    perFile,
    finish: () => {
      const seen = new Set([...known.keys()].map((k) => k.split('\u0000')[1]!));
      const missing = (r.symbols ?? []).filter((s) => !seen.has(s));
      if (missing.length > 0) throw new DataError(where, `--symbols ${missing.join(', ')}: no ticks of it in this range`);
    },
    // Rows carry no pace: a range stored by an accelerated session replays on its compressed stamps.
    timeScale: 1,
  };
}
