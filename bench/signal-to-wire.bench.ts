/**
 * Signal → wire: the whole order path of one node, from the signal's commit into the shared-memory
 * signal ring to the order's bytes on the venue's socket.
 *
 *   tick pushed into the tick ring → engine thread (native strategy) → signal ring commit
 *   → ThreadSafeFunction wake-up → RingSignalSource drain → Executor intake (TTL, confidence,
 *   routing, precision/slippage guards, local risk guard, nonce, client id, OrderRequest)
 *   → WAL append + fdatasync → ord.req.binance on the in-process bus → OrderGateway
 *   → BinanceOrderClient (HMAC-SHA256 signed WebSocket frame) → write(2) on the venue socket
 *   → loopback TCP → the venue process decodes the frame.
 *
 * The venue (the Binance private simulator) runs in its own process, as a remote venue would, and
 * stamps each frame on arrival, before parsing it. Every stamp is CLOCK_MONOTONIC (the engine's
 * signal stamp, process.hrtime in both processes): one clock on one host, no clock sync involved.
 *
 * Phases per scenario:
 * - isolated: one tick at a time, the event loop idle until the order was answered (the
 *   cold path: nothing else running, caches and vCPUs idle between signals);
 * - streaming: market data at STREAM_RATE ticks/s pushed from the event loop every millisecond, as
 *   ingestion does, orders going out as signals arise (the warm path of a live session);
 * - saturation: ticks as fast as the engine takes them: orders/s at the venue socket (latency
 *   there is queueing).
 * Each case runs in ROUNDS rounds (a fresh node each, with its own warm-up), interleaved with the
 * other cases and merged, so a burst of load on the shared machine does not land on one case.
 * Cases: WAL on the repo's disk (ext4, real fdatasync) or on /dev/shm (survives a process
 * crash, not a host crash); engine idle spin as defaulted for this machine, and 50 µs on /dev/shm
 * for comparison. Results: bench/results/signal-to-wire.json.
 */
import { systemClock } from '../src/clock/clock.js';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { Histogram } from 'hdr-histogram-js';
import { InProcessBus } from '../src/bus/in-process-bus.js';
import { Executor } from '../src/execution/executor.js';
import { SnapshotStore, type ExecSignal, type SignalSource } from '../src/execution/types.js';
import {
  LAYOUT,
  NativeEngine,
  RingSignalSource,
  TickBatch,
  TickRegion,
  defaultIdleSpinNs,
  type StrategyParams,
  type TickInput,
} from '../src/native/index.js';
import { openRefData } from '../src/refdata/index.js';
import { StaticRiskGateway } from '../src/risk/static-gateway.js';
import { TEST_CREDENTIALS } from '../src/simulators/private/index.js';
import { createOrderClient, OrderGateway } from '../src/venues/index.js';
import { syntheticTicks } from '../scripts/gen-golden-synthetic.js';
import { latencyHistogram, summarize } from './lib/hdr.js';

const repoRoot = path.resolve(import.meta.dirname, '..');
/** The strategy's OU window fills after ~1,500 synthetic ticks (30 s of event time): no signal before. */
const WARMUP_TICKS = 2500;
const ISOLATED_TICKS = Number(process.env.KESTREL_BENCH_ISOLATED_TICKS ?? 3000);
const STREAM_RATE = Number(process.env.KESTREL_BENCH_STREAM_RATE ?? 1000);
const STREAM_SECONDS = Number(process.env.KESTREL_BENCH_STREAM_SECONDS ?? 8);
const SATURATION_TICKS = Number(process.env.KESTREL_BENCH_SATURATION_TICKS ?? 20_000);
const ROUNDS = Number(process.env.KESTREL_BENCH_ROUNDS ?? 3);
/** Ticks of each phase in one round. */
const PER_ROUND = {
  isolated: Math.round(ISOLATED_TICKS / ROUNDS),
  streaming: Math.round((STREAM_RATE * STREAM_SECONDS) / ROUNDS),
  saturation: Math.round(SATURATION_TICKS / ROUNDS),
};

