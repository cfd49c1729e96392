/**
 * Time has two sources in src/, both in src/clock/: the injected `Clock` (every stamp and every time
 * a trading decision reads: system clock live, virtual clock in replays and tests) and
 * `monotonic.ts` (real elapsed time for measurement and I/O pacing only). Nothing else in src/ may
 * read the host's clocks, so a virtual clock cannot be bypassed by accident.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../src');

/** Host clock reads, in every spelling the runtime offers. */
const RAW_TIME_SOURCES: ReadonlyArray<[string, RegExp]> = [
  ['Date.now', /\bDate\.now\b/],
  ['new Date()', /\bnew\s+Date\s*\(\s*\)/],
  ['Date()', /(?<!new\s+|\.)\bDate\s*\(\s*\)/],
  ['process.hrtime', /\bhrtime\b/],
  ['performance.now', /\bperformance\s*\.\s*(now|timeOrigin)\b|perf_hooks/],
  ['process.uptime', /\bprocess\.uptime\b/],
];

/** Where host clocks may be read: the clock implementations themselves. */
const RAW_ALLOWED = ['clock/'];

/**
 * Readers of real elapsed time (src/clock/monotonic.ts), each with why it is not trading time.
 * A new entry needs the same justification: if a virtual clock should drive it, use the Clock.
 */
const MONOTONIC_READERS: Readonly<Record<string, string>> = {
  'venues/binance/market-data.ts': 'REST latency histogram',
  'venues/okx/market-data.ts': 'REST latency histogram',
  'cli/main.ts': 'wall time of a sweep, for the table',
  'cli/supervisor.ts': "a supervised process's uptime, for its restart backoff (process supervision, not trading)",
  'execution/wal/segment-log.ts': 'fdatasync / background flush cost statistics',
  'execution/leader/lease.ts': "lease deadline against the NATS server's key TTL: real elapsed time, even under a virtual trading clock",
  'ingestion/service.ts': 'throttle of an operator-facing error log line',
  'ingestion/main.ts': '`run md --data --rate N`: pacing a replay against the host (as replay-feed.ts)',
  'replay/backtest.ts': 'wall time of the run, for the report',
  'session/trading-session.ts': 'wall time of the session, for the summary',
  'simulators/matching/replay-feed.ts': 'pacing a replay at recorded speed against the host',
  'simulators/private/core.ts': 'bench probe: frame arrival time, compared across processes',
  'storage/clickhouse/writer.ts': 'batch age and insert deadline against the database, insert latency histogram',
};

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'gen' ? [] : sourceFiles(p);
    return /\.(ts|mts|cts|js|mjs)$/.test(e.name) ? [p] : [];
  });
}

function rel(file: string): string {
  return path.relative(SRC, file).split(path.sep).join('/');
}

/** `file:line: what` for every host-clock read in `text`. */
function rawTimeReads(name: string, text: string): string[] {
  const hits: string[] = [];
  text.split('\n').forEach((line, i) => {
    for (const [what, re] of RAW_TIME_SOURCES) if (re.test(line)) hits.push(`${name}:${i + 1}: ${what}`);
  });
  return hits;
}

describe('time sources in src/', () => {
  const files = sourceFiles(SRC);

  it('the scanner finds every spelling of a host-clock read (and not a formatted date)', () => {
    const planted = [
      'const a = Date.now();',
      'const b = new Date();',
      'const c = Date();',
      'const d = process.hrtime.bigint();',
      "import { hrtime } from 'node:process';",
      'const e = performance.now();',
      "import { performance } from 'node:perf_hooks';",
      'const f = process.uptime();',
    ].join('\n');
    expect(rawTimeReads('planted.ts', planted)).toHaveLength(8);
    expect(rawTimeReads('ok.ts', 'new Date(ms).toISOString(); Date.parse(s); Date.UTC(2024, 0, 1); clock.nowNs();')).toEqual([]);
  });

  it('reads host clocks only in src/clock/', () => {
    expect(files.length).toBeGreaterThan(100);
    const hits = files
      .filter((f) => !RAW_ALLOWED.some((a) => rel(f).startsWith(a)))
      .flatMap((f) => rawTimeReads(rel(f), fs.readFileSync(f, 'utf8')));
    expect(hits).toEqual([]);
  });

  it('reads real elapsed time only where listed, never in the trading path', () => {
    const readers = files
      .filter((f) => !rel(f).startsWith('clock/') && /clock\/monotonic\.js['"]/.test(fs.readFileSync(f, 'utf8')))
      .map(rel)
      .sort();
    expect(readers).toEqual(Object.keys(MONOTONIC_READERS).sort());
    // Decisions and stamps of the trading path: executor, risk, positions, breakers, order entry, matching.
    // src/venues/ is order entry except each venue's public market-data adapter (venues/<venue>/market-data.ts).
    const tradingPath =
      /^(execution\/(?!wal\/segment-log|leader\/lease)|risk\/|positions\/|circuit\/|control\/|venues\/(?![^/]+\/market-data\.ts$)|simulators\/matching\/engine)/;
    expect(readers.filter((r) => tradingPath.test(r))).toEqual([]);
  });

  it('leaves the executor no time source of its own', () => {
    const types = fs.readFileSync(path.join(SRC, 'execution/types.ts'), 'utf8');
    expect(types).not.toMatch(/export function nowNs/);
    // The executor and the files split out of it (src/execution/executor/).
    const dir = path.join(SRC, 'execution/executor');
    const executor = [path.join(SRC, 'execution/executor.ts'), ...fs.readdirSync(dir).map((f) => path.join(dir, f))]
      .map((f) => fs.readFileSync(f, 'utf8'))
      .join('\n');
    expect(executor).not.toMatch(/(?<![.\w])nowNs\(\)/);
    expect(executor).toMatch(/clock: Clock;/);
  });
});
