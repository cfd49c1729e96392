/**
 * Secrets (venue API keys, NATS passwords and nkey seeds, the admin token) never live in config
 * files: they come from an environment variable NAME or from a file named by NAME_FILE (Docker and
 * Kubernetes secrets). A secret file readable by group or others is refused: someone else on the
 * host could already have read it.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { VenueName } from '../contracts/index.js';
import { KestrelError } from '../contracts/errors.js';

export class SecretError extends KestrelError {
  override readonly name = 'SecretError';
  constructor(
    message: string,
    /** The environment variable (or file) concerned. */
    readonly source: string,
  ) {
    super('SECRET_INVALID', message);
  }
}

/** Config key names that hold a secret; such a key in a config file or JSON is refused. */
export const SECRET_KEY_PATTERN = /(pass(word|phrase)?$|secret|token|api_?key|private_?key|nkey|credential)/i;

/**
 * Read a file that holds a secret. Refuses a file with any group/other permission bit (chmod 600 or
 * 400), and a file that is not a regular file. Trailing newlines are dropped.
 */
export function readSecretFile(file: string, source = file): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    throw new SecretError(`secret file ${file} (${source}) cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, source);
  }
  if (!st.isFile()) throw new SecretError(`secret file ${file} (${source}) is not a regular file`, source);
  if ((st.mode & 0o077) !== 0) {
    throw new SecretError(
      `secret file ${file} (${source}) is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`,
      source,
    );
  }
  return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
}

/** NAME from the environment, or the content of the file NAME_FILE; both set is ambiguous and refused. */
export function readSecret(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct !== undefined && direct !== '' && file) throw new SecretError(`both ${name} and ${name}_FILE are set; set one`, name);
  if (file) {
    const v = readSecretFile(file, `${name}_FILE`);
    if (v === '') throw new SecretError(`secret file ${file} (${name}_FILE) is empty`, `${name}_FILE`);
    return v;
  }
  return direct === '' ? undefined : direct;
}

/** API credentials of one venue account (same shape as the private clients' VenueCredentials). */
export interface VenueSecretCredentials {
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly passphrase?: string;
  readonly ed25519PrivateKeyPem?: string;
}

/** Environment variable prefix of a venue's credentials: KESTREL_BINANCE_..., KESTREL_KRAKEN_..., KESTREL_OKX_... */
export function venueSecretPrefix(venue: VenueName | string): string {
  return `KESTREL_${venue.toUpperCase()}_`;
}

/**
 * Credentials of `venue` from KESTREL_<VENUE>_API_KEY, _API_SECRET, _PASSPHRASE (OKX) and
 * _ED25519_PRIVATE_KEY (Binance, PEM), each also as _FILE. Undefined when neither key nor secret is
 * set; a key without its secret is an error.
 */
export function venueCredentialsFromEnv(
  venue: VenueName | string,
  env: NodeJS.ProcessEnv = process.env,
): VenueSecretCredentials | undefined {
  const p = venueSecretPrefix(venue);
  const apiKey = readSecret(`${p}API_KEY`, env);
  const apiSecret = readSecret(`${p}API_SECRET`, env);
  if (apiKey === undefined && apiSecret === undefined) return undefined;
  if (apiKey === undefined || apiSecret === undefined) {
    throw new SecretError(
      `${venue}: set both ${p}API_KEY and ${p}API_SECRET (or their _FILE forms)`,
      apiKey === undefined ? `${p}API_KEY` : `${p}API_SECRET`,
    );
  }
  const passphrase = readSecret(`${p}PASSPHRASE`, env);
  const pem = readSecret(`${p}ED25519_PRIVATE_KEY`, env);
  return {
    apiKey,
    apiSecret,
    ...(passphrase !== undefined ? { passphrase } : {}),
    ...(pem !== undefined ? { ed25519PrivateKeyPem: pem } : {}),
  };
}

/** Paths (dotted) of keys in a parsed config tree whose names say they hold a secret. */
export function secretKeyPaths(tree: unknown, prefix = ''): string[] {
  if (typeof tree !== 'object' || tree === null) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(tree)) {
    const at = prefix ? `${prefix}.${k}` : k;
    if (SECRET_KEY_PATTERN.test(k) && !/_file$/i.test(k)) out.push(at);
    else out.push(...secretKeyPaths(v, at));
  }
  return out;
}

/**
 * The admin bearer token: KESTREL_ADMIN_TOKEN (or _FILE), else the token file at `file`, created at
 * first start with 32 random bytes (hex) and mode 0600 (O_EXCL: two starting processes cannot both
 * write it).
 */
export function resolveAdminToken(file: string, env: NodeJS.ProcessEnv = process.env): { token: string; source: string } {
  const fromEnv = readSecret('KESTREL_ADMIN_TOKEN', env);
  if (fromEnv !== undefined) {
    if (fromEnv.length < 16) throw new SecretError('KESTREL_ADMIN_TOKEN must be at least 16 characters', 'KESTREL_ADMIN_TOKEN');
    return { token: fromEnv, source: 'env' };
  }
  if (fs.existsSync(file)) return { token: readSecretFile(file, 'admin.token_file'), source: file };
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('hex');
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { token: readSecretFile(file, 'admin.token_file'), source: file };
    throw err;
  }
  try {
    fs.writeSync(fd, `${token}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return { token, source: file };
}