/**
 * Loose thresholds, no cooldown: about half the quotes signal, so the path is well sampled.
 * Orders are 0.001 BTC IOC limits; the venue's book is set 100 USDT away from the synthetic
 * market, so every order is acked and expires: positions stay flat through tens of thousands of
 * orders and no risk limit or balance ends the run (fills are measured in execution.bench.ts).
 */
const PARAMS: Partial<StrategyParams> = {
  z_entry: 0.5,
  z_high: 10,
  cooldown_ns: 0,
  min_confidence: 0,
  vpin_max: 1,
  min_size: 0,
  max_size: 0.001,
  ttl_ms: 1000,
};

interface Target {
  readonly ws: string;
  readonly rest: string;
}

async function startVenueProcess(): Promise<{ child: ChildProcess; target: Target }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/simulators/private/main.ts', '--probe', '--no-rate-limit'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (c) => reject(new Error(`simulator process exited with ${c}`)));
  });
  const target = (JSON.parse(line) as Record<string, Target>)['binance']!;
  const r = await fetch(`${target.rest}/__sim/book`, {
    method: 'POST',
    body: JSON.stringify({ symbol: 'BTC-USDT', bids: [[29_900, 1e6]], asks: [[30_100, 1e6]] }),
  });
  if (!r.ok) throw new Error(`simulator refused the book: ${await r.text()}`);
  return { child, target };
}

/** Arrival stamps by client id, recorded by the venue process (and cleared there). */
async function arrivals(t: Target): Promise<Map<string, bigint>> {
  const r = (await (await fetch(`${t.rest}/__sim/arrivals`)).json()) as Record<string, string>;
  return new Map(Object.entries(r).map(([k, v]) => [k, BigInt(v)]));
}

const CLIENT_ID = /"newClientOrderId":"([^"]+)"/;

/**
 * Stamp each order frame as it is handed to the kernel. The client's WebSocket has no compression,
 * so ws.send issues the write(2) synchronously; on loopback that syscall also runs the receiving
 * side's TCP and wakes the venue process, so its duration is reported as its own stage.
 */
function tapSocketWrites(client: unknown, onWrite: (clientId: string, issued: bigint, returned: bigint) => void): void {
  const ws = (client as { ws?: { send(data: Buffer, ...rest: unknown[]): void } }).ws;
  if (!ws) throw new Error('order client is not connected');
  const send = ws.send.bind(ws);
  ws.send = (data: Buffer, ...rest: unknown[]): void => {
    const issued = process.hrtime.bigint();
    send(data, ...rest);
    const returned = process.hrtime.bigint();
    const m = CLIENT_ID.exec(data.toString('latin1'));
    if (m) onWrite(m[1]!, issued, returned);
  };
}

/**
 * GC pauses of this process as [start, end] on the hrtime clock, to tell which orders a pause
 * landed on: the usual suspect for a JS process's tail, checked rather than assumed.
 */
class GcPauses {
  readonly spans: [bigint, bigint][] = [];
  private readonly offset = process.hrtime.bigint() - BigInt(Math.round(performance.now() * 1e6));
  private readonly obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const start = this.offset + BigInt(Math.round(e.startTime * 1e6));
      this.spans.push([start, start + BigInt(Math.round(e.duration * 1e6))]);
    }
  });
  constructor() {
    this.obs.observe({ entryTypes: ['gc'] });
  }
  /** Delivered asynchronously: let the observer catch up before asking. */
  async settle(): Promise<void> {
    await sleep(5);
  }
  overlaps(from: bigint, to: bigint): boolean {
    for (let i = this.spans.length - 1; i >= 0; i--) {
      const [a, b] = this.spans[i]!;
      if (a <= to && b >= from) return true;
      if (b < from) return false;
    }
    return false;
  }
  stop(): void {
    this.obs.disconnect();
  }
}

