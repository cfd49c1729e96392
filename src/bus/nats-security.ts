/**
 * How a service proves who it is to NATS, and how the connection is encrypted. The server
 * (deploy/nats/nats-server.conf) maps each identity to the subjects it may publish and subscribe, so
 * a process that is not the executor cannot publish ord.req.*, only gateways publish ord.ack.*, and
 * only the operator may publish ctl.resume.
 *
 * Identities: user + password, an nkey seed (challenge signed locally: the seed never crosses the
 * wire), or a token. Secrets come only from the environment or *_FILE (src/config/secrets.ts):
 *   KESTREL_NATS_USER                       user name (or bus.auth.user in the config)
 *   KESTREL_NATS_PASSWORD[_FILE]            its password
 *   KESTREL_NATS_NKEY_SEED[_FILE]           an nkey user seed (SU...)
 *   KESTREL_NATS_TOKEN[_FILE]               a token
 *   KESTREL_NATS_TLS_CA / _CERT / _KEY      TLS files (or bus.tls.* in the config); the key file
 *                                           must be owner-only, like any secret file
 */
import { nkeyAuthenticator, type ConnectionOptions } from 'nats';
import { readSecret, readSecretFile, SecretError } from '../config/secrets.js';

export type NatsAuth =
  | { readonly kind: 'user'; readonly user: string; readonly password: string }
  | { readonly kind: 'nkey'; readonly seed: string }
  | { readonly kind: 'token'; readonly token: string };

export interface NatsTls {
  /** CA that signed the server certificate (a private CA or a self-signed server certificate). */
  readonly caFile?: string;
  /** Client certificate and key, when the server verifies clients (mutual TLS). */
  readonly certFile?: string;
  readonly keyFile?: string;
}

export interface NatsSecurity {
  readonly auth?: NatsAuth;
  readonly tls?: NatsTls;
}

/** Non-secret settings from the config file (bus.auth.user, bus.tls.*); empty strings mean unset. */
export interface NatsSecurityConfig {
  readonly auth?: { readonly user?: string };
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string };
}

/**
 * The identity and TLS files of this process: the config's non-secret parts overlaid by the
 * environment. More than one kind of credential is ambiguous and refused.
 */
export function natsSecurityFrom(cfg: NatsSecurityConfig = {}, env: NodeJS.ProcessEnv = process.env): NatsSecurity {
  const user = env.KESTREL_NATS_USER || cfg.auth?.user || '';
  const password = readSecret('KESTREL_NATS_PASSWORD', env);
  const seed = readSecret('KESTREL_NATS_NKEY_SEED', env);
  const token = readSecret('KESTREL_NATS_TOKEN', env);
  const kinds = [password !== undefined || user !== '', seed !== undefined, token !== undefined].filter(Boolean).length;
  if (kinds > 1) throw new SecretError('NATS: set one of user+password, nkey seed or token', 'KESTREL_NATS_*');
  let auth: NatsAuth | undefined;
  if (seed !== undefined) {
    if (!seed.startsWith('SU')) throw new SecretError('KESTREL_NATS_NKEY_SEED must be an nkey user seed (SU...)', 'KESTREL_NATS_NKEY_SEED');
    auth = { kind: 'nkey', seed };
  } else if (token !== undefined) auth = { kind: 'token', token };
  else if (user !== '' || password !== undefined) {
    if (user === '' || password === undefined)
      throw new SecretError('NATS: a user needs KESTREL_NATS_PASSWORD (or _FILE), a password needs a user', 'KESTREL_NATS_PASSWORD');
    auth = { kind: 'user', user, password };
  }
  const caFile = env.KESTREL_NATS_TLS_CA || cfg.tls?.ca || '';
  const certFile = env.KESTREL_NATS_TLS_CERT || cfg.tls?.cert || '';
  const keyFile = env.KESTREL_NATS_TLS_KEY || cfg.tls?.key || '';
  if ((certFile === '') !== (keyFile === ''))
    throw new SecretError('NATS TLS: a client certificate needs its key and the other way round', 'KESTREL_NATS_TLS_KEY');
  // Refuse a group/world-readable private key here, before the TLS layer would happily load it.
  if (keyFile) readSecretFile(keyFile, 'NATS TLS key');
  const tls = caFile || certFile ? { ...(caFile ? { caFile } : {}), ...(certFile ? { certFile, keyFile } : {}) } : undefined;
  return { ...(auth ? { auth } : {}), ...(tls ? { tls } : {}) };
}

/** The nats.js connection options for an identity and TLS settings. */
export function natsConnectionSecurity(sec: NatsSecurity): Partial<ConnectionOptions> {
  const out: Partial<ConnectionOptions> = {};
  const a = sec.auth;
  if (a?.kind === 'user') {
    out.user = a.user;
    out.pass = a.password;
  } else if (a?.kind === 'token') out.token = a.token;
  else if (a?.kind === 'nkey') out.authenticator = nkeyAuthenticator(new TextEncoder().encode(a.seed));
  if (sec.tls) out.tls = { ...sec.tls };
  return out;
}
