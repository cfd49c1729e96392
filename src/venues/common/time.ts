/**
 * RFC 3339 (UTC, up to 9 fractional digits) → epoch ns; undefined when malformed. Date.parse keeps
 * only ms, and calling it per message is slow: venue timestamps share their seconds prefix for many
 * consecutive messages, so the seconds part is parsed once and cached.
 */
let cachedPrefix = '';
let cachedSecNs = 0n;

export function parseRfc3339Ns(ts: string): bigint | undefined {
  return parseRfc3339NsIn(ts, 0, ts.length);
}

/** parseRfc3339Ns of text[start, end), read in place (the one-pass frame readers keep ranges, not strings). */
export function parseRfc3339NsIn(text: string, start: number, end: number): bigint | undefined {
  // YYYY-MM-DDTHH:MM:SS then optional .fraction then Z
  const n = end - start;
  if (n < 20 || text.charCodeAt(end - 1) !== 90 /* Z */ || text.charCodeAt(start + 10) !== 84 /* T */) return undefined;
  let secNs: bigint;
  if (cachedPrefix.length === 19 && text.startsWith(cachedPrefix, start)) secNs = cachedSecNs;
  else {
    const prefix = text.slice(start, start + 19);
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(prefix)) return undefined;
    const ms = Date.parse(`${prefix}Z`);
    if (Number.isNaN(ms)) return undefined;
    secNs = BigInt(ms) * 1_000_000n;
    cachedPrefix = prefix;
    cachedSecNs = secNs;
  }
  if (n === 20) return secNs;
  if (text.charCodeAt(start + 19) !== 46 /* . */ || n - 21 < 1 || n - 21 > 9) return undefined;
  let frac = 0;
  for (let i = start + 20; i < end - 1; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    frac = frac * 10 + c;
  }
  for (let i = n - 21; i < 9; i++) frac *= 10;
  return secNs + BigInt(frac);
}