/** Monotonic stamps of one order along the path (ns). */
interface Stamps {
  tickPush: bigint | undefined;
  signalCommit: bigint;
  intake: bigint;
  sent: bigint;
}

const STAGES = [
  'signalToWrite',
  'signalToWriteNoGc',
  'signalToArrival',
  'tickToArrival',
  'tickToSignal',
  'signalToIntake',
  'intakeToSent',
  'sentToWrite',
  'writeSyscall',
  'writeToArrival',
] as const;
type Stages = Record<(typeof STAGES)[number], Histogram>;

const stages = (): Stages => Object.fromEntries(STAGES.map((k) => [k, latencyHistogram()])) as Stages;
const rec = (h: Histogram, ns: bigint): void => h.recordValue(Math.max(1, Number(ns)));
const summarizeStages = (s: Stages) => Object.fromEntries(STAGES.map((k) => [k, summarize(s[k])]));

/** The node under test: bus, risk, executor, gateway + client, rings, engine. */
async function startNode(target: Target, walDir: string, idleSpinNs: number, commit: 'pool' | 'inline') {
  const bus = new InProcessBus();
  const spec = await (await openRefData(undefined)).venueSpec('binance');
  if (!spec) throw new Error('refdata has no binance spec');
  const client = createOrderClient('binance', {
    clock: systemClock,
    wsUrl: target.ws,
    restUrl: target.rest,
    credentials: TEST_CREDENTIALS.binance,
    requestTimeoutMs: 5000,
  });
  await client.connect();
  const writes = new Map<string, { issued: bigint; returned: bigint }>();
  tapSocketWrites(client, (id, issued, returned) => writes.set(id, { issued, returned }));
  const gateway = new OrderGateway({
    clock: systemClock,
    namespace: 'live',
    bus,
    client,
    spec: { venue: 'binance', hasPrivateWs: true, venuePolicy: 'production' },
    healthIntervalMs: 0,
  });
  await gateway.start();
  const risk = new StaticRiskGateway(bus, { perSymbolNotional: 1e12, portfolioNotional: 1e13, maxOrderNotional: 1e9 }, 'live', {
    clock: systemClock,
  });
  risk.start();
  const market = new SnapshotStore();
  const region = TickRegion.create({
    name: `kestrel-bench-s2w-${process.pid}`,
    symbols: ['BTC-USDT'],
    signalCapacity: 65536,
    replace: true,
  });
  const ring = new RingSignalSource(region, { clock: systemClock });
  const engine = new NativeEngine(region, { params: PARAMS, onSignals: ring.notify, idleSpinNs });
  const executor = new Executor(
    { clock: systemClock, bus, venues: [spec], market, recon: { binance: client } },
    {
      mode: 'live',
      namespace: 'live',
      walDir,
      walDurableCommit: commit,
      minConfidence: 0,
      staleSnapshotMs: 60_000,
      laneCapacity: 65_536,
      concurrency: { globalMaxInflight: 256, perSymbolMaxInflight: 256, perVenueMaxInflight: { binance: 256 } },
      circuit: { default: { errorThreshold: 1_000_000, timeoutMs: 1000, halfOpenRequests: 1 } },
    },
  );
  // Intake stamp: the executor's SignalSource is the ring's, seen through this thin wrapper.
  const intakeAt = new Map<string, bigint>();
  const source: SignalSource = {
    onSignal: (cb) =>
      ring.onSignal((s: ExecSignal) => {
        intakeAt.set(s.traceId, process.hrtime.bigint());
        cb(s);
      }),
    close: () => ring.close(),
  };
  const rejects = new Map<string, number>();
  executor.onReject((e) => rejects.set(String(e.reason), (rejects.get(String(e.reason)) ?? 0) + 1));
  await executor.start(source);
  engine.start();
  // Every order that left, with the stamps that led to it.
  const pushAt = new Map<bigint, bigint>();
  const sent = new Map<string, Stamps>();
  executor.onSend((o, s) => {
    if (!s) return;
    const now = process.hrtime.bigint();
    const intake = intakeAt.get(s.traceId);
    intakeAt.delete(s.traceId);
    if (intake === undefined) return;
    sent.set(o.clientId, { tickPush: pushAt.get(s.sourceSequence), signalCommit: s.emitTsNs - ring.epochOffsetNs, intake, sent: now });
  });
  return {
    region,
    ring,
    engine,
    executor,
    market,
    pushAt,
    sent,
    writes,
    rejects,
    clear(): void {
      pushAt.clear();
      sent.clear();
      writes.clear();
    },
    async stop(): Promise<void> {
      engine.stop();
      ring.drain();
      await executor.close();
      ring.close();
      region.unlink();
      region.close();
      risk.stop();
      await gateway.stop();
      await bus.close();
    },
  };
}

