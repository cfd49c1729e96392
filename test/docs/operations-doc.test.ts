/**
 * docs/OPERATIONS.md and README name only what exists: every `kestrel <command>` (and `kestrel run
 * <service>`) in their code is a command the CLI knows, and every HTTP endpoint they name is routed by
 * the admin server (it does not answer `no route`).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminServer } from '../../src/admin/server.js';
import { repoRoot } from '../support/processes.js';

const docs = ['docs/OPERATIONS.md', 'README.md'].map((f) => ({ file: f, text: readFileSync(path.join(repoRoot, f), 'utf8') }));

/** Text inside code: fenced blocks and inline `spans`. */
function codeOf(md: string): string[] {
  const out: string[] = [];
  const fenced = /```[^\n]*\n([\s\S]*?)```/g;
  for (const m of md.matchAll(fenced)) out.push(m[1]!);
  const rest = md.replace(fenced, '');
  for (const m of rest.matchAll(/`([^`\n]+)`/g)) out.push(m[1]!);
  return out;
}

function cli(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: repoRoot, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('docs name real commands', () => {
  it('every `kestrel <command>` and `kestrel run <service>` in OPERATIONS.md and README exists', () => {
    const help = cli(['--help']).out;
    const commands = new Set([...help.matchAll(/^ {2}([a-z][a-z-]*) {2,}/gm)].map((m) => m[1]!));
    expect(commands.has('start')).toBe(true);
    // `kestrel run` names its services in its one-line refusal.
    const runLine = cli(['run']).out;
    const services = new Set([...runLine.slice(runLine.indexOf(':', 10)).matchAll(/[a-z]+/g)].map((m) => m[0]).filter((w) => w !== 'or' && w !== 'got'));
    const named: Array<{ file: string; cmd: string; sub?: string }> = [];
    for (const d of docs) {
      for (const code of codeOf(d.text)) {
        for (const m of code.matchAll(/(^|[^\n]*?)\bkestrel ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?/gm)) {
          // A command, not an argument (`kubectl -n kestrel get pods`): at the start of the line or
          // after a shell separator, a prompt or npx.
          const before = m[1]!.trimEnd();
          if (before !== '' && !/(?:[$|;&(]|\bnpx)$/.test(before)) continue;
          named.push({ file: d.file, cmd: m[2]!, ...(m[3] ? { sub: m[3] } : {}) });
        }
      }
    }
    expect(named.length).toBeGreaterThan(10);
    for (const n of named) {
      expect(commands.has(n.cmd), `${n.file}: kestrel ${n.cmd}`).toBe(true);
      if (n.cmd === 'run' && n.sub) expect(services.has(n.sub), `${n.file}: kestrel run ${n.sub}`).toBe(true);
    }
  }, 60_000);
});

describe('docs name real endpoints', () => {
  let server: AdminServer;
  let base: string;
  beforeAll(async () => {
    server = new AdminServer({}, { token: 'x'.repeat(32) });
    base = await server.listen(0, '127.0.0.1');
  });
  afterAll(async () => server.close());

  it('every /health, /metrics and /admin path in OPERATIONS.md and README is routed', async () => {
    const paths = new Set<string>();
    for (const d of docs) for (const m of d.text.matchAll(/`(?:GET |POST )?(\/(?:health\/[a-z]+|metrics|admin\/[a-z0-9._-]+))/g)) paths.add(m[1]!);
    expect(paths.size).toBeGreaterThan(5);
    // The server's answer for a path it does not route is a 404 `no route METHOD PATH` (a routed path
    // whose feature this process lacks may 404 with another reason).
    const unrouted = async (method: string, p: string) => {
      const ac = new AbortController();
      const r = await fetch(`${base}${p}`, { method, signal: ac.signal });
      const noRoute = r.status === 404 && (await r.text()).includes('no route');
      ac.abort();
      return noRoute;
    };
    expect(await unrouted('GET', '/admin/no-such-thing')).toBe(true);
    for (const p of paths) expect((await unrouted('GET', p)) && (await unrouted('POST', p)), p).toBe(false);
  });
});
