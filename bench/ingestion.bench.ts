/**
 * Ingestion benchmarks on real data: Binance spot BTCUSDT bookTicker updates from the bundled
 * hftbacktest recording (../shared/data), normalized into NormalizedTick (adapter-assigned contiguous
 * sequences, as an adapter hands them to ingestion). Measures:
 *  - per-tick cost of onTick (gates + sink) with inline dispatch, HDR p50/p99/p99.9;
 *  - throughput through the sharded, queued actors (4 shards, adapter-like bursts of 500);
 *  - the same with md.norm + md.agg protobuf publishing on the in-process bus;
 *  - capture recorder write and streaming read throughput.
 */
import { systemClock } from '../src/clock/clock.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import readline from 'node:readline';
import { InProcessBus } from '../src/bus/in-process-bus.js';
import { TickFlag, VENUE_IDS, type NormalizedTick } from '../src/contracts/market.js';
import { IngestionService } from '../src/ingestion/service.js';
import type { TickSink } from '../src/ingestion/types.js';
import { CaptureReader } from '../src/storage/capture/reader.js';
import { CaptureWriter } from '../src/storage/capture/writer.js';
import { toBinary } from '@bufbuild/protobuf';
import { TickSchema } from '../src/contracts/gen/kestrel/v1/market_pb.js';
import { toProto } from '../src/contracts/market.js';
import { encodeTickProto } from '../src/ingestion/wire.js';
import { latencyHistogram, summarize } from './lib/hdr.js';

const repoRoot = path.resolve(import.meta.dirname, '..');
const DATA = path.join(path.resolve(repoRoot, '../shared'), 'data/binance/hftbacktest_spot_btcusdt_20240808.gz');

/** Real top-of-book updates as ticks; `limit` caps how many are read. */
export async function loadBinanceTicks(limit: number): Promise<NormalizedTick[]> {
  if (!fs.existsSync(DATA)) throw new Error(`benchmark data missing: ${DATA} (expected ../shared beside the repository)`);
  const rl = readline.createInterface({ input: fs.createReadStream(DATA).pipe(zlib.createGunzip()), crlfDelay: Infinity });
  const out: NormalizedTick[] = [];
  let seq = 0n;
  for await (const line of rl) {
    if (!line.includes('@bookTicker')) continue;
    const sp = line.indexOf(' ');
    const recv = BigInt(line.slice(0, sp));
    const d = JSON.parse(line.slice(sp + 1)).data as { b: string; B: string; a: string; A: string };
    seq++;
    out.push({
      // Spot bookTicker carries no event time: the adapter stamps exchange time = receive time.
      exchTsNs: recv,
      recvTsNs: recv,
      venueId: VENUE_IDS.binance,
      symbolId: 1,
      venue: 'binance',
      symbol: 'BTC-USDT',
      bid: Number(d.b),
      ask: Number(d.a),
      bidSize: Number(d.B),
      askSize: Number(d.A),
      sequence: seq,
      flags: TickFlag.NONE,
      lastPx: 0,
      lastQty: 0,
      aggressor: 0,
    });
    if (out.length >= limit) break;
  }
  rl.close();
  return out;
}

class CountingSink implements TickSink {
  readonly name = 'count';
  n = 0;
  push(): void {
    this.n++;
  }
}

/** Fresh copies so that flags set by one run do not leak into the next. */
const copy = (ticks: NormalizedTick[]) => ticks.map((t) => ({ ...t }));

async function inlineCost(ticks: NormalizedTick[]) {
  const sink = new CountingSink();
  const svc = await IngestionService.create({ dispatch: 'inline', shards: 4 }, { sinks: [sink] });
  // Warm-up on a separate service so the JIT has compiled the path before measuring.
  for (const t of copy(ticks.slice(0, 50_000))) svc.onTick(t);
  const svc2 = await IngestionService.create({ dispatch: 'inline', shards: 4 }, { sinks: [sink] });
  const h = latencyHistogram();
  const input = copy(ticks);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < input.length; i++) {
    const a = process.hrtime.bigint();
    svc2.onTick(input[i]!);
    h.recordValue(Number(process.hrtime.bigint() - a));
  }
  const total = Number(process.hrtime.bigint() - t0);
  const st = svc2.stats();
  svc.stop();
  svc2.stop();
  return {
    ticks: input.length,
    accepted: st.accepted,
    dropped: st.dropped,
    per_tick: summarize(h),
    ticks_per_s: Math.round(input.length / (total / 1e9)),
  };
}

