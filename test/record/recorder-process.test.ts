/**
 * `kestrel run recorder` as its own OS process: ticks published on md.norm over a real NATS land in
 * the real ClickHouse `ticks` table, and `kestrel backtest --from clickhouse` over their time range
 * replays exactly them — the same ticks and decision digest as a backtest of a capture file holding
 * the same ticks. SIGTERM commits what is buffered and exits 0; health and metrics answer.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsBus } from '../../src/bus/nats-bus.js';
import { VENUE_IDS, subjects, type NormalizedTick } from '../../src/contracts/index.js';
import { encodeTickProto } from '../../src/ingestion/wire.js';
import { CaptureWriter } from '../../src/storage/capture/writer.js';
import { startOwnNats, type OwnNats } from '../support/nats-server.js';
import { kestrel, repoRoot } from '../support/processes.js';
import { CLICKHOUSE_URL, requireServer } from '../support/servers.js';
import { writeServiceConfig } from '../support/service-config.js';
import { tmpDir } from '../support/tmp.js';

const chUp = await requireServer('ClickHouse', CLICKHOUSE_URL);

/** A mean-reverting BTC-USDT book, 10 ms apart (deterministic). */
function ticks(n: number, startNs: bigint): NormalizedTick[] {
  const out: NormalizedTick[] = [];
  let mid = 60_000;
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    mid += (x / 2 ** 31 - 0.5) * 20 + (60_000 - mid) * 0.05;
    const ts = startNs + BigInt(i) * 10_000_000n;
    out.push({
      exchTsNs: ts,
      recvTsNs: ts + 1_000_000n,
      venueId: VENUE_IDS.binance,
      symbolId: 1,
      venue: 'binance',
      symbol: 'BTC-USDT',
      bid: Math.round((mid - 0.5) * 100) / 100,
      ask: Math.round((mid + 0.5) * 100) / 100,
      bidSize: 1 + (i % 7),
      askSize: 1 + (i % 5),
      sequence: BigInt(i + 1),
      flags: 0,
      lastPx: 0,
      lastQty: 0,
      aggressor: 0,
    });
  }
  return out;
}

describe.skipIf(!chUp)('kestrel run recorder (md.norm → ClickHouse)', () => {
  const DB = `kestrel_rec_${process.pid}_${Date.now().toString(36)}`;
  let nats: OwnNats | undefined;
  let bus: NatsBus;
  let dir: string;

  beforeAll(async () => {
    nats = await startOwnNats();
    if (!nats) return;
    bus = await NatsBus.connect({ servers: nats.url });
    dir = tmpDir('kestrel-recorder-');
  });

  afterAll(async () => {
    await bus?.close();
    await nats?.stop();
    const admin = createClient({ url: CLICKHOUSE_URL });
    await admin.command({ query: `DROP DATABASE IF EXISTS ${DB}` });
    await admin.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const backtest = (...args: string[]) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'backtest', '--json', ...args], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, KESTREL_LOG_LEVEL: 'error' },
    });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { ticks: number; digest: string };
  };

  it('records the bus ticks that backtest --from clickhouse reads, like a capture of the same ticks', { timeout: 180_000 }, async () => {
    if (!nats) return;
    const cfg = writeServiceConfig(path.join(dir, 'kestrel.yaml'), {
      bus: { nats_url: nats.url },
      storage: { clickhouse_url: CLICKHOUSE_URL, clickhouse_database: DB },
    });
    const rec = kestrel(['run', 'recorder', '--config', cfg]);
    const url = (await rec.line(/"event":"ready".*"adminUrl":"([^"]+)"/, 60_000))[1]!;
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);

    const start = 1_723_100_000_000_000_000n;
    const all = ticks(3000, start);
    for (let i = 0; i < all.length; i += 500) {
      for (const t of all.slice(i, i + 500)) bus.publish(subjects.mdNorm(t.venue, t.symbol, 'live'), encodeTickProto(t));
      await bus.flush();
    }
    // A tick's round trip through the server: everything published is delivered before SIGTERM.
    await new Promise((r) => setTimeout(r, 500));
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/clickhouse_rows_inserted_total/);
    rec.child.kill('SIGTERM');
    expect(await rec.exited, rec.stderr()).toBe(0);
    const stopped = JSON.parse(rec.stdout.find((l) => l.includes('"event":"stopped"'))!) as { inserted: number };
    expect(stopped.inserted).toBe(3000);

    const capture = path.join(dir, 'same.kcap');
    const w = CaptureWriter.open(capture, { createdNs: start });
    for (const t of all) w.push(t);
    w.close();
    const fromFile = backtest('--data', capture);
    const fromCh = backtest(
      '--from',
      'clickhouse',
      '--start',
      String(start),
      '--end',
      String(all.at(-1)!.exchTsNs + 1n),
      '--set',
      `storage.clickhouse_url=${CLICKHOUSE_URL}`,
      '--set',
      `storage.clickhouse_database=${DB}`,
    );
    expect(fromCh.ticks).toBe(3000);
    expect(fromCh.ticks).toBe(fromFile.ticks);
    expect(fromCh.digest).toBe(fromFile.digest);
  });
});
