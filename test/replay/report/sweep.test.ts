import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { runBacktest, type BacktestReport } from '../../../src/replay/backtest.js';
import { BacktestRecorder } from '../../../src/replay/report/recorder.js';
import { formatSweepTable, parseSweep, rankRuns, sweepGrid, SweepError, type SweepRun } from '../../../src/replay/report/sweep.js';
import { launchChromium } from '../../support/chromium.js';
import { tmpDir } from '../../support/tmp.js';

const root = path.resolve(import.meta.dirname, '../../..');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, KESTREL_LOG_LEVEL: 'silent' },
    timeout: 180_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('sweep grid', () => {
  it('parses KEY=V1,V2 axes into a cartesian grid, first axis slowest', () => {
    const axes = parseSweep(['strategy.kelly_fraction=0.1,0.25,0.5', 'strategy.confidence_threshold=0.3,0.4']);
    const grid = sweepGrid(axes);
    expect(grid).toHaveLength(6);
    expect(grid[0]).toEqual([
      ['strategy.kelly_fraction', '0.1'],
      ['strategy.confidence_threshold', '0.3'],
    ]);
    expect(grid[1]).toEqual([
      ['strategy.kelly_fraction', '0.1'],
      ['strategy.confidence_threshold', '0.4'],
    ]);
    expect(grid[5]).toEqual([
      ['strategy.kelly_fraction', '0.5'],
      ['strategy.confidence_threshold', '0.4'],
    ]);
  });

  it('refuses malformed, repeated or empty axes', () => {
    for (const bad of [
      ['kelly=0.1'],
      ['strategy.kelly_fraction'],
      ['strategy.kelly_fraction=0.1,,0.2'],
      ['strategy.kelly_fraction=0.1,0.1'],
      ['strategy.x=1', 'strategy.x=2'],
    ]) {
      expect(() => parseSweep(bad), bad.join(' ')).toThrow(SweepError);
    }
  });

  it('ranks by net PnL, then the shallower drawdown; failed runs last', () => {
    const run = (v: string, netPnl: number | undefined, maxDrawdown = 0): SweepRun => ({
      point: [['strategy.kelly_fraction', v]],
      pid: 1,
      maxDrawdown,
      ...(netPnl === undefined ? { error: 'boom' } : { report: { netPnl, digest: v.padEnd(64, '0'), accuracy: {} } as BacktestReport }),
    });
    const ranked = rankRuns([run('a', 1), run('b', undefined), run('c', 5, -3), run('d', 5, -1)]);
    expect(ranked.map((r) => r.point[0]![1])).toEqual(['d', 'c', 'a', 'b']);
    const table = formatSweepTable(parseSweep(['strategy.kelly_fraction=a,b,c,d']), ranked).split('\n');
    expect(table[0]).toMatch(/^rank\s+strategy\.kelly_fraction\s+net PnL/);
    expect(table[1]).toMatch(/^\s+1\s+d\s+5\.00/);
    expect(table[4]).toContain('FAILED: boom');
  });
});

