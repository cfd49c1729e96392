/**
 * `kestrel backtest --data` per input format: ticks/s and peak RSS of the whole backtest (a CLI
 * process per case, so each RSS is its own), and for raw recordings the cost of loading alone
 * (adapter + ingestion, no engine) to compare with. The scaled case repeats the real capture to
 * KESTREL_BENCH_BT_TICKS ticks (default 1,000,000; the scale test uses 10,000,000).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/index.js';
import { openRefData } from '../src/refdata/index.js';
import { expandInputs } from '../src/replay/data/inputs.js';
import { openFiles } from '../src/replay/data/sources.js';
import { sharedDataFile } from '../src/simulators/recordings.js';
import { CaptureReader } from '../src/storage/capture/reader.js';
import { writeScaledCapture } from './lib/scaled-capture.js';

const root = path.resolve(import.meta.dirname, '..');

interface Report {
  ticks: number;
  wallMs: number;
  peakRssMb: number;
  capture: string;
}

function backtest(...args: string[]): Report {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), 'backtest', '--json', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, KESTREL_LOG_LEVEL: 'silent' },
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`backtest ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Report;
}

/** Reading a `.kcap` alone: the object reader (a tick object + three BigInts per record) against the columnar one the backtest uses. */
async function kcapRead(file: string): Promise<{ objectsTicksPerSec: number; columnsTicksPerSec: number }> {
  const rate = async (read: (r: CaptureReader) => Promise<number>) => {
    const r = await CaptureReader.open(file);
    const t0 = performance.now();
    const n = await read(r);
    return Math.round(n / ((performance.now() - t0) / 1000));
  };
  const objects = () =>
    rate(async (r) => {
      let n = 0;
      for await (const b of r.batches()) n += b.length;
      return n;
    });
  const columns = () =>
    rate(async (r) => {
      let n = 0;
      for await (const c of r.columns()) n += c.count;
      return n;
    });
  // Interleaved, best of three each: the machine is shared.
  const o: number[] = [];
  const c: number[] = [];
  for (let k = 0; k < 3; k++) {
    o.push(await objects());
    c.push(await columns());
  }
  return { objectsTicksPerSec: Math.max(...o), columnsTicksPerSec: Math.max(...c) };
}

/** Adapter + ingestion only: what parsing the recording costs without the engine and simulation. */
async function loadOnly(files: string[], symbols?: string[]): Promise<{ ticks: number; ticksPerSec: number }> {
  const config = loadConfig({ env: {}, overrides: { logging: { level: 'silent' } } });
  const refdata = await openRefData(config.refdata.postgres_url || undefined);
  const t0 = performance.now();
  const data = await openFiles(expandInputs(files), { refdata, quality: {}, ...(symbols ? { symbols } : {}) });
  let ticks = 0;
  for await (const b of data.ticks) ticks += b.length;
  const s = (performance.now() - t0) / 1000;
  await refdata.close();
  return { ticks, ticksPerSec: Math.round(ticks / s) };
}

export async function run(): Promise<object> {
  const cases: Array<{ name: string; files: string[]; symbols?: string[] }> = [
    { name: 'binance-recv-lines-gzip', files: [sharedDataFile('binance', 'hftbacktest_spot_btcusdt_20240808.gz')] },
    { name: 'kraken-v2-book', files: [sharedDataFile('kraken', 'python-kraken-sdk_orderbook-v2_btcusd_20230730.json')] },
    { name: 'okx-v5-cryptofeed-jsonl', files: [sharedDataFile('okx', 'cryptofeed_okx_ws_20220513.jsonl')], symbols: ['BTC-USDT'] },
  ];
  const out: Record<string, unknown> = {
    load: `${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} (1/5/15 min load average at start)`,
  };
  let kcap = '';
  for (const c of cases) {
    const sym = c.symbols ? ['--symbols', c.symbols.join(',')] : [];
    const full = backtest(...c.files.flatMap((f) => ['--data', f]), ...sym);
    // Best of three, in this (warm) process: the floor the backtest's own parsing cannot beat.
    const loads = [await loadOnly(c.files, c.symbols), await loadOnly(c.files, c.symbols), await loadOnly(c.files, c.symbols)];
    const load = loads.reduce((a, b) => (b.ticksPerSec > a.ticksPerSec ? b : a));
    if (c.name.startsWith('binance')) kcap = full.capture;
    // The run's fixed part (reference data, ring region, engine thread, kernel and WAL set-up, the
    // report) from a run cut at a tenth of the ticks: what remains is the cost per tick, which is
    // what a longer recording pays.
    const cut = Math.max(1, Math.floor(full.ticks / 10));
    const short = backtest(...c.files.flatMap((f) => ['--data', f]), ...sym, '--max-ticks', String(cut));
    const perTickMs = (full.wallMs - short.wallMs) / (full.ticks - short.ticks);
    out[c.name] = {
      ticks: full.ticks,
      backtestTicksPerSec: Math.round(full.ticks / (full.wallMs / 1000)),
      loadOnlyTicksPerSec: load.ticksPerSec,
      backtestOverLoad: Number((load.ticksPerSec / (full.ticks / (full.wallMs / 1000))).toFixed(2)),
      // A few hundred ticks cannot separate the two parts (the timer noise is larger than the ticks).
      ...(full.ticks >= 10_000
        ? {
            fixedMs: Math.round(short.wallMs - short.ticks * perTickMs),
            backtestPerTickOverLoad: Number(((perTickMs * load.ticksPerSec) / 1000).toFixed(2)),
          }
        : {}),
      peakRssMb: full.peakRssMb,
    };
  }
  const n = Number(process.env.KESTREL_BENCH_BT_TICKS ?? 1_000_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kestrel-bt-bench-'));
  try {
    const big = path.join(dir, 'scaled.kcap');
    await writeScaledCapture(kcap, big, n);
    const r = backtest('--data', big);
    // A whole single `.kcap` input is its own capture (no copy written): only delete a copy.
    if (r.capture !== big) rmSync(r.capture, { force: true });
    out[`kcap-${n}`] = {
      ticks: r.ticks,
      backtestTicksPerSec: Math.round(r.ticks / (r.wallMs / 1000)),
      peakRssMb: r.peakRssMb,
      wroteCaptureCopy: r.capture !== big,
      readAlone: await kcapRead(big),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
