/**
 * `kestrel backtest --data` / `--from clickhouse` through the CLI, on the real recordings of
 * ../shared/data and on variants made from them here (split into consecutive files, renamed to
 * another symbol, cut). Every failure case must be one stderr line naming the file, exit 1.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureReader } from '../../src/storage/capture/reader.js';
import { ClickHouseTickWriter } from '../../src/storage/clickhouse/writer.js';
import { sharedDataFile } from '../../src/simulators/recordings.js';
import { writeScaledCapture } from '../../bench/lib/scaled-capture.js';
import { CLICKHOUSE_URL, requireServer } from '../support/servers.js';
import { tmpDir } from '../support/tmp.js';

const root = path.resolve(import.meta.dirname, '../..');
const BINANCE = sharedDataFile('binance', 'hftbacktest_spot_btcusdt_20240808.gz');
const KRAKEN = sharedDataFile('kraken', 'python-kraken-sdk_orderbook-v2_btcusd_20230730.json');
const OKX_TEXT = sharedDataFile('okx', 'cryptofeed_OKX.ws.1.0_20220513.txt');
const OKX_JSONL = sharedDataFile('okx', 'cryptofeed_okx_ws_20220513.jsonl');
const TARDIS = sharedDataFile('tardis', 'bitmex_trades_XBTUSD.csv');

interface Report {
  ticks: number;
  signals: number;
  digest: string;
  capture: string;
  streams: Array<{ venue: string; symbol: string; ticks: number }>;
  inputs: Array<{ file: string; format: string; ticks: number }>;
  boundaries: Array<{ from: string; to: string; continuous: boolean; detail: string }>;
  peakRssMb: number;
}

function cli(...args: string[]) {
  return cliEnv({}, ...args);
}

function cliEnv(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), 'backtest', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, KESTREL_LOG_LEVEL: 'silent', ...env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function run(...args: string[]): Report {
  const r = cli('--json', ...args);
  if (r.code !== 0) throw new Error(`backtest failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Report;
}

/** A data failure: exit 1 and exactly one stderr line, which names the file and matches `problem`. */
function expectOneLineError(args: string[], file: string, problem: RegExp) {
  const r = cli(...args);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(file);
  expect(lines[0]).toMatch(problem);
}

let dir: string;
let lines: string[];
const fx = (name: string) => path.join(dir, name);

