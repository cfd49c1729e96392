/**
 * What must never reach a log line: secret values under any key that can hold one, and the
 * user:password part of URLs (nats://user:pass@host, postgres://user:pass@host/db, ...).
 */

/**
 * Replace the userinfo of every URL in `text` (scheme://user[:pass]@) with `***@`, and the value of
 * secret-named query/form parameters (apiKey=..., signature=..., token=...) with `***`.
 */
export function maskUrlCredentials(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s"'?#]+@/gi, '$1***@')
    .replace(/([?&;](?:api_?key|api_?secret|secret|signature|sign|token|password|passphrase)=)[^&\s"'#]*/gi, '$1***');
}

export const REDACTED = '[REDACTED]';

/** Cheap pre-check: most log strings contain neither `@` nor `=`, and need no regex. */
const maybeCredential = (s: string) => s.includes('@') || s.includes('=');

/**
 * A log object with every secret-named key's value censored (at any depth) and credentials masked in
 * every string (plain objects, arrays and errors). Objects without anything to change are returned
 * as they are (no copy on the common path).
 */
export function maskDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maybeCredential(value) ? maskUrlCredentials(value) : value;
  if (depth > 6 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const m = maskDeep(value[i], depth + 1);
      if (m !== value[i]) (out ??= value.slice())[i] = m;
    }
    return out ?? value;
  }
  if (value instanceof Error) {
    return {
      type: value.name,
      message: maskUrlCredentials(value.message),
      ...(value.stack ? { stack: maskUrlCredentials(value.stack) } : {}),
    };
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  let out: Record<string, unknown> | undefined;
  for (const k in value) {
    const v = (value as Record<string, unknown>)[k];
    const m = SECRET_KEYS.has(k.toLowerCase()) ? (v === undefined || v === null || v === '' ? v : REDACTED) : maskDeep(v, depth + 1);
    if (m !== v) (out ??= { ...(value as Record<string, unknown>) })[k] = m;
  }
  return out ?? value;
}

/**
 * Key names whose values are secrets wherever they appear in a log object (compared case-insensitively,
 * at any depth): credentials, signatures, tokens, and the venues' auth header names.
 */
export const SECRET_LOG_KEYS = [
  'password',
  'pass',
  'passphrase',
  'secret',
  'apiSecret',
  'api_secret',
  'apiKey',
  'api_key',
  'token',
  'authorization',
  'seed',
  'nkeySeed',
  'privateKey',
  'private_key',
  'ed25519PrivateKeyPem',
  'credentials',
  'access_token',
  'refresh_token',
  'client_secret',
  'nkey',
  'cookie',
  'key',
  'signature',
  'sign',
  'OK-ACCESS-KEY',
  'OK-ACCESS-SIGN',
  'OK-ACCESS-PASSPHRASE',
  'API-Key',
  'API-Sign',
  'X-MBX-APIKEY',
] as const;

const SECRET_KEYS: ReadonlySet<string> = new Set(SECRET_LOG_KEYS.map((k) => k.toLowerCase()));