type Node = Awaited<ReturnType<typeof startNode>>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const immediate = () => new Promise((r) => setImmediate(r));

/** The executor's market view follows the quotes, as the session's market feed does. */
function push(node: Node, t: TickInput): void {
  if (!(t.flags & LAYOUT.kFlagTrade)) node.market.update('binance', 'BTC-USDT', t.bid, t.ask, t.bidSize, t.askSize, systemClock.nowNs());
  const at = process.hrtime.bigint();
  node.pushAt.set(BigInt(node.region.pushTick(0, t)), at);
}

/** Until the engine took every tick pushed, every signal reached the executor and no order is open. */
async function settled(node: Node, wait: () => Promise<unknown>): Promise<void> {
  for (;;) {
    const st = node.engine.stats();
    const pushed = node.region.counters().ticks[0]!.head;
    if (st.ticks >= pushed && node.ring.delivered >= st.signals && node.executor.inflightCount === 0 && node.executor.queuedCount === 0)
      return;
    await wait();
  }
}

/** One phase's figures, merged over the interleaved rounds. */
interface PhaseAcc {
  h: Stages;
  orders: number;
  hitByGc: number;
  gcPauses: Histogram;
  gcMs: number;
  cpuUs: number;
  /** Orders per second at the venue, one value per round (saturation). */
  rates: number[];
}

const phaseAcc = (): PhaseAcc => ({ h: stages(), orders: 0, hitByGc: 0, gcPauses: latencyHistogram(), gcMs: 0, cpuUs: 0, rates: [] });

/** Join the stamps of every order sent in a phase with the venue's arrival stamps, into `acc`. */
async function collect(node: Node, target: Target, gc: GcPauses, since: bigint, cpu: NodeJS.CpuUsage, acc: PhaseAcc): Promise<void> {
  await gc.settle();
  const seen = await arrivals(target);
  const h = acc.h;
  let first = -1n;
  let last = 0n;
  for (const [id, st] of node.sent) {
    const wire = seen.get(id);
    const w = node.writes.get(id);
    if (wire === undefined) throw new Error(`the venue never saw order ${id}`);
    if (w === undefined) throw new Error(`order ${id} never went through the socket tap`);
    if (first < 0n || wire < first) first = wire;
    if (wire > last) last = wire;
    rec(h.signalToWrite, w.issued - st.signalCommit);
    if (gc.overlaps(st.signalCommit, w.issued)) acc.hitByGc++;
    else rec(h.signalToWriteNoGc, w.issued - st.signalCommit);
    rec(h.signalToArrival, wire - st.signalCommit);
    rec(h.signalToIntake, st.intake - st.signalCommit);
    rec(h.intakeToSent, st.sent - st.intake);
    rec(h.sentToWrite, w.issued - st.sent);
    rec(h.writeSyscall, w.returned - w.issued);
    rec(h.writeToArrival, wire - w.issued);
    if (st.tickPush !== undefined) {
      rec(h.tickToArrival, wire - st.tickPush);
      rec(h.tickToSignal, st.signalCommit - st.tickPush);
    }
  }
  const orders = node.sent.size;
  acc.orders += orders;
  acc.cpuUs += cpu.user + cpu.system;
  if (orders > 1) acc.rates.push(Math.round(orders / (Number(last - first) / 1e9)));
  for (const [a, b] of gc.spans) {
    if (a < since) continue;
    rec(acc.gcPauses, b - a);
    acc.gcMs += Number(b - a) / 1e6;
  }
  node.clear();
}