beforeAll(() => {
  dir = tmpDir('bt-data');
  lines = gunzipSync(readFileSync(BINANCE))
    .toString('utf8')
    .split('\n')
    .filter((l) => l.length > 0);
  const part = lines.slice(0, 12_000);
  // Deliberately misleading names: the format is read from the content.
  writeFileSync(fx('day.csv'), `${part.join('\n')}\n`);
  writeFileSync(fx('day-1.bin'), `${part.slice(0, 6000).join('\n')}\n`);
  writeFileSync(fx('day-2.bin'), gzipSync(`${part.slice(6000).join('\n')}\n`));
  // The same day with 40 depth diffs missing right after the boundary: the book cannot carry over.
  let dropped = 0;
  const gapped = part.slice(6000).filter((l) => !(l.includes('@depth') && dropped++ < 40));
  writeFileSync(fx('gap-2.bin'), `${gapped.join('\n')}\n`);
  // Another symbol in the same format, made from the real capture.
  const rename = (sym: string) =>
    part.map((l) => l.replaceAll('btcusdt@', `${sym.toLowerCase()}@`).replaceAll('"s":"BTCUSDT"', `"s":"${sym}"`)).join('\n');
  writeFileSync(fx('ethusdt.txt'), gzipSync(`${rename('ETHUSDT')}\n`));
  writeFileSync(fx('xrpusdt.txt'), `${rename('XRPUSDT')}\n`);
  mkdirSync(fx('shared/data/binance'), { recursive: true });
  writeFileSync(fx('shared/data/binance/hftbacktest_spot_btcusdt_20240808.gz'), gzipSync(`${rename('ETHUSDT')}\n`));
  const okx = readFileSync(OKX_JSONL, 'utf8').split('\n');
  writeFileSync(fx('okx-torn.jsonl'), `${okx.slice(0, 60).join('\n')}\n{"local_ts":1652459230.1,"dir":"recv","msg":{"arg":\n`);
  writeFileSync(fx('empty.txt'), '');
  writeFileSync(fx('blank.gz'), gzipSync('\n\n'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('backtest --data: every recording format of ../shared/data', { timeout: 180_000 }, () => {
  it('replays a Binance recording, plain or gzip, whatever its name, with the default digest', () => {
    const plain = run('--data', fx('day.csv'));
    expect(plain.inputs).toEqual([{ file: fx('day.csv'), format: 'binance-recv-lines', ticks: plain.ticks }]);
    expect(plain.streams.map((s) => `${s.venue} ${s.symbol}`)).toEqual(['binance BTC-USDT']);
    expect(plain.ticks).toBeGreaterThan(10_000);
    expect(plain.peakRssMb).toBeGreaterThan(0);
    // The bundled recording by path gives exactly what the default (no --data) backtest gives.
    const bundled = run('--data', BINANCE, '--max-ticks', '20000');
    const dflt = run('--max-ticks', '20000');
    expect(bundled.digest).toBe(dflt.digest);
    expect(bundled.ticks).toBe(20_000);
    expect(dflt.signals).toBeGreaterThan(0);
  });

  it('names the symbol of the data: another Binance symbol is backtested as that symbol', () => {
    // Before --data, a recording of another symbol gave a "BTC-USDT recording" summary of 1 tick.
    const r = run('--data', fx('ethusdt.txt'));
    expect(r.streams.map((s) => `${s.venue} ${s.symbol}`)).toEqual(['binance ETH-USDT']);
    expect(r.ticks).toBeGreaterThan(10_000);
    const text = cli('--data', fx('ethusdt.txt'));
    expect(text.stdout).toContain('binance ETH-USDT');
    expect(text.stdout).not.toContain('BTC-USDT');
  });

  it('the default backtest reads the symbol from the recording instead of assuming BTC-USDT', () => {
    // The reported bug: a Binance recording of another symbol in the bundled recording's place gave a
    // "binance BTC-USDT recording" summary of 1 tick and exit 0.
    const r = cliEnv({ KESTREL_SHARED_DIR: fx('shared') }, '--json');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.streams.map((s) => `${s.venue} ${s.symbol}`)).toEqual(['binance ETH-USDT']);
    expect(rep.ticks).toBeGreaterThan(10_000);
  });

  it('replays the Kraken v2 book capture through the Kraken adapter (checksums verified)', () => {
    const r = run('--data', KRAKEN);
    expect(r.inputs[0]!.format).toBe('kraken-v2-book');
    expect(r.streams.map((s) => `${s.venue} ${s.symbol}`)).toEqual(['kraken BTC-USD']);
    // 510 book messages; a tick only where the touch changed.
    expect(r.ticks).toBeGreaterThan(100);
  });

  it('replays the OKX v5 recording in both of its encodings to the same ticks and digest', () => {
    const text = run('--data', OKX_TEXT, '--symbols', 'BTC-USDT');
    const jsonl = run('--data', OKX_JSONL, '--symbols', 'BTC-USDT');
    expect(text.inputs[0]!.format).toBe('okx-v5-cryptofeed-text');
    expect(jsonl.inputs[0]!.format).toBe('okx-v5-cryptofeed-jsonl');
    expect(text.streams).toEqual([{ ...text.streams[0], venue: 'okx', symbol: 'BTC-USDT' }]);
    expect(text.ticks).toBeGreaterThan(100);
    expect(jsonl.ticks).toBe(text.ticks);
    expect(jsonl.digest).toBe(text.digest);
  });

  it('backtests its own .kcap capture to the same decisions as the run that wrote it', async () => {
    const first = run('--data', fx('day.csv'));
    let n = 0;
    for await (const _t of (await CaptureReader.open(first.capture)).ticks()) n++;
    expect(n).toBe(first.ticks);
    const again = run('--data', first.capture);
    expect(again.inputs[0]!.format).toBe('kcap');
    expect(again.ticks).toBe(first.ticks);
    expect(again.digest).toBe(first.digest);
    // A whole .kcap input already is the capture of what was traded: named, not copied.
    expect(again.capture).toBe(first.capture);
    // Filtered, it is not the same tick set any more: a fresh capture of what was traded.
    const filtered = run('--data', first.capture, '--symbols', 'BTC-USDT');
    expect(filtered.capture).not.toBe(first.capture);
    let m = 0;
    for await (const _t of (await CaptureReader.open(filtered.capture)).ticks()) m++;
    expect(m).toBe(filtered.ticks);
    expect(filtered.digest).toBe(first.digest);
  });
});

describe('backtest --data: several files', { timeout: 180_000 }, () => {
  it('plays two consecutive files as one day: book carried over, same digest as the whole', () => {
    const whole = run('--data', fx('day.csv'));
    // Given in the wrong order and one of them gzip: ordered by time, chained through one adapter.
    const split = run('--data', fx('day-2.bin'), '--data', fx('day-1.bin'));
    expect(split.inputs.map((i) => path.basename(i.file))).toEqual(['day-2.bin', 'day-1.bin']);
    expect(split.boundaries).toEqual([
      { venue: 'binance', from: fx('day-1.bin'), to: fx('day-2.bin'), continuous: true, detail: expect.any(String) },
    ]);
    expect(split.ticks).toBe(whole.ticks);
    expect(split.digest).toBe(whole.digest);
  });

  it('reports a boundary where the book does not carry over, and warns on stderr', () => {
    const r = cli('--json', '--data', fx('day-1.bin'), '--data', fx('gap-2.bin'));
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.boundaries).toHaveLength(1);
    expect(rep.boundaries[0]!.continuous).toBe(false);
    expect(rep.boundaries[0]!.detail).toMatch(/gap/);
    expect(r.stderr).toMatch(/day-1\.bin -> .*gap-2\.bin: book not continuous/);
  });

  it('expands directories and globs', () => {
    const r = run('--data', path.join(dir, 'day-?.bin'));
    expect(r.inputs.map((i) => path.basename(i.file))).toEqual(['day-1.bin', 'day-2.bin']);
  });

  it('runs 3 venues at once, merged by receive time, each (venue, symbol) on its own ring, deterministically', () => {
    const args = ['--data', fx('day-1.bin'), '--data', KRAKEN, '--data', OKX_JSONL, '--symbols', 'BTC-USDT,BTC-USD'];
    const a = run(...args);
    expect(a.streams.map((s) => `${s.venue} ${s.symbol}`).sort()).toEqual(['binance BTC-USDT', 'kraken BTC-USD', 'okx BTC-USDT']);
    for (const s of a.streams) expect(s.ticks).toBeGreaterThan(50);
    expect(a.ticks).toBe(a.streams.reduce((x, s) => x + s.ticks, 0));
    // Merged by receive time: the capture of the replay input never goes back in time.
    const b = run(...args);
    expect(b.digest).toBe(a.digest);
    expect(b.ticks).toBe(a.ticks);
  });

  it('keeps the merged stream in receive-time order', async () => {
    const r = run('--data', fx('day-1.bin'), '--data', KRAKEN, '--data', OKX_JSONL, '--symbols', 'BTC-USDT,BTC-USD');
    let last = 0n;
    const venues = new Set<string>();
    for await (const t of (await CaptureReader.open(r.capture)).ticks()) {
      expect(t.recvTsNs >= last).toBe(true);
      last = t.recvTsNs;
      venues.add(t.venue);
    }
    expect([...venues].sort()).toEqual(['binance', 'kraken', 'okx']);
  });
});

describe('backtest --data: each failure is one line naming the file, exit 1', { timeout: 180_000 }, () => {
  it('refuses a symbol reference data does not know', () => {
    expectOneLineError(['--data', fx('xrpusdt.txt')], fx('xrpusdt.txt'), /binance symbol XRPUSDT is not in reference data/);
    expectOneLineError(['--data', OKX_TEXT], OKX_TEXT, /okx symbol (BTC-USD-220527|UNI-USD-SWAP) is not in reference data/);
  });

  it('refuses data of no known format, naming what is known', () => {
    expectOneLineError(['--data', TARDIS], TARDIS, /data of no known format .*known: Binance/);
  });

  it('refuses a torn recording, naming the line', () => {
    expectOneLineError(['--data', fx('okx-torn.jsonl'), '--symbols', 'BTC-USDT'], fx('okx-torn.jsonl'), /line 61: unreadable/);
  });

  it('refuses an empty file, plain or gzip', () => {
    expectOneLineError(['--data', fx('empty.txt')], fx('empty.txt'), /empty file/);
    expectOneLineError(['--data', fx('blank.gz')], fx('blank.gz'), /empty file/);
  });

  it('refuses --symbols that select nothing in the data, and paths that match nothing', () => {
    expectOneLineError(['--data', fx('day-1.bin'), '--symbols', 'ETH-USDT'], fx('day-1.bin'), /none of --symbols ETH-USDT in this file/);
    expectOneLineError(['--data', path.join(dir, 'nothing-*.rec')], path.join(dir, 'nothing-*.rec'), /no file matches/);
  });
});

describe('backtest: streaming', { timeout: 180_000 }, () => {
  it('shows a progress line with ticks/s on a terminal and reports its peak RSS on a long input', async () => {
    const first = run('--data', fx('day-1.bin'));
    const big = fx('long.kcap');
    const n = await writeScaledCapture(first.capture, big, 400_000);
    // `script` gives the CLI a pseudo-terminal: the progress line is only drawn on a TTY.
    const cmd = [process.execPath, '--import', 'tsx', path.join(root, 'src/cli/main.ts'), 'backtest', '--data', big]
      .map((a) => `'${a}'`)
      .join(' ');
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, KESTREL_LOG_LEVEL: 'silent' },
      timeout: 300_000,
    });
    expect(r.status).toBe(0);
    const out = r.stdout.replace(/\r/g, '\n');
    expect(out).toMatch(new RegExp(`${n.toLocaleString('en-US')} ticks, [\\d,]+ ticks/s 100%`));
    expect(out).toMatch(new RegExp(`ticks +${n}\\n`));
    expect(out).toMatch(/peak RSS \d+ MiB/);
    rmSync(big);
  });
});

