/**
 * A NATS server (JetStream on) of the test's own, on a random port: tests that run a whole session
 * answer requests on shared subjects (config.set, ord.group), so two such tests must not share a
 * server. Resolves undefined (with a warning) when no nats-server binary exists, except under CI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { portOpen } from './servers.js';
import { tmpDir } from './tmp.js';

export interface OwnNats {
  url: string;
  stop(): Promise<void>;
}

export async function startOwnNats(): Promise<OwnNats | undefined> {
  const bin = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => fs.existsSync(p));
  if (!bin) {
    if (process.env.CI === 'true') throw new Error('nats-server binary not found; CI requires it');
    console.warn('[skip] no nats-server binary: this integration test is skipped (set CI=true to fail instead)');
    return undefined;
  }
  for (let tries = 0; tries < 5; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const child: ChildProcess = spawn(bin, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', tmpDir('nats')], { stdio: 'ignore' });
    let exited = false;
    child.once('exit', () => (exited = true));
    for (let i = 0; i < 200 && !exited && !(await portOpen('127.0.0.1', port)); i++) await new Promise((r) => setTimeout(r, 25));
    if (exited) continue;
    return {
      url: `nats://127.0.0.1:${port}`,
      stop: async () => {
        if (exited) return;
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await done;
      },
    };
  }
  throw new Error('could not start a nats-server on a free port');
}
