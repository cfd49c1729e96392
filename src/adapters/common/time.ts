/** RFC 3339 (UTC, up to 9 fractional digits) → epoch ns; undefined when malformed. Date.parse keeps only ms. */
export function parseRfc3339Ns(ts: string): bigint | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(ts);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]!}Z`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}
