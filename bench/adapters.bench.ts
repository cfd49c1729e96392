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
 */
import { systemClock } from '../src/clock/clock.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BinanceAdapter } from '../src/adapters/binance/binance-adapter.js';
import { KrakenAdapter } from '../src/adapters/kraken/kraken-adapter.js';
import { OkxAdapter } from '../src/adapters/okx/okx-adapter.js';
import type { BaseAdapter } from '../src/adapters/common/base-adapter.js';
import type { MarketDataSink } from '../src/adapters/types.js';
import { BinanceSimulator } from '../src/simulators/binance/binance-simulator.js';
import { binanceCapture, loadKrakenBookCapture, loadOkxRecording } from '../src/simulators/recordings.js';
import { latencyHistogram, summarize } from './lib/hdr.js';

interface Workload {
  venue: string;
  frames: Array<{ text: string } | { snapshot: string }>;
  make(sink: MarketDataSink): BaseAdapter & { ingestSnapshot?: (s: string, b: string) => void };
  check(a: BaseAdapter): void;
}

async function workloads(): Promise<Workload[]> {
  const bin: Workload['frames'] = [];
  for await (const r of binanceCapture()) {
    if (r.kind === 'snapshot') bin.push({ snapshot: JSON.stringify(r.data) });
    else bin.push({ text: JSON.stringify({ stream: r.stream, data: r.data }) });
  }
  const k = await loadKrakenBookCapture();
  const kr: Workload['frames'] = [{ text: JSON.stringify(k.snapshot.message) }, ...k.updates.map((u) => ({ text: JSON.stringify(u.message) }))];
  const seq = new Map<string, number>();
  const ok: Workload['frames'] = [];
  for (const r of await loadOkxRecording()) {
    if (r.kind === 'tickers') continue;
    if (r.kind === 'trades') {
      ok.push({ text: JSON.stringify({ arg: r.arg, data: [r.data] }) });
      continue;
    }
    const prev = seq.get(r.instId) ?? 1000;
    const next = r.action === 'snapshot' ? prev : prev + 1;
    seq.set(r.instId, next);
    ok.push({ text: JSON.stringify({ arg: r.arg, action: r.action, data: [{ ...r.data, prevSeqId: r.action === 'snapshot' ? -1 : prev, seqId: next }] }) });
  }
  const noUrl = 'ws://127.0.0.1:9/unused';
  // Huge thresholds: recorded timestamps are years old; staleness flags are not what is measured.
  const quiet = { staleAfterMs: 1e15, maxSkewMs: 1e15 };
  return [
    {
      venue: 'binance',
      frames: bin,
      make: (sink) => new BinanceAdapter({ clock: systemClock, url: noUrl, restUrl: 'http://127.0.0.1:9', symbols: [{ venueSymbol: 'BTCUSDT', symbol: 'BTC-USDT', symbolId: 1 }], sink, ...quiet }),
      check: (a) => {
        const s = a.stats();
        if (s.gaps !== 0 || s.parseErrors !== 0 || (a as BinanceAdapter).appliedUpdates('BTCUSDT') < 3000) throw new Error(`binance run not clean: ${JSON.stringify(s, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
      },
    },
    {
      venue: 'kraken',
      frames: kr,
      make: (sink) => new KrakenAdapter({ clock: systemClock, url: noUrl, symbols: [{ venueSymbol: 'BTC/USD', symbol: 'BTC-USD', symbolId: 3, pricePrecision: 1, qtyPrecision: 8 }], sink, ...quiet }),
      check: (a) => {
        const s = a.stats();
        if (s.checksumFailures !== 0 || s.parseErrors !== 0) throw new Error('kraken run not clean');
      },
    },
    {
      venue: 'okx',
      frames: ok,
      make: (sink) =>
        new OkxAdapter({ clock: systemClock, url: noUrl, symbols: ['BTC-USDT', 'BTC-USD-220527', 'UNI-USD-SWAP'].map((i, n) => ({ venueSymbol: i, symbol: i, symbolId: 10 + n })), sink, checksum: 'required', ...quiet }),
      check: (a) => {
        const s = a.stats();
        if (s.checksumFailures !== 0 || s.gaps !== 0 || s.parseErrors !== 0) throw new Error('okx run not clean');
      },
    },
  ];
}

function runPass(w: Workload, h: ReturnType<typeof latencyHistogram> | undefined): { ns: number; msgs: number; ticks: number } {
  let ticks = 0;
  const a = w.make({ onTick: () => void ticks++ });
  let msgs = 0;
  const t0 = process.hrtime.bigint();
  for (const f of w.frames) {
    if ('snapshot' in f) {
      a.ingestSnapshot!('BTCUSDT', f.snapshot);
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
  const a = new BinanceAdapter({ clock: systemClock, url: sim.wsUrl, restUrl: sim.restUrl, symbols: [{ venueSymbol: 'BTCUSDT', symbol: 'BTC-USDT', symbolId: 1 }], sink: { onTick: () => void ticks++ } });
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
    while (Date.now() < end || passes < 2) {
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
      ticks_per_msg: +(ticks / msgs).toFixed(3),
      per_msg_latency: summarize(h),
    };
  }
  // Shared 2-core machine: the load average says how much of a core the figures actually had.
  const result = { at: new Date().toISOString(), node: process.version, cpus: os.cpus().length, loadavg_1m_at_end: +os.loadavg()[0]!.toFixed(2), ...out };
  const dir = path.resolve(import.meta.dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'adapters.json'), JSON.stringify(result, null, 2));
  return result;
}
