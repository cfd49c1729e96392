/**
 * Market data adapter benchmark: parse + validate + book update + integrity check + normalize, per
 * venue, on the real recordings, driven through each adapter's frame entry point (`handleRaw`, what
 * the socket calls) without a socket so the figure is the adapter's own cost.
 *
 * - Binance: the whole 346 s capture (41,248 stream frames + its REST snapshot), U/u checked.
 * - Kraken: the CRC32-verified BTC/USD book (snapshot + 509 updates), every checksum computed.
 * - OKX: the 2022 recording (books with checksums and seqId chain, trades), 3 instruments.
 * Each pass uses a fresh adapter so every pass rebuilds the book from the snapshot; per-message
 * latency is an HDR histogram of single handleRaw calls (timer overhead included, ~40 ns here).
 * `ratio_to_parse_floor` is the adapter's time over `JSON.parse` of the same frames, passes
 * alternating (issue 15 item 2: ≤ 1.5); bench/adapters-breakdown.ts gives the breakdown.
 */
import { systemClock } from '../src/clock/clock.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BinanceAdapter } from '../src/venues/binance/market-data.js';
import type { BaseAdapter } from '../src/venues/common/base-adapter.js';
import type { MarketDataSink } from '../src/venues/common/adapter-types.js';
import { BinanceSimulator } from '../src/venues/binance/simulator/market-data.js';
import { feed, recordingWorkloads, type RecordedFrame } from './lib/adapter-recordings.js';
import { latencyHistogram, summarize } from './lib/hdr.js';

interface Workload {
  venue: string;
  frames: RecordedFrame[];
  make(sink: MarketDataSink): BaseAdapter;
  check(a: BaseAdapter): void;
}

const checks: Record<string, (a: BaseAdapter) => void> = {
  binance: (a) => {
    const s = a.stats();
    if (s.gaps !== 0 || s.parseErrors !== 0 || (a as BinanceAdapter).appliedUpdates('BTCUSDT') < 3000)
      throw new Error(`binance run not clean: ${JSON.stringify(s, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
  },
  kraken: (a) => {
    const s = a.stats();
    if (s.checksumFailures !== 0 || s.parseErrors !== 0) throw new Error('kraken run not clean');
  },
  okx: (a) => {
    const s = a.stats();
    if (s.checksumFailures !== 0 || s.gaps !== 0 || s.parseErrors !== 0) throw new Error('okx run not clean');
  },
};

async function workloads(): Promise<Workload[]> {
  return (await recordingWorkloads()).map((w) => ({
    venue: w.venue,
    frames: w.frames,
    make: (sink) => w.make(sink, systemClock),
    check: checks[w.venue]!,
  }));
}

/** JSON.parse of every frame of a pass and nothing else: the floor the adapter is compared with. */
function parsePass(w: Workload): number {
  const t0 = process.hrtime.bigint();
  let n = 0;
  for (const f of w.frames) if ('text' in f) n += (JSON.parse(f.text) as object) ? 1 : 0;
  if (n === 0) throw new Error('no frames');
  return Number(process.hrtime.bigint() - t0);
}

function runPass(w: Workload, h: ReturnType<typeof latencyHistogram> | undefined): { ns: number; msgs: number; ticks: number } {
  let ticks = 0;
  const a = w.make({ onTick: () => void ticks++ });
  let msgs = 0;
  const t0 = process.hrtime.bigint();
  for (const f of w.frames) {
    if ('snapshot' in f) {
      feed(a, f);
      continue;
    }
    if (h) {
      const s = process.hrtime.bigint();
      a.handleRaw(f.text);
      h.recordValue(Number(process.hrtime.bigint() - s));
    } else a.handleRaw(f.text);
    msgs++;
  }
  const ns = Number(process.hrtime.bigint() - t0);
  w.check(a);
  return { ns, msgs, ticks };
}

/**
 * The whole Binance capture through the real path: simulator (instant pace) → loopback WebSocket →
 * adapter → sink, both in this process (so the figure is a lower bound on the adapter's capacity).
 */
async function socketReplay(): Promise<object> {
  const sim = await BinanceSimulator.create();
  let ticks = 0;
  const a = new BinanceAdapter({
    clock: systemClock,
    url: sim.wsUrl,
    restUrl: sim.restUrl,
    symbols: [{ venueSymbol: 'BTCUSDT', symbol: 'BTC-USDT', symbolId: 1 }],
    sink: { onTick: () => void ticks++ },
  });
  try {
    await a.start();
    const t0 = process.hrtime.bigint();
    await sim.start({ pace: 'instant' });
    await sim.finished();
    const sent = sim.stats().messagesSent;
    while (a.stats().messages < sent) await new Promise((r) => setTimeout(r, 1));
    const ns = Number(process.hrtime.bigint() - t0);
    const st = a.stats();
    if (st.gaps !== 0 || st.parseErrors !== 0 || !a.isSynced('BTCUSDT')) throw new Error('socket replay not clean');
    return { frames: sent, seconds: +(ns / 1e9).toFixed(3), frames_per_sec: Math.round(sent / (ns / 1e9)), ticks };
  } finally {
    await a.stop();
    await sim.stop();
  }
}

export async function run(): Promise<object> {
  const out: Record<string, unknown> = {};
  out.binance_socket_replay = await socketReplay();
  const budgetMs = Number(process.env.KESTREL_BENCH_MS ?? 3000);
  for (const w of await workloads()) {
    // Warm up the JIT, then throughput passes (no per-message timer), then latency passes.
    runPass(w, undefined);
    runPass(w, undefined);
    let ns = 0;
    let msgs = 0;
    let ticks = 0;
    const end = Date.now() + budgetMs / 2;
    let passes = 0;
    let parseNs = 0;
    // Parse floor and adapter pass alternate, so machine load weighs on both alike.
    while (Date.now() < end || passes < 2) {
      parseNs += parsePass(w);
      const r = runPass(w, undefined);
      ns += r.ns;
      msgs += r.msgs;
      ticks += r.ticks;
      passes++;
    }
    const h = latencyHistogram();
    const end2 = Date.now() + budgetMs / 2;
    let lpasses = 0;
    while (Date.now() < end2 || lpasses < 2) {
      runPass(w, h);
      lpasses++;
    }
    out[w.venue] = {
      frames_per_pass: w.frames.length,
      passes,
      msgs_per_sec: Math.round(msgs / (ns / 1e9)),
      mean_ns_per_msg: Math.round(ns / msgs),
      parse_floor_ns_per_msg: Math.round(parseNs / msgs),
      ratio_to_parse_floor: +(ns / parseNs).toFixed(2),
      ticks_per_msg: +(ticks / msgs).toFixed(3),
      per_msg_latency: summarize(h),
    };
  }
  // Shared 2-core machine: the load average says how much of a core the figures actually had.
  const result = {
    at: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    loadavg_1m_at_end: +os.loadavg()[0]!.toFixed(2),
    ...out,
  };
  const dir = path.resolve(import.meta.dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'adapters.json'), JSON.stringify(result, null, 2));
  return result;
}
