/**
 * DDL of the `ticks` table (SPEC "ClickHouse Configuration": MergeTree, daily partitions, ORDER BY
 * venue, symbol, ts_ns, sequence) and the `ticks_1m` 1-minute aggregate (AggregatingMergeTree fed by a
 * materialized view), generated for the server's capabilities.
 *
 * Differences from the SPEC text, and why:
 *  - `timestamp` is a MATERIALIZED DateTime('UTC') (so daily partitions are UTC days whatever the server's
 *    time zone) computed from ts_ns (18.16 has no DateTime64; clients never
 *    send it, so it cannot disagree with ts_ns).
 *  - `batch_id` identifies the insert a row came from: the writer's exactly-once retry checks it on
 *    servers without non-replicated insert dedup.
 *  - ticks_1m keys by (symbol, minute, venue): per-venue bars that merge into cross-venue ones by
 *    grouping without venue; volume sums trade quantities (rows flagged TRADE).
 */
import type { ClickHouseCapabilities } from './capabilities.js';

export interface SchemaOptions {
  database: string;
  /** Storage policy volume for TTL moves (SPEC: 'cold_storage'); only used when the server has TTL and it is set. */
  coldVolume?: string;
  /** Days before rows move to the cold volume. */
  hotDays?: number;
}

/** Columns the writer sends, in RowBinary order. */
export const TICK_COLUMNS = [
  ['ts_ns', 'UInt64'],
  ['recv_ts_ns', 'UInt64'],
  ['venue', 'String'],
  ['symbol', 'String'],
  ['venue_id', 'UInt16'],
  ['symbol_id', 'UInt32'],
  ['bid', 'Float64'],
  ['ask', 'Float64'],
  ['bid_size', 'Float64'],
  ['ask_size', 'Float64'],
  ['sequence', 'UInt64'],
  ['flags', 'UInt32'],
  ['last_px', 'Float64'],
  ['last_qty', 'Float64'],
  ['aggressor', 'Int8'],
  ['batch_id', 'UInt64'],
] as const;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
export function ident(name: string): string {
  if (!IDENT.test(name)) throw new RangeError(`invalid ClickHouse identifier ${JSON.stringify(name)}`);
  return name;
}

export function schemaStatements(caps: ClickHouseCapabilities, opts: SchemaOptions): string[] {
  const db = ident(opts.database);
  const str = caps.lowCardinality ? 'LowCardinality(String)' : 'String';
  const codec = (c: string) => (caps.codecs ? ` CODEC(${c})` : '');
  const cols = TICK_COLUMNS.map(([name, type]) => {
    const t = name === 'venue' || name === 'symbol' ? str : type;
    const c =
      name === 'ts_ns' || name === 'recv_ts_ns' || name === 'sequence'
        ? codec('Delta, ZSTD(1)')
        : type === 'Float64'
          ? codec('ZSTD(1)')
          : '';
    return `  ${name} ${t}${c}`;
  });
  cols.push("  timestamp DateTime('UTC') MATERIALIZED toDateTime(intDiv(ts_ns, 1000000000), 'UTC')");
  const ttl =
    caps.ttl && opts.coldVolume ? `\nTTL timestamp + INTERVAL ${opts.hotDays ?? 7} DAY TO VOLUME '${ident(opts.coldVolume)}'` : '';
  const dedup = caps.dedupToken ? ', non_replicated_deduplication_window = 1000' : '';
  const ticks =
    `CREATE TABLE IF NOT EXISTS ${db}.ticks (\n${cols.join(',\n')}\n) ENGINE = MergeTree\n` +
    `PARTITION BY toYYYYMMDD(timestamp)\nORDER BY (venue, symbol, ts_ns, sequence)${ttl}\n` +
    `SETTINGS index_granularity = 8192${dedup}`;
  const ticks1m =
    `CREATE TABLE IF NOT EXISTS ${db}.ticks_1m (\n` +
    `  symbol ${str},\n  venue ${str},\n  minute DateTime('UTC'),\n` +
    '  avg_bid AggregateFunction(avgIf, Float64, UInt8),\n' +
    '  avg_ask AggregateFunction(avgIf, Float64, UInt8),\n' +
    '  high_bid AggregateFunction(maxIf, Float64, UInt8),\n' +
    '  low_ask AggregateFunction(minIf, Float64, UInt8),\n' +
    '  total_volume AggregateFunction(sumIf, Float64, UInt8),\n' +
    '  ticks AggregateFunction(count)\n' +
    ') ENGINE = AggregatingMergeTree\nPARTITION BY toYYYYMM(minute)\nORDER BY (symbol, minute, venue)';
  const mv =
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.ticks_1m_mv TO ${db}.ticks_1m AS\n` +
    'SELECT symbol, venue, toStartOfMinute(timestamp) AS minute,\n' +
    '  avgIfState(bid, bid > 0) AS avg_bid, avgIfState(ask, ask > 0) AS avg_ask,\n' +
    '  maxIfState(bid, bid > 0) AS high_bid, minIfState(ask, ask > 0) AS low_ask,\n' +
    '  sumIfState(last_qty, bitAnd(flags, 32) != 0) AS total_volume, countState() AS ticks\n' +
    `FROM ${db}.ticks GROUP BY symbol, venue, minute`;
  return [`CREATE DATABASE IF NOT EXISTS ${db}`, ticks, ticks1m, mv];
}

/** Cross-venue 1-minute bars from the aggregate (merge the partial states). */
export function ticks1mQuery(database: string, symbol: string, fromSec: number, toSec: number): string {
  return (
    `SELECT symbol, toUnixTimestamp(minute) AS minute, avgIfMerge(avg_bid) AS avg_bid, avgIfMerge(avg_ask) AS avg_ask,\n` +
    '  maxIfMerge(high_bid) AS high_bid, minIfMerge(low_ask) AS low_ask, sumIfMerge(total_volume) AS total_volume,\n' +
    '  countMerge(ticks) AS ticks\n' +
    `FROM ${ident(database)}.ticks_1m WHERE symbol = ${quote(symbol)} AND minute >= toDateTime(${Math.floor(fromSec)})` +
    ` AND minute < toDateTime(${Math.floor(toSec)})\nGROUP BY symbol, minute ORDER BY minute`
  );
}

/** String literal for servers without query parameters (18.16): backslash and quote escaped. */
export function quote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
