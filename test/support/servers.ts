/**
 * Reachability of the real servers for integration tests. Under CI=true a missing server is a failure,
 * never a silent skip; locally the suite says why it is skipped.
 */
import net from 'node:net';

export const NATS_URL = process.env.KESTREL_NATS_URL ?? 'nats://127.0.0.1:4222';
export const PG_URL = process.env.KESTREL_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const CLICKHOUSE_URL = process.env.KESTREL_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';

export function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** Resolves true when the server is reachable; throws under CI when it is not. */
export async function requireServer(name: string, url: string): Promise<boolean> {
  const u = new URL(url);
  const port = Number(u.port || (u.protocol === 'http:' ? 80 : 0));
  const ok = await portOpen(u.hostname, port);
  if (!ok && process.env.CI === 'true') {
    throw new Error(`${name} is not reachable at ${url}; CI requires it (run .ci/run, which starts it)`);
  }
  if (!ok) console.warn(`[skip] ${name} not reachable at ${url}: its integration tests are skipped (set CI=true to fail instead)`);
  return ok;
}
