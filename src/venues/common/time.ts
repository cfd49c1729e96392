/**
 * RFC 3339 (UTC, up to 9 fractional digits) → epoch ns; undefined when malformed. Date.parse keeps
 * only ms, and calling it per message is slow: venue timestamps share their seconds prefix for many
 * consecutive messages, so the seconds part is parsed once and cached.
 */
let cachedPrefix = '';
let cachedSecNs = 0n;

export function parseRfc3339Ns(ts: string): bigint | undefined {
  // YYYY-MM-DDTHH:MM:SS then optional .fraction then Z
  const n = ts.length;
  if (n < 20 || ts.charCodeAt(n - 1) !== 90 /* Z */ || ts.charCodeAt(10) !== 84 /* T */) return undefined;
  const prefix = ts.slice(0, 19);
  let secNs: bigint;
  if (prefix === cachedPrefix) secNs = cachedSecNs;
  else {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(prefix)) return undefined;
    const ms = Date.parse(`${prefix}Z`);
    if (Number.isNaN(ms)) return undefined;
    secNs = BigInt(ms) * 1_000_000n;
    cachedPrefix = prefix;
    cachedSecNs = secNs;
  }
  if (n === 20) return secNs;
  if (ts.charCodeAt(19) !== 46 /* . */ || n - 21 < 1 || n - 21 > 9) return undefined;
  let frac = 0;
  for (let i = 20; i < n - 1; i++) {
    const c = ts.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    frac = frac * 10 + c;
  }
  for (let i = n - 21; i < 9; i++) frac *= 10;
  return secNs + BigInt(frac);
}
