/**
 * `kestrel record` as a process against `kestrel run simulators` as another: the simulator drops every
 * connection once mid-recording (the recorder reconnects, resyncs and goes on), the recorder is
 * stopped with SIGTERM, and what it wrote is replayed by `kestrel backtest --data`: the same ticks.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RecordSummary } from '../../src/record/recorder.js';
import { kestrel, repoRoot, type KestrelProcess } from '../support/processes.js';
import { CLICKHOUSE_URL, requireServer } from '../support/servers.js';
import { tmpDir } from '../support/tmp.js';
import { eventually } from '../support/wait.js';

interface Announced {
  venue: string;
  wsUrl: string;
  restUrl: string;
  controlUrl: string;
}

const running: KestrelProcess[] = [];

async function startSimulators(): Promise<Record<string, Announced>> {
  const sims = kestrel(['run', 'simulators', '--pace', 'accelerated', '--speed', '10']);
  running.push(sims);
  await sims.line(/"service":"simulators"/, 60_000);
  return Object.fromEntries(
    sims.stdout
      .filter((l) => l.startsWith('{"venue"'))
      .map((l) => JSON.parse(l) as Announced)
      .map((a) => [a.venue, a]),
  );
}

function endpointSets(pub: Record<string, Announced>): string[] {
  return [
    `venues.binance.endpoints.public_ws=${pub.binance!.wsUrl}`,
    `venues.binance.endpoints.public_rest=${pub.binance!.restUrl}`,
    `venues.kraken.endpoints.public_ws=${pub.kraken!.wsUrl}`,
    `venues.okx.endpoints.public_ws=${pub.okx!.wsUrl}`,
    `venues.okx.endpoints.public_rest=${pub.okx!.restUrl}`,
  ].flatMap((s) => ['--set', s]);
}
afterAll(async () => {
  for (const p of running) await p.stop();
});

/** One labelled sample of a Prometheus text exposition, or undefined. */
function sample(metrics: string, name: string, labels: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('kestrel record', () => {
  it('records three venues through a disconnect into .kcap files that kestrel backtest replays tick for tick', async () => {
    const pub = await startSimulators();
    const dir = tmpDir('record');
    const out = path.join(dir, 'capture');
    const rec = kestrel([
      'record',
      '--venues',
      'binance,kraken,okx',
      '--symbols',
      'BTC-USDT,BTC-USD',
      '--out',
      out,
      '--json',
      ...[
        'admin.port=0',
        `venues.binance.endpoints.public_ws=${pub.binance!.wsUrl}`,
        `venues.binance.endpoints.public_rest=${pub.binance!.restUrl}`,
        `venues.kraken.endpoints.public_ws=${pub.kraken!.wsUrl}`,
        `venues.okx.endpoints.public_ws=${pub.okx!.wsUrl}`,
        `venues.okx.endpoints.public_rest=${pub.okx!.restUrl}`,
      ].flatMap((s) => ['--set', s]),
    ]);
    running.push(rec);
    const adminUrl = (await rec.line(/health and metrics (http:\/\/\S+)/, 60_000))[1]!;
    const metrics = async () => (await fetch(`${adminUrl}/metrics`)).text();
    const recorded = async (venue: string) => sample(await metrics(), 'kestrel_record_ticks_total', `venue="${venue}"`) ?? 0;
    const ready = await fetch(`${adminUrl}/health/live`);
    expect(ready.status).toBe(200);
    await eventually(async () => (await recorded('binance')) > 500, 30_000, 'binance ticks recorded');
    const before = await recorded('binance');

    // The venue drops every connection once: the recorder reconnects and keeps recording.
    const fault = await fetch(`${pub.binance!.controlUrl}/fault`, { method: 'POST', body: JSON.stringify({ kind: 'drop' }) });
    expect(fault.status).toBe(200);
    await eventually(async () => (sample(await metrics(), 'kestrel_record_stream', 'field="reconnects"') ?? 0) >= 1, 30_000, 'a reconnect');
    await eventually(async () => (await recorded('binance')) > before + 500, 30_000, 'ticks after the reconnect');
    for (const v of ['kraken', 'okx']) expect(await recorded(v), v).toBeGreaterThan(0);

    rec.child.kill('SIGTERM');
    expect(await rec.exited).toBe(0);
    const summary = JSON.parse(rec.stdout.find((l) => l.startsWith('{"ticks"'))!) as RecordSummary;
    expect(summary.ticks).toBeGreaterThan(1000);
    expect(summary.files.length).toBeGreaterThanOrEqual(1);
    for (const f of summary.files) {
      expect(f.startsWith(out)).toBe(true);
      expect(existsSync(f)).toBe(true);
    }
    const binance = summary.streams.find((s) => s.venue === 'binance')!;
    // Nothing dropped by the gates here: every tick the adapters delivered was recorded.
    expect(Object.values(summary.dropped).reduce((a, b) => a + b, 0)).toBe(0);
    expect(summary.streams.reduce((a, s) => a + s.ticks, 0)).toBe(summary.ticks);
    expect(binance.reconnects).toBeGreaterThanOrEqual(1);
    expect(binance.resyncs).toBeGreaterThanOrEqual(1);

    // What was recorded is what the backtest reads.
    const bt = kestrel([
      'backtest',
      ...summary.files.flatMap((f) => ['--data', f]),
      '--json',
      '--set',
      `storage.capture_dir=${path.join(dir, 'bt')}`,
    ]);
    running.push(bt);
    expect(await bt.exited).toBe(0);
    const report = JSON.parse(bt.stdout.find((l) => l.startsWith('{'))!) as {
      ticks: number;
      streams: Array<{ venue: string; ticks: number }>;
    };
    expect(report.ticks).toBe(summary.ticks);
    expect(new Set(report.streams.map((s) => s.venue))).toEqual(new Set(['binance', 'kraken', 'okx']));
  }, 240_000);

  it('on a terminal: a status line per stream (msgs/s, gaps, resyncs, reconnects)', async () => {
    const pub = await startSimulators();
    const out = path.join(tmpDir('record-tty'), 'capture');
    const args = [
      'record',
      '--venues',
      'binance,okx',
      '--symbols',
      'BTC-USDT',
      '--out',
      out,
      '--set',
      'admin.port=-1',
      ...endpointSets(pub),
    ];
    const cmd = ['timeout', '-s', 'TERM', '6', process.execPath, '--import', 'tsx', 'src/cli/main.ts', ...args]
      .map((a) => `'${a}'`)
      .join(' ');
    const r = spawnSync('script', ['-qfec', cmd, '/dev/null'], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
    const tty = r.stdout + r.stderr;
    expect(tty).toMatch(
      /\[record\] \d+ ticks -> ticks-\d{8}T\d{6}Z\.kcap \| \w+ \d+ msg\/s, \d+ gaps, \d+ resyncs, \d+ reconnects \| \w+ \d+ msg\/s/,
    );
    expect(tty).toMatch(/kestrel record: \d+ ticks recorded/);
    expect(tty).not.toMatch(/\{"level":/);
  }, 120_000);

  it('--clickhouse: the ticks table gets exactly the ticks the .kcap files got', async () => {
    if (!(await requireServer('ClickHouse', CLICKHOUSE_URL))) return;
    const pub = await startSimulators();
    const db = `kestrel_record_${process.pid}`;
    const query = async (sql: string) => {
      const r = await fetch(`${CLICKHOUSE_URL}/?query=${encodeURIComponent(sql)}`, { method: 'POST' });
      expect(r.status, await r.clone().text()).toBe(200);
      return (await r.text()).trim();
    };
    try {
      const out = path.join(tmpDir('record-ch'), 'capture');
      const rec = kestrel([
        'record',
        '--venues',
        'binance,kraken,okx',
        '--symbols',
        'BTC-USDT,BTC-USD',
        '--out',
        out,
        '--clickhouse',
        CLICKHOUSE_URL,
        '--json',
        '--set',
        'admin.port=-1',
        '--set',
        `storage.clickhouse_database=${db}`,
        ...endpointSets(pub),
      ]);
      running.push(rec);
      await rec.line(/kestrel: recording /, 60_000);
      await new Promise((r) => setTimeout(r, 4000));
      rec.child.kill('SIGTERM');
      expect(await rec.exited).toBe(0);
      const summary = JSON.parse(rec.stdout.find((l) => l.startsWith('{"ticks"'))!) as RecordSummary;
      expect(summary.ticks).toBeGreaterThan(0);
      expect(summary.clickhouse).toBe(CLICKHOUSE_URL);
      expect(Number(await query(`SELECT count() FROM ${db}.ticks`))).toBe(summary.ticks);
      expect(await query(`SELECT arrayStringConcat(arraySort(groupUniqArray(venue)), ',') FROM ${db}.ticks`)).toBe('binance,kraken,okx');
    } finally {
      await query(`DROP DATABASE IF EXISTS ${db}`);
    }
  }, 240_000);
});
