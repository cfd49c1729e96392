import { spawnSync } from 'node:child_process';
import { copyFileSync, openSync, closeSync, writeSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HEADER } from '../../src/storage/capture/format.js';
import { CaptureReader } from '../../src/storage/capture/reader.js';
import { tmpDir } from '../support/tmp.js';

const root = path.resolve(import.meta.dirname, '../..');

function kestrel(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, KESTREL_LOG_LEVEL: 'silent' },
    timeout: 150_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const lastJson = <T>(stdout: string): T => JSON.parse(stdout.trim().split('\n').pop()!) as T;

interface Session {
  signals: number;
  engineStats: { ticks: number; missed: number };
  tickStore: string;
  digest: string;
  signalDigest: string;
}
interface Backtest {
  ticks: number;
  signals: number;
  timeScale: number;
  signalDigest: string;
}

describe('a backtest over the capture `kestrel start` recorded', () => {
  it('gives the signals the session made: same ring input, same time scale, same engine', { timeout: 300_000 }, async () => {
    const dir = tmpDir('capture-backtest');
    const common = ['--set', `storage.capture_dir=${dir}`, '--json'];
    // Paper on the bundled recording at 100x: the fastest pace at which the strategy still trades
    // (at 1000x the wall-clock jitter of the receive stamps leaves it ~2 signals, instant none).
    const start = kestrel(
      'start',
      ...common,
      '--set',
      'session.pace=accelerated',
      '--set',
      'session.speed=100',
      '--set',
      'admin.port=-1',
      '--set',
      `audit.file=${path.join(dir, 'audit.log')}`,
      '--set',
      `execution.wal_dir=${path.join(dir, 'wal')}`,
    );
    expect(start.code, start.stderr).toBe(0);
    const s = lastJson<Session>(start.stdout);
    expect(s.tickStore).toMatch(/^capture /);
    expect(s.engineStats.missed).toBe(0);
    // Without signals the equality below would prove nothing.
    expect(s.signals).toBeGreaterThan(0);
    const capture = s.tickStore.slice('capture '.length);
    const header = (await CaptureReader.open(capture)).header;
    expect(header).toMatchObject({ timeScale: 100, ringInput: true });

    const bt = kestrel('backtest', '--data', capture, ...common);
    expect(bt.code, bt.stderr).toBe(0);
    const r = lastJson<Backtest>(bt.stdout);
    expect(r.timeScale).toBe(100);
    // Exactly the ticks the engine consumed in the session, and the same signals, stream by stream.
    expect(r.ticks).toBe(s.engineStats.ticks);
    expect(r.signals).toBe(s.signals);
    expect(r.signalDigest).toBe(s.signalDigest);

    // The header's time scale is what makes them equal: read on recorded time (scale 1) the same
    // ticks give other signals.
    const unscaled = path.join(dir, 'unscaled.kcap');
    copyFileSync(capture, unscaled);
    const fd = openSync(unscaled, 'r+');
    const one = Buffer.alloc(8);
    one.writeDoubleLE(1, 0);
    writeSync(fd, one, 0, 8, HEADER.timeScale);
    closeSync(fd);
    const bt1 = kestrel('backtest', '--data', unscaled, ...common);
    expect(bt1.code, bt1.stderr).toBe(0);
    const r1 = lastJson<Backtest>(bt1.stdout);
    expect(r1.timeScale).toBe(1);
    expect(r1.signalDigest).not.toBe(s.signalDigest);
  });
});