describe('kestrel backtest --sweep', () => {
  interface SweepOut {
    runs: Array<{ params: Record<string, string>; pid: number; report: BacktestReport }>;
    html: string;
    workers: number;
  }
  let out: SweepOut;
  let browser: Browser;

  beforeAll(async () => {
    const r = cli(
      'backtest',
      '--max-ticks',
      '20000',
      '--sweep',
      'strategy.kelly_fraction=0.1,0.25,0.5',
      '--sweep',
      'strategy.confidence_threshold=0.3,0.4',
      '--json',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    out = JSON.parse(r.stdout) as SweepOut;
    browser = await launchChromium();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('runs the 6 points in one worker process per core, ranked by net PnL', () => {
    expect(out.runs).toHaveLength(6);
    expect(out.workers).toBe(Math.min(os.availableParallelism(), 6));
    expect(new Set(out.runs.map((r) => r.pid)).size).toBe(out.workers);
    expect(out.runs.some((r) => r.pid === process.pid)).toBe(false);
    const pnl = out.runs.map((r) => r.report.netPnl);
    expect(pnl).toEqual(pnl.slice().sort((a, b) => b - a));
    // Different parameters, different decisions.
    expect(new Set(out.runs.map((r) => r.report.digest)).size).toBe(6);
  });

  it('each run has the digest of a single backtest with the same parameters', async () => {
    for (const run of out.runs) {
      const single = await runBacktest(
        loadConfig({
          env: {},
          overrides: {
            logging: { level: 'silent' },
            session: { mode: 'backtest', max_ticks: 20_000 },
            bus: { namespace: 'replay' },
            strategy: {
              kelly_fraction: Number(run.params['strategy.kelly_fraction']),
              confidence_threshold: Number(run.params['strategy.confidence_threshold']),
            },
          },
        }),
        {},
        { recorder: new BacktestRecorder() },
      );
      expect(single.digest, JSON.stringify(run.params)).toBe(run.report.digest);
      expect(single.netPnl).toBe(run.report.netPnl);
    }
  }, 120_000);

  it('writes one HTML comparison that renders every run offline', async () => {
    const page = await browser.newPage();
    const requests: string[] = [];
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url === pathToFileURL(out.html).href) return route.continue();
      requests.push(url);
      return route.abort();
    });
    await page.goto(pathToFileURL(out.html).href);
    await page.waitForFunction('window.kestrelReport && window.kestrelReport.ready === true', undefined, { timeout: 20_000 });
    const s = await page.evaluate<{ errors: string[]; charts: Record<string, { points: Record<string, number> }> }>('window.kestrelReport');
    expect(requests).toEqual([]);
    expect(s.errors).toEqual([]);
    const eq = Object.values(s.charts.equity!.points);
    expect(eq).toHaveLength(6);
    // Every run samples the same book ticks: each curve has as many points as a single run's.
    const recorder = new BacktestRecorder();
    await runBacktest(
      loadConfig({ env: {}, overrides: { logging: { level: 'silent' }, session: { max_ticks: 20_000 } } }),
      {},
      { recorder },
    );
    const samples = recorder.series().tMs.length;
    expect(samples).toBeGreaterThan(1000);
    expect(eq).toEqual(Array(6).fill(samples));
    expect(s.charts.pnl!.points).toEqual({ 'net PnL': 6 });
    const ranks = await page.evaluate<string[]>(
      `[...document.querySelectorAll('#ranking tbody tr')].map((r) => r.children[r.children.length - 2].textContent)`,
    );
    expect(ranks).toEqual(out.runs.map((r) => r.report.digest.slice(0, 16)));
    await page.close();
  });
});

describe('kestrel backtest --sweep failures', () => {
  it('exits 2 with one line naming a bad grid or a value the config refuses, before starting any worker', () => {
    const a = cli('backtest', '--sweep', 'kelly=0.1,0.2');
    expect(a.code).toBe(2);
    expect(a.stderr.trim().split('\n')).toEqual(["kestrel: --sweep needs section.key=v1,v2,..., got 'kelly=0.1,0.2'"]);
    const b = cli('backtest', '--sweep', 'strategy.kelly_fraction=0.1,lots');
    expect(b.code).toBe(2);
    expect(b.stderr.trim().split('\n')).toHaveLength(1);
    expect(b.stderr).toContain('strategy.kelly_fraction');
    const c = cli('backtest', '--set', 'strategy.kelly_fraction=0.2', '--sweep', 'strategy.kelly_fraction=0.1,0.3');
    expect(c.code).toBe(2);
    expect(c.stderr.trim()).toBe('kestrel: strategy.kelly_fraction is both --set and --sweep');
    const d = cli('backtest', '--workers', '2');
    expect(d.code).toBe(2);
    expect(d.stderr.trim()).toBe('kestrel: --workers applies to --sweep only');
  });

  it('a run that fails is reported in the table and the sweep exits 1; the other runs complete', () => {
    // JULIA_DIR at an empty directory makes the julia run fail on every machine, Julia hosts included.
    const saved = process.env.JULIA_DIR;
    process.env.JULIA_DIR = tmpDir('no-julia');
    let r: ReturnType<typeof cli>;
    try {
      r = cli('backtest', '--max-ticks', '2000', '--sweep', 'strategy.engine=native,julia');
    } finally {
      rmSync(process.env.JULIA_DIR, { recursive: true, force: true });
      if (saved === undefined) delete process.env.JULIA_DIR;
      else process.env.JULIA_DIR = saved;
    }
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines.find((l) => /^\s+1\s+native\s/.test(l))).toBeDefined();
    expect(lines.find((l) => /^\s+2\s+julia\s.*FAILED: /.test(l))).toBeDefined();
    expect(r.stderr.trim()).toBe('kestrel: 1 of 2 sweep runs failed (see the table)');
  });
});
