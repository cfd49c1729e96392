/**
 * What the connected ClickHouse server can do. The machine's server is 18.16 (no CODEC, TTL,
 * DateTime64, async inserts, non-replicated dedup); production runs current servers, where the SPEC
 * settings apply. Dedup support is detected from the server's own setting tables, not guessed from
 * the version; DDL features (codecs, TTL, LowCardinality) that have no such table use the version.
 */
import type { ClickHouseClient } from '@clickhouse/client';

export interface ClickHouseCapabilities {
  version: string;
  major: number;
  minor: number;
  /** ZSTD column codecs (19.11+; we require 20.1 to stay on well-trodden ground). */
  codecs: boolean;
  /** Table TTL incl. TO VOLUME (20.1+). */
  ttl: boolean;
  /** LowCardinality(String) without the experimental flag. */
  lowCardinality: boolean;
  /** insert_deduplication_token + non_replicated_deduplication_window (22.2+). */
  dedupToken: boolean;
}

export function parseVersion(version: string): { major: number; minor: number } {
  const m = /^(\d+)\.(\d+)/.exec(version.trim());
  if (!m) throw new RangeError(`unparseable ClickHouse version ${JSON.stringify(version)}`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

export function capabilitiesFor(version: string, settings: ReadonlySet<string>): ClickHouseCapabilities {
  const { major, minor } = parseVersion(version);
  const modern = major >= 20;
  return {
    version,
    major,
    minor,
    codecs: modern,
    ttl: modern,
    lowCardinality: modern,
    dedupToken: settings.has('insert_deduplication_token') && settings.has('non_replicated_deduplication_window'),
  };
}

export async function detectCapabilities(client: ClickHouseClient): Promise<ClickHouseCapabilities> {
  const v = await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
  const [row] = await v.json<{ v: string }>();
  if (!row) throw new Error('ClickHouse returned no version');
  const s = await client.query({
    query:
      "SELECT name FROM system.settings WHERE name = 'insert_deduplication_token' " +
      "UNION ALL SELECT name FROM system.merge_tree_settings WHERE name = 'non_replicated_deduplication_window'",
    format: 'JSONEachRow',
  });
  const names = new Set((await s.json<{ name: string }>()).map((r) => r.name));
  return capabilitiesFor(row.v, names);
}