function report(acc: PhaseAcc, rates = false) {
  return {
    orders: acc.orders,
    orders_hit_by_gc: acc.hitByGc,
    gc_pauses: { count: acc.gcPauses.totalCount, total_ms: Math.round(acc.gcMs * 10) / 10, pause_ns: summarize(acc.gcPauses) },
    cpu_us_per_order: Math.round((acc.cpuUs / Math.max(1, acc.orders)) * 10) / 10,
    ...(rates ? { orders_per_s_at_venue_per_round: acc.rates } : {}),
    latency_ns: summarizeStages(acc.h),
  };
}

interface Case {
  readonly base: string;
  readonly spin: number;
  /** Where a send waits for its intent's fdatasync: libuv pool (group commit) or on the event loop (before issue 15). */
  readonly commit: 'pool' | 'inline';
  readonly isolated: PhaseAcc;
  readonly streaming: PhaseAcc;
  readonly saturation: PhaseAcc;
  fsyncs: number;
  syncNs: bigint;
  /** Streaming phase: commits (fdatasyncs that released sends) and orders sent. */
  streamCommits: number;
  streamSent: number;
  readonly rejects: Map<string, number>;
  missed: number;
}

/** One round of one case: a fresh node, warm-up, then the three phases, merged into the case. */
async function round(target: Target, c: Case, ticks: TickInput[]): Promise<void> {
  const walDir = fs.mkdtempSync(path.join(c.base, 'kestrel-bench-s2w-wal-'));
  const node = await startNode(target, walDir, c.spin, c.commit);
  const gc = new GcPauses();
  let i = 0;
  try {
    // Warm-up (discarded): JIT, buffers, the WAL's first segment.
    for (const end = WARMUP_TICKS; i < end; i++) {
      push(node, ticks[i]!);
      await settled(node, immediate);
    }
    await settled(node, () => sleep(1));
    await arrivals(target);
    node.clear();

    // 1. Isolated: one tick, then the loop sleeps until its order was answered.
    let since = process.hrtime.bigint();
    let cpu = process.cpuUsage();
    const sync0 = { ...node.executor.journal.log.stats };
    for (const end = i + PER_ROUND.isolated; i < end; i++) {
      push(node, ticks[i]!);
      await settled(node, () => sleep(0));
    }
    c.fsyncs += node.executor.journal.log.stats.commits - sync0.commits;
    c.syncNs += node.executor.journal.log.stats.syncNs - sync0.syncNs;
    await collect(node, target, gc, since, process.cpuUsage(cpu), c.isolated);

    // 2. Streaming: STREAM_RATE ticks/s, pushed every millisecond from the event loop.
    const streamTicks = PER_ROUND.streaming;
    since = process.hrtime.bigint();
    cpu = process.cpuUsage();
    const stream0 = { commits: node.executor.journal.log.stats.commits, sent: node.executor.counters.sent };
    {
      const start = i;
      const t0 = process.hrtime.bigint();
      while (i < start + streamTicks) {
        const due = Math.min(start + streamTicks, start + Math.floor((Number(process.hrtime.bigint() - t0) / 1e9) * STREAM_RATE));
        for (; i < due; i++) push(node, ticks[i]!);
        await sleep(1);
      }
    }
    await settled(node, () => sleep(1));
    c.streamCommits += node.executor.journal.log.stats.commits - stream0.commits;
    c.streamSent += node.executor.counters.sent - stream0.sent;
    await collect(node, target, gc, since, process.cpuUsage(cpu), c.streaming);

    // 3. Saturation: batches of 64 ticks as fast as the engine takes them.
    const batch = new TickBatch(64);
    since = process.hrtime.bigint();
    cpu = process.cpuUsage();
    for (const end = i + PER_ROUND.saturation; i < end;) {
      batch.clear();
      for (let k = 0; k < 64 && i < end; k++, i++) {
        const t = ticks[i]!;
        if (!(t.flags & LAYOUT.kFlagTrade))
          node.market.update('binance', 'BTC-USDT', t.bid, t.ask, t.bidSize, t.askSize, systemClock.nowNs());
        batch.push(t);
      }
      const at = process.hrtime.bigint();
      const first = node.region.pushBatch(0, batch);
      for (let k = 0; k < batch.count; k++) node.pushAt.set(BigInt(first + k), at);
      await immediate();
    }
    await settled(node, () => sleep(1));
    await collect(node, target, gc, since, process.cpuUsage(cpu), c.saturation);
    for (const [k, v] of node.rejects) c.rejects.set(k, (c.rejects.get(k) ?? 0) + v);
    c.missed += node.ring.missed;
  } finally {
    gc.stop();
    await node.stop();
    fs.rmSync(walDir, { recursive: true, force: true });
  }
}

