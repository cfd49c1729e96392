/**
 * Real kestrel processes for integration tests: `node --import tsx src/cli/main.ts ARGS`, with stdout
 * and stderr collected line by line and helpers to wait for a line and for the exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '../..');

export interface KestrelProcess {
  child: ChildProcess;
  stdout: string[];
  stderr: () => string;
  /** Resolves with the first stdout or stderr line matching, rejects if the process exits first. */
  line(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export function kestrel(args: string[], env: NodeJS.ProcessEnv = {}): KestrelProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/cli/main.ts'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, KESTREL_LOG_LEVEL: 'error', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const errLines: string[] = [];
  let err = '';
  const waiters: Array<{ re: RegExp; resolve: (m: RegExpExecArray) => void }> = [];
  const feed = (into: string[]) => {
    let buf = '';
    return (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const l = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        into.push(l);
        for (const w of [...waiters]) {
          const m = w.re.exec(l);
          if (m) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(m);
          }
        }
      }
    };
  };
  child.stdout!.on('data', feed(stdout));
  const errFeed = feed(errLines);
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    errFeed(d);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    stdout,
    stderr: () => err,
    exited,
    line: (re, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        for (const l of [...stdout, ...errLines]) {
          const m = re.exec(l);
          if (m) return resolve(m);
        }
        const t = setTimeout(() => reject(new Error(`no line ${re} within ${timeoutMs} ms; stderr: ${err.slice(-1500)}`)), timeoutMs);
        waiters.push({ re, resolve: (m) => (clearTimeout(t), resolve(m)) });
        void exited.then((code) => {
          clearTimeout(t);
          reject(new Error(`kestrel ${args.join(' ')} exited (${code}) before ${re}; stderr: ${err.slice(-1500)}`));
        });
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