const chUp = await requireServer('ClickHouse', CLICKHOUSE_URL);
describe.skipIf(!chUp)('backtest --from clickhouse', { timeout: 180_000 }, () => {
  const DB = `kestrel_bt_${process.pid}_${Date.now().toString(36)}`;
  const ch = ['--set', `storage.clickhouse_url=${CLICKHOUSE_URL}`, '--set', `storage.clickhouse_database=${DB}`];
  afterAll(async () => {
    const admin = createClient({ url: CLICKHOUSE_URL });
    await admin.command({ query: `DROP DATABASE IF EXISTS ${DB}` });
    await admin.close();
  });

  it('backtests what the session stored over a time range, like the capture it came from', async () => {
    const fromFile = run('--data', fx('day-1.bin'));
    const w = await ClickHouseTickWriter.connect({ url: CLICKHOUSE_URL, database: DB });
    let first = 0n;
    let last = 0n;
    for await (const t of (await CaptureReader.open(fromFile.capture)).ticks()) {
      w.push(t);
      if (first === 0n || t.exchTsNs < first) first = t.exchTsNs;
      if (t.exchTsNs > last) last = t.exchTsNs;
    }
    await w.close();
    const r = run('--from', 'clickhouse', '--start', String(first), '--end', String(last + 1n), ...ch);
    expect(r.ticks).toBe(fromFile.ticks);
    expect(r.digest).toBe(fromFile.digest);
    expect(r.streams.map((s) => `${s.venue} ${s.symbol}`)).toEqual(['binance BTC-USDT']);

    expectOneLineError(
      ['--from', 'clickhouse', '--start', '2020-01-01T00:00:00Z', '--end', '2020-01-02T00:00:00Z', ...ch],
      `${DB}.ticks`,
      /no ticks in this time range/,
    );
  });
});
