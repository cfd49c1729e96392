/**
 * What a person sees: `kestrel start` on a pseudo-terminal (util-linux `script`) prints human-readable
 * logs and a live status line that the summary replaces; piped, or with --json, the same run prints
 * JSON log lines only; a user error is one line without a stack unless --verbose / KESTREL_VERBOSE=1.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorText, formatStatus, prettyLogLine } from '../../src/observability/terminal.js';
import { kestrel, repoRoot } from '../support/processes.js';
import { tmpDir } from '../support/tmp.js';

function sessionArgs(maxTicks: number): string[] {
  const dir = tmpDir('terminal');
  return [
    'start',
    '--max-ticks',
    String(maxTicks),
    ...[
      'session.speed=5',
      'admin.port=-1',
      `execution.wal_dir=${path.join(dir, 'wal')}`,
      `audit.file=${path.join(dir, 'audit.log')}`,
      `storage.capture_dir=${path.join(dir, 'capture')}`,
    ].flatMap((s) => ['--set', s]),
  ];
}

/** Run kestrel under a pseudo-terminal; returns everything the terminal received and the exit code. */
function onTty(args: string[], env: NodeJS.ProcessEnv = {}): { out: string; status: number | null } {
  const quoted = ['node', '--import', 'tsx', 'src/cli/main.ts', ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('script', ['-qfec', quoted, '/dev/null'], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { out: r.stdout + r.stderr, status: r.status };
}

describe('terminal formatting', () => {
  it('prints a pino line as time, level, service, message and key=value fields', () => {
    const line = JSON.stringify({
      level: 40,
      time: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
      app: 'kestrel',
      service: 'md.kraken',
      venue: 'kraken',
      error: 'pair not supported',
      msg: 'request failed',
    });
    expect(prettyLogLine(line)).toBe('03:04:05.678 WARN  md.kraken: request failed  venue=kraken error="pair not supported"');
    expect(prettyLogLine('not json\n')).toBe('not json');
  });

  it('status line: ticks/s, signals, orders, PnL and venue health', () => {
    const s = formatStatus(
      { ticks: 1200, signals: 3, orders: 2, fills: 2, rejects: 1, netPnl: -4.5, venues: { binance: true, okx: false } },
      250,
    );
    expect(s).toBe('[kestrel] 1200 ticks (250/s) | 3 signals | 2 orders, 2 fills, 1 rejects | PnL -4.50 | binance up, okx DOWN');
  });

  it('an error is one line; its stack only when verbose', () => {
    const e = new Error('bad\n  thing');
    expect(errorText(e, false)).toBe('kestrel: bad thing\n');
    expect(errorText(e, true)).toContain('    at ');
  });
});

describe('kestrel start on a terminal and piped', () => {
  it('TTY: human-readable logs and a live status line, replaced by the summary', () => {
    const { out, status } = onTty(sessionArgs(4000));
    expect(status, out.slice(-2000)).toBe(0);
    expect(out).toMatch(/^\d\d:\d\d:\d\d\.\d{3} \S*INFO \S* session: session starting/m);
    expect(out).not.toMatch(/\{"level":/);
    expect(out).toMatch(
      /\[kestrel\] \d+ ticks \(\d+\/s\) \| \d+ signals \| \d+ orders, \d+ fills, \d+ rejects \| PnL -?\d+\.\d\d \| binance up/,
    );
    // The status line is erased (clear-line, carriage return) right before the summary takes its place.
    expect(out).toContain('\x1b[2K\rkestrel paper session');
  }, 150_000);

  it('TTY with --json: plain JSON lines, no status line', () => {
    const { out, status } = onTty([...sessionArgs(1500), '--json']);
    expect(status, out.slice(-2000)).toBe(0);
    const lines = out.split(/\r?\n/).filter((l) => l.trim().length > 0);
    expect(lines.length).toBeGreaterThan(2);
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
    expect(out).not.toContain('[kestrel]');
  }, 150_000);

  it('piped: JSON log lines on stderr, no status line, the summary on stdout', async () => {
    const p = kestrel(sessionArgs(1500), { KESTREL_LOG_LEVEL: 'info' });
    expect(await p.exited).toBe(0);
    const err = p
      .stderr()
      .split('\n')
      .filter((l) => l.length > 0);
    expect(err.length).toBeGreaterThan(0);
    for (const l of err) expect(() => JSON.parse(l), l).not.toThrow();
    expect(p.stderr()).not.toContain('[kestrel]');
    expect(p.stdout[0]).toMatch(/^kestrel paper session/);
  }, 150_000);
});

describe('user errors', () => {
  it('a bad config value: one line naming the key, no stack, exit 2; the stack with --verbose or KESTREL_VERBOSE=1', () => {
    const bad = ['config', 'check', '--set', 'strategy.kelly_fraction=7'];
    const plain = onTty(bad);
    expect(plain.status).toBe(2);
    const lines = plain.out.split(/\r?\n/).filter((l) => l.length > 0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^kestrel: .*kelly_fraction/);
    const piped = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...bad], { cwd: repoRoot, encoding: 'utf8' });
    expect(piped.status).toBe(2);
    expect(piped.stderr.trim().split('\n')).toHaveLength(1);
    expect(piped.stderr).not.toContain('    at ');
    const verbose = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...bad], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, KESTREL_VERBOSE: '1' },
    });
    expect(verbose.status).toBe(2);
    expect(verbose.stderr).toContain('    at ');
  }, 60_000);

  it('missing Julia: one line saying what to install or set, no stack', () => {
    // No julia on PATH (an empty directory), no JULIA_DIR: what a machine without Julia looks like.
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: tmpDir('no-julia') };
    delete env.JULIA_DIR;
    delete env.KESTREL_JULIA_SYSIMAGE;
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...sessionArgs(10), '--set', 'strategy.engine=julia'], {
      cwd: repoRoot,
      encoding: 'utf8',
      env,
    });
    expect(r.status).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.length > 0 && !l.startsWith('{"level"'));
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^kestrel: JULIA_NOT_FOUND: .*install Julia/);
    expect(r.stderr).not.toContain('    at ');
  }, 60_000);

  it('start --mode with a bad value: one line, exit 2', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start', '--mode', 'backtest'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("kestrel: --mode must be paper or live, got 'backtest' (backtests: kestrel backtest)\n");
  }, 60_000);
});