/**
 * This machine's floor for any cross-process path: a 300-byte echo between two Node processes over
 * loopback TCP, with the loop idle 1 ms between round trips as in the isolated phase.
 */
async function loopbackFloor(n = 2000) {
  const code =
    "const s=require('net').createServer(c=>{c.setNoDelay(true);c.on('data',d=>c.write(d))});s.listen(0,'127.0.0.1',()=>console.log(s.address().port))";
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = Number(await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve)));
    const sock = net.connect(port, '127.0.0.1');
    sock.setNoDelay(true);
    await new Promise((r) => sock.once('connect', r));
    const h = latencyHistogram();
    const payload = Buffer.alloc(300, 1);
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      sock.write(payload);
      await new Promise((r) => sock.once('data', r));
      if (i >= 100) rec(h, process.hrtime.bigint() - t0);
      await sleep(1);
    }
    sock.destroy();
    return { echo_round_trip_ns: summarize(h) };
  } finally {
    child.kill();
  }
}

/**
 * The WAL device's own floor, what bounds a durable order path from below: a 220-byte record
 * written into a preallocated file and fdatasynced (on the event loop, and on the libuv pool from
 * submit to callback), the loop idle 1 ms between commits as in streaming; and the pool's round
 * trip for an fdatasync on tmpfs (no device: the cost of the hand-off and wake-up alone).
 */
