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

/** `maskUrlCredentials` over every string of a log object (plain objects, arrays and errors). */
export function maskDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskUrlCredentials(value);
  if (depth > 6 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, depth + 1));
  if (value instanceof Error) {
    return { type: value.name, message: maskUrlCredentials(value.message), ...(value.stack ? { stack: maskUrlCredentials(value.stack) } : {}) };
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = maskDeep(v, depth + 1);
  return out;
}

/**
 * Key names whose values are secrets wherever they appear in a log object (pino redact paths, one
 * and two levels deep plus the common containers). Matching is by exact key name: pino's redaction
 * is path-based.
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
  'Authorization',
  'seed',
  'nkeySeed',
  'privateKey',
  'private_key',
  'ed25519PrivateKeyPem',
  'credentials',
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

const CONTAINERS = ['*', 'headers', 'req.headers', 'config', 'opts', 'options', 'params', 'body', 'auth'];

/** pino `redact.paths` covering every secret key at the top level and inside the usual containers. */
export function secretRedactPaths(): string[] {
  const out: string[] = [];
  for (const k of SECRET_LOG_KEYS) {
    const plain = /^[A-Za-z_$][\w$]*$/.test(k);
    out.push(plain ? k : `["${k}"]`);
    for (const c of CONTAINERS) out.push(plain ? `${c}.${k}` : `${c}["${k}"]`);
  }
  return out;
}