async function throughput(ticks: NormalizedTick[], withBus: boolean) {
  const sink = new CountingSink();
  const bus = withBus ? new InProcessBus() : undefined;
  let delivered = 0;
  if (bus) bus.subscribe('md.>', () => void delivered++);
  const svc = await IngestionService.create(
    { shards: 4, mailboxCapacity: 10_000 },
    bus ? { sinks: [sink], bus, namespace: 'live' as const } : { sinks: [sink] },
  );
  const input = copy(ticks);
  const t0 = process.hrtime.bigint();
  // Adapter-like bursts: one socket read delivers a few hundred updates in one turn.
  for (let i = 0; i < input.length; i += 500) {
    const end = Math.min(i + 500, input.length);
    for (let j = i; j < end; j++) svc.onTick(input[j]!);
    await new Promise((r) => setImmediate(r));
  }
  while (svc.stats().mailboxDepth.some((d) => d > 0)) await new Promise((r) => setImmediate(r));
  const ns = Number(process.hrtime.bigint() - t0);
  if (bus) {
    await bus.flush();
    await bus.close();
  }
  const st = svc.stats();
  svc.stop();
  return {
    ticks: input.length,
    accepted: st.accepted,
    dropped_mailbox_full: st.dropped.mailbox_full,
    mailbox_high_water: Math.max(...st.mailboxHighWater),
    ticks_per_s: Math.round(input.length / (ns / 1e9)),
    ns_per_tick: Math.round(ns / input.length),
    ...(bus ? { bus_messages: delivered, published: st.published } : {}),
  };
}

async function capture(ticks: NormalizedTick[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-bench-'));
  const file = path.join(dir, 'bench.kcap');
  try {
    const w = CaptureWriter.open(file, { createdNs: systemClock.nowNs() });
    const t0 = process.hrtime.bigint();
    for (const t of ticks) w.push(t);
    w.close();
    const writeNs = Number(process.hrtime.bigint() - t0);
    const r = await CaptureReader.open(file);
    const t1 = process.hrtime.bigint();
    let n = 0;
    for await (const b of r.batches()) n += b.length;
    const readNs = Number(process.hrtime.bigint() - t1);
    const bytes = fs.statSync(file).size;
    return {
      records: n,
      bytes,
      write_records_per_s: Math.round(ticks.length / (writeNs / 1e9)),
      write_ns_per_record: Math.round(writeNs / ticks.length),
      read_records_per_s: Math.round(n / (readNs / 1e9)),
      read_mb_per_s: Math.round(bytes / 1e6 / (readNs / 1e9)),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The recording has ~28k bookTicker updates; repeat it (shifted in time, sequences continued) to reach n. */
function repeatTo(base: NormalizedTick[], n: number): NormalizedTick[] {
  const span = base[base.length - 1]!.recvTsNs - base[0]!.recvTsNs + 1_000_000n;
  const out: NormalizedTick[] = [];
  for (let r = 0; out.length < n; r++) {
    for (const t of base) {
      if (out.length >= n) break;
      const shift = span * BigInt(r);
      out.push({ ...t, exchTsNs: t.exchTsNs + shift, recvTsNs: t.recvTsNs + shift, sequence: BigInt(out.length + 1) });
    }
  }
  return out;
}

/** md.norm encoding: generated protobuf-es encoder vs the hand-rolled byte-identical one, ns per tick. */
function encoders(ticks: NormalizedTick[]) {
  const n = Math.min(ticks.length, 100_000);
  const time = (f: (t: NormalizedTick) => Uint8Array) => {
    let bytes = 0;
    for (let i = 0; i < 10_000; i++) bytes += f(ticks[i]!).length; // warm-up
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) bytes += f(ticks[i]!).length;
    return { ns_per_tick: Math.round(Number(process.hrtime.bigint() - t0) / n), bytes };
  };
  return {
    generated_toBinary: time((t) => toBinary(TickSchema, toProto(t))).ns_per_tick,
    encodeTickProto: time(encodeTickProto).ns_per_tick,
  };
}

export async function run(): Promise<object> {
  const n = Number(process.env.KESTREL_BENCH_TICKS ?? 300_000);
  const ticks = repeatTo(await loadBinanceTicks(n), n);
  const result = {
    data: 'binance spot BTCUSDT bookTicker, hftbacktest 2024-08-08 (28,040 updates, repeated to n)',
    n: ticks.length,
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    // Shared machine: the 1-minute load average says how contended the run was.
    load_avg_1m_start: os.loadavg()[0],
    tick_proto_encode_ns: encoders(ticks),
    inline_gates_and_sink: await inlineCost(ticks),
    queued_4_shards_sink_only: await throughput(ticks, false),
    queued_4_shards_with_bus_norm_and_agg: await throughput(ticks, true),
    capture_file: await capture(ticks),
    load_avg_1m_end: os.loadavg()[0],
  };
  return result;
}