async function deviceFloor(base: string, n = 2000) {
  const dir = fs.mkdtempSync(path.join(base, 'kestrel-bench-s2w-dev-'));
  const shm = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/kestrel-bench-s2w-dev-') : undefined;
  const open = (d: string): number => {
    const fd = fs.openSync(path.join(d, 'seg'), 'w+');
    const zeros = Buffer.alloc(1 << 20);
    for (let k = 0; k < 4; k++) fs.writeSync(fd, zeros, 0, zeros.length, k << 20);
    fs.fsyncSync(fd);
    return fd;
  };
  const record = Buffer.alloc(220, 7);
  const cases = { inline: latencyHistogram(), pool: latencyHistogram(), pool_tmpfs: latencyHistogram() };
  const fds = { inline: open(dir), pool: open(dir), pool_tmpfs: shm ? open(shm) : -1 };
  const pos = { inline: 0, pool: 0, pool_tmpfs: 0 };
  const poolSync = (fd: number) => new Promise<void>((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  try {
    for (let i = 0; i < n; i++)
      for (const k of ['inline', 'pool', 'pool_tmpfs'] as const) {
        if (fds[k] < 0) continue;
        fs.writeSync(fds[k], record, 0, record.length, pos[k] % (4 << 20));
        pos[k] += record.length;
        const t0 = process.hrtime.bigint();
        if (k === 'inline') fs.fdatasyncSync(fds[k]);
        else await poolSync(fds[k]);
        rec(cases[k], process.hrtime.bigint() - t0);
        await sleep(1);
      }
  } finally {
    for (const fd of Object.values(fds)) if (fd >= 0) fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
    if (shm) fs.rmSync(shm, { recursive: true, force: true });
  }
  return {
    fdatasync_inline_ns: summarize(cases.inline),
    fdatasync_pool_submit_to_callback_ns: summarize(cases.pool),
    ...(shm ? { pool_round_trip_tmpfs_ns: summarize(cases.pool_tmpfs) } : {}),
  };
}

export async function run(): Promise<object> {
  const mk = (base: string, spin: number, commit: 'pool' | 'inline'): Case => ({
    base,
    spin,
    commit,
    isolated: phaseAcc(),
    streaming: phaseAcc(),
    saturation: phaseAcc(),
    fsyncs: 0,
    syncNs: 0n,
    streamCommits: 0,
    streamSent: 0,
    rejects: new Map(),
    missed: 0,
  });
  // Group commit on the pool (the default since issue 15) against the inline commit it replaced, on
  // disk and on tmpfs, interleaved in one run; KESTREL_BENCH_CASES=disk limits the run to the disk pair.
  const spin = defaultIdleSpinNs();
  const cases = [mk(os.tmpdir(), spin, 'pool'), mk(os.tmpdir(), spin, 'inline')];
  if (fs.existsSync('/dev/shm') && process.env.KESTREL_BENCH_CASES !== 'disk')
    cases.push(mk('/dev/shm', spin, 'pool'), mk('/dev/shm', spin, 'inline'), mk('/dev/shm', 50_000, 'pool'));
  const perRound = WARMUP_TICKS + PER_ROUND.isolated + PER_ROUND.streaming + PER_ROUND.saturation;
  // Every case of a round replays the same ticks (so the same signals): the A/B compares equal work.
  const { ticks } = syntheticTicks({ ticks: ROUNDS * perRound, seed: 11n, tradeProb: 0.2 });
  const { child, target } = await startVenueProcess();
  const loadBefore = os.loadavg();
  try {
    // Rounds interleave the cases, so a burst of load on the shared machine spreads over all of them.
    for (let r = 0; r < ROUNDS; r++) for (const c of cases) await round(target, c, ticks.slice(r * perRound, (r + 1) * perRound));
    const state = (await (await fetch(`${target.rest}/__sim/state`)).json()) as { duplicates: string[] };
    if (state.duplicates.length !== 0) throw new Error(`the venue saw duplicate client ids: ${state.duplicates.slice(0, 5).join(', ')}`);
    const floor = await loopbackFloor();
    const device = await deviceFloor(os.tmpdir());
    return {
      measured:
        'signal commit in the signal ring → write(2) of the order frame on the venue socket (signalToWrite) and → its arrival in the venue process (signalToArrival); CLOCK_MONOTONIC, ns',
      venue: 'binance: HMAC-SHA256 signed WebSocket order API, simulator in its own process over loopback TCP',
      params: PARAMS,
      rounds: ROUNDS,
      stream_ticks_per_s: STREAM_RATE,
      cpus: os.availableParallelism(),
      loadavg_before: loadBefore,
      loadavg_after: os.loadavg(),
      venue_duplicates: state.duplicates.length,
      machine_floor: floor,
      wal_device_floor: device,
      scenarios: cases.map((c) => ({
        wal: c.base === '/dev/shm' ? 'tmpfs (/dev/shm)' : `disk (${c.base}, ext4 fdatasync)`,
        engine_idle_spin_ns: c.spin,
        durable_commit: c.commit,
        streaming_orders_per_commit: Math.round((c.streamSent / Math.max(1, c.streamCommits)) * 100) / 100,
        wal_fsync_mean_us_isolated: Math.round(Number(c.syncNs) / Math.max(1, c.fsyncs) / 100) / 10,
        isolated: report(c.isolated),
        streaming: report(c.streaming),
        saturation: report(c.saturation, true),
        rejects: Object.fromEntries(c.rejects),
        signals_missed: c.missed,
      })),
    };
  } finally {
    child.kill('SIGTERM');
  }
}
