import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '../support/tmp.js';

const root = path.resolve(import.meta.dirname, '../..');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, KESTREL_LOG_LEVEL: 'silent' },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('kestrel CLI', () => {
  it('lists its subcommands with --help', () => {
    const r = cli('--help');
    expect(r.code).toBe(0);
    for (const c of ['start', 'backtest', 'config', 'version']) expect(r.stdout).toContain(c);
  });

  it('explains one command with <command> --help', () => {
    const r = cli('start', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--max-ticks');
  });

  it('exits 2 with one line naming an unknown option', () => {
    const r = cli('start', '--max-tiks', '5');
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('kestrel: unknown option --max-tiks');
  });

  it('exits 2 with one line naming a bad option value', () => {
    const r = cli('start', '--max-ticks', 'many');
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("kestrel: option --max-ticks needs a non-negative integer, got 'many'");
  });

  it('exits 2 with one line naming the bad key of a malformed config', () => {
    const dir = tmpDir('cli');
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'strategy:\n  engine: quantum\n');
    const r = cli('config', 'check', '--config', file);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('strategy.engine');
    expect(lines[0]).toContain('"quantum"');
  });

  it('config print masks passwords in URLs; a secret-named key is refused naming it', () => {
    const r = cli(
      'config',
      'print',
      '--set',
      'refdata.postgres_url=postgres://kestrel:pg-pw-91c3@db:5432/kestrel',
      '--set',
      'bus.nats_url=nats://exec:nats-pw-77ab@mq:4222',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('postgres://***@db:5432/kestrel');
    expect(r.stdout).not.toContain('pg-pw-91c3');
    expect(r.stdout).not.toContain('nats-pw-77ab');
    const bad = cli('config', 'check', '--set', 'bus.auth.password=hunter2');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("'bus.auth.password' looks like a secret");
    expect(bad.stderr).not.toContain('hunter2');
  });

  it('exits 2 on an unknown command', () => {
    const r = cli('frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
  });

  it('runs a short session and prints a JSON summary', () => {
    const r = cli('start', '--max-ticks', '3000', '--json', '--set', 'session.speed=200', '--set', 'admin.port=-1');
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ticks: { accepted: number }; digest: string };
    expect(s.ticks.accepted).toBeGreaterThanOrEqual(3000);
    expect(s.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('runs a backtest and prints its report', () => {
    const r = cli('backtest', '--max-ticks', '5000', '--json');
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ticks: number; digest: string };
    expect(s.ticks).toBe(5000);
    expect(s.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('wal check reports mid-segment corruption (exit 1); wal salvage keeps a backup and repairs it', async () => {
    const { SegmentLog } = await import('../../src/execution/wal/segment-log.js');
    const base = tmpDir('cli-wal');
    const dir = path.join(base, 'wal');
    const { log } = SegmentLog.open(dir);
    for (const r of ['a-record', 'b-record', 'c-record']) log.append(new TextEncoder().encode(r));
    log.commit();
    log.close();
    const seg = path.join(
      dir,
      readdirSync(dir).find((n) => n.startsWith('wal-'))!,
    );
    const buf = readFileSync(seg);
    buf[8 + 2]! ^= 0x01; // first record's payload
    writeFileSync(seg, buf);
    const check = cli('wal', 'check', '--wal-dir', dir);
    expect(check.code, check.stderr).toBe(1);
    expect(check.stdout).toContain('corrupt');
    expect(check.stdout).toContain('2 valid record(s) after the first damage');
    const backup = path.join(base, 'backup');
    const salvage = cli('wal', 'salvage', '--wal-dir', dir, '--backup', backup);
    expect(salvage.code, salvage.stderr).toBe(0);
    expect(salvage.stdout).toContain(`original copied to ${backup}`);
    expect(readFileSync(path.join(backup, path.basename(seg))).equals(buf)).toBe(true);
    const again = cli('wal', 'check', '--wal-dir', dir, '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout) as { ok: boolean; records: number }).toMatchObject({ ok: true, records: 2 });
  });

  it('backtest with the julia engine from a missing source folder exits 1 with one typed line', () => {
    const missing = path.join(tmpDir('cli-jlsrc'), 'no-julia-here');
    const r = cli('backtest', '--set', 'strategy.engine=julia', '--set', `strategy.julia_source=${missing}`, '--max-ticks', '100');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `kestrel: JULIA_SOURCE_NOT_FOUND: juliaSource=${missing} is not a folder (point it at the julia/ folder of a Kestrel checkout)\n`,
    );
  });

  it('backtest --verbose names the engine that ran', () => {
    const r = cli('backtest', '--max-ticks', '2000', '--verbose');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ {2}engine {9}native \(C\+\+ reference strategy in /m);
  });

  it('exits 2 naming an unknown service for run', () => {
    const r = cli('run', 'nothing');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('run needs a service');
  });
});
