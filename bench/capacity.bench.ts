/**
 * Capacity (issue 15 item 5): the highest end-to-end rate this machine sustains with zero loss by the
 * system's own counters, and the stage that limits it, by measurement.
 *
 * (a) in-process: `kestrel run simulators` (its own process: Binance, OKX, Kraken public feeds from
 *     the bundled captures) → real local WebSockets → this process: the venue adapters → ingestion
 *     (quality gates, md.norm on an in-process bus) → shared-memory rings → the native engine thread,
 *     as `kestrel start` wires them. The simulators replay at a stepped speed-up (--pace accelerated
 *     --speed S, then --pace instant); each step runs the whole capture once.
 * (b) processes over NATS: the same simulators → `kestrel run md --venues V` (one process per venue)
 *     → md.norm on a NATS server of this bench's own → `kestrel run engine` (md.norm → its rings →
 *     engine).
 * (c) orders/s: executor → order gateway → simulated private Binance venue (real WebSocket, HMAC),
 *     WAL on disk with fdatasync, then on tmpfs to tell the fsync from the CPU (bench/execution.bench.ts
 *     scenario); the venue's own count of client ids received and its duplicates against the executor's.
 *
 * Loss is judged by counters only: the simulators' messagesSent (GET /control/stats) against the
 * adapters' messages; adapter gaps, checksum failures, reconnects, stalls and resyncs beyond the first
 * sync; ingestion received = adapter ticks and its drops; ring drops; engine ticks consumed = pushed,
 * engine missed = 0 (in-process); md received/published against engine received/pushed (NATS).
 * CPU: /proc/PID/stat utime+stime of each process (the simulators, md, engine, nats-server), this
 * process's main thread (/proc/self/task/PID/stat: adapters + ingestion + ring push) and the engine
 * thread's own busyNs.
 *
 * The captures are short (Binance ~41k messages, Kraken ~0.5k, OKX ~0.2k), so a step "sustains" its
 * rate for the replay's duration (seconds at low speed-ups, ~1-4 s at the top). `--quick` (or
 * KESTREL_BENCH_CAP_QUICK=1) runs fewer steps, about a minute. Results: bench/results/capacity.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { InProcessBus } from '../src/bus/in-process-bus.js';
import { systemClock } from '../src/clock/clock.js';
import { loadConfig } from '../src/config/load.js';
import type { VenueName } from '../src/contracts/market.js';
import { IngestionService } from '../src/ingestion/service.js';
import { qualityOptionsOf } from '../src/ingestion/quality.js';
import type { TickSink } from '../src/ingestion/types.js';
import { NativeEngine, TickRegion } from '../src/native/index.js';
import { openRefData } from '../src/refdata/index.js';
import { startVenueMarketData } from '../src/session/venue-market-data.js';
import { engineParams, ringName } from '../src/session/wiring.js';
import type { VenueEndpoints } from '../src/venues/endpoints.js';
import { kestrel, repoRoot, type KestrelProcess } from '../test/support/processes.js';
import { LOOSE_RISK, writeServiceConfig } from '../test/support/service-config.js';
import { scenario } from './execution.bench.js';

const QUICK = process.argv.includes('--quick') || process.env.KESTREL_BENCH_CAP_QUICK === '1';
const VENUES: readonly VenueName[] = ['binance', 'kraken', 'okx'];
/** The instruments the captures carry, by canonical symbol (refdata maps them per venue). */
const SYMBOLS = ['BTC-USDT', 'BTC-USD', 'UNI-USD-SWAP', 'BTC-USD-220527'];
const SPEEDS: Array<number | 'instant'> = (process.env.KESTREL_BENCH_CAP_SPEEDS ?? (QUICK ? '100,instant' : '10,30,100,300,instant'))
  .split(',')
  .map((s) => (s === 'instant' ? 'instant' : Number(s)));
const NATS_PORT = Number(process.env.KESTREL_BENCH_CAP_NATS_PORT ?? 14314);
const PORT_BASE = Number(process.env.KESTREL_BENCH_CAP_PORTS ?? 24310);
const ORDERS = Number(process.env.KESTREL_BENCH_CAP_ORDERS ?? (QUICK ? 3000 : 20000));
const CLK_TCK = 100;
/** Which parts to run: a (in-process), b (over NATS), c (orders); all by default. */
const PARTS = (process.env.KESTREL_BENCH_CAP_PARTS ?? 'a,b,c').split(',');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** utime + stime of a process or thread, in µs. */
function cpuUsOf(statPath: string): number {
  try {
    const s = fs.readFileSync(statPath, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK;
  } catch {
    return NaN;
  }
}
/** Time the thread was runnable but waiting for a CPU (ns): the machine's contention, not our work. */
function runqueueWaitNs(pid: number | undefined, tid = pid): number {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
  } catch {
    return NaN;
  }
}
const procCpu = (pid: number | undefined) => (pid === undefined ? NaN : cpuUsOf(`/proc/${pid}/stat`));
const mainThreadCpu = () => cpuUsOf(`/proc/self/task/${process.pid}/stat`);

interface SimStats {
  messagesSent: number;
  timelineDone: boolean;
}

interface Sims {
  child: ChildProcess;
  urls: Record<VenueName, { wsUrl: string; restUrl: string; controlUrl: string }>;
  stats(): Promise<Record<VenueName, SimStats>>;
  stop(): Promise<void>;
}

async function startSims(speed: number | 'instant'): Promise<Sims> {
  const pace = speed === 'instant' ? ['--pace', 'instant'] : ['--pace', 'accelerated', '--speed', String(speed)];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/simulators/main.ts', ...pace, '--ports', String(PORT_BASE)], {
    cwd: repoRoot,
    env: { ...process.env, KESTREL_LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const urls = {} as Sims['urls'];
  await new Promise<void>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (l) => {
      const j = JSON.parse(l) as { venue?: VenueName; wsUrl?: string; restUrl?: string; controlUrl?: string; service?: string };
      if (j.venue && j.wsUrl && j.restUrl && j.controlUrl) urls[j.venue] = { wsUrl: j.wsUrl, restUrl: j.restUrl, controlUrl: j.controlUrl };
      if (j.service === 'simulators') resolve();
    });
    child.once('exit', (c) => reject(new Error(`simulators exited with ${c}`)));
  });
  const stats = async () =>
    Object.fromEntries(
      await Promise.all(VENUES.map(async (v) => [v, (await (await fetch(`${urls[v].controlUrl}/stats`)).json()) as SimStats] as const)),
    ) as Record<VenueName, SimStats>;
  const stop = async () => {
    if (child.exitCode !== null) return;
    const done = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await done;
  };
  return { child, urls, stats, stop };
}

/**
 * Polls until every simulator's timeline is done and `downstream()` (messages taken by the consumer
 * side) stops moving; returns the window from the first message sent to the last taken.
 */
async function watch(sims: Sims, downstream: () => Promise<number> | number, limitMs: number) {
  const t0 = Date.now();
  let firstSentAt: number | undefined;
  let doneAt: number | undefined;
  let last = -1;
  let lastChangeAt = Date.now();
  let sent = 0;
  while (Date.now() - t0 < limitMs) {
    const st = await sims.stats();
    sent = VENUES.reduce((a, v) => a + st[v].messagesSent, 0);
    if (firstSentAt === undefined && sent > 0) firstSentAt = Date.now();
    if (doneAt === undefined && VENUES.every((v) => st[v].timelineDone)) doneAt = Date.now();
    const d = await downstream();
    if (d !== last) {
      last = d;
      lastChangeAt = Date.now();
    }
    if (doneAt !== undefined && d >= sent) break;
    if (doneAt !== undefined && Date.now() - lastChangeAt > 3000) break;
    await sleep(50);
  }
  const end = lastChangeAt;
  const seconds = firstSentAt === undefined ? NaN : Math.max(0.001, (end - firstSentAt) / 1000);
  return { sent, taken: last, seconds, sendSeconds: doneAt && firstSentAt ? (doneAt - firstSentAt) / 1000 : NaN };
}

/**
 * Messages the adapters missed: what the simulators had sent before the adapters' count was read,
 * less that count (Kraken's heartbeat goes on after the replay, so the simulators' count is read
 * on both sides of the adapters' and a heartbeat in between is not taken for a loss).
 */
async function missedBySims(sims: Sims, adapterMessages: () => Promise<number> | number): Promise<number> {
  const sent = async () => Object.values(await sims.stats()).reduce((a, x) => a + x.messagesSent, 0);
  const before = await sent();
  const taken = await adapterMessages();
  const after = await sent();
  return taken < before ? before - taken : taken > after ? after - taken : 0;
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const perMsg = (us: number, n: number) => (n > 0 ? round(us / n, 2) : NaN);

/** Endpoints of the simulated public feeds (private ones unused here). */
function endpoints(s: Sims): Record<VenueName, VenueEndpoints> {
  const e = (v: VenueName): VenueEndpoints => ({
    publicWs: s.urls[v].wsUrl,
    publicRest: s.urls[v].restUrl,
    privateWs: '',
    privateRest: '',
    privateHeaders: {},
    validateOnly: false,
  });
  return { binance: e('binance'), kraken: e('kraken'), okx: e('okx') };
}

async function inProcessStep(speed: number | 'instant') {
  const config = loadConfig({ overrides: { session: { venues: [...VENUES], symbols: SYMBOLS } } });
  const refdata = await openRefData(undefined);
  const names: string[] = [];
  for (const v of VENUES)
    for (const m of await refdata.mappings(v, SYMBOLS)) if (!names.includes(ringName(v, m.symbol))) names.push(ringName(v, m.symbol));
  const region = TickRegion.create({
    name: `kestrel-cap-${process.pid}`,
    symbols: names,
    tickCapacity: config.rings.capacity,
    replace: true,
  });
  const ringOf = new Map(names.map((n, i) => [n, i]));
  const engine = new NativeEngine(region, { engine: 'native', params: engineParams(config) });
  let pushed = 0;
  let foreign = 0;
  const rings: TickSink = {
    name: 'rings',
    push: (t) => {
      const r = ringOf.get(ringName(t.venue, t.symbol));
      if (r === undefined) foreign++;
      else {
        region.pushNormalized(r, t);
        pushed++;
      }
    },
  };
  const bus = new InProcessBus();
  const ingestion = await IngestionService.create(
    {
      shards: config.flow_control.ingestion_shards,
      mailboxCapacity: config.flow_control.queue_sizes.market_data,
      quality: await qualityOptionsOf(config, refdata),
    },
    { sinks: [rings], bus, namespace: 'live' },
  );
  engine.start();
  const sims = await startSims(speed);
  const simCpu0 = procCpu(sims.child.pid);
  const simWait0 = runqueueWaitNs(sims.child.pid);
  const mainWait0 = runqueueWaitNs(process.pid);
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpu();
  const busy0 = engine.stats().busyNs;
  const vmd = await startVenueMarketData({
    venues: VENUES,
    symbols: SYMBOLS,
    endpoints: endpoints(sims),
    refData: refdata,
    sink: ingestion,
    clock: systemClock,
    bus,
    namespace: 'live',
  });
  try {
    const w = await watch(sims, () => vmd.stats().reduce((a, s) => a + s.messages, 0), 120_000);
    // Drain: everything ingestion accepted reaches the rings and the engine.
    for (let i = 0; i < 200 && (ingestion.stats().mailboxDepth.some((d) => d > 0) || Number(engine.stats().ticks) < pushed); i++)
      await sleep(10);
    const simCpu = procCpu(sims.child.pid) - simCpu0;
    const simWait = runqueueWaitNs(sims.child.pid) - simWait0;
    const mainWait = runqueueWaitNs(process.pid) - mainWait0;
    const cpu = process.cpuUsage(cpu0);
    const mainCpu = mainThreadCpu() - main0;
    const es = engine.stats();
    const engineBusyUs = (Number(es.busyNs) - Number(busy0)) / 1000;
    const ad = vmd.stats();
    const ing = ingestion.stats();
    const rc = region.counters();
    const ringDropped = rc.ticks.reduce((a, r) => a + r.drops, 0);
    const adapterTicks = ad.reduce((a, s) => a + s.ticks, 0);
    const msgs = ad.reduce((a, s) => a + s.messages, 0);
    const droppedIngestion = Number(ing.dropped.mailbox_full ?? 0);
    const extraResyncs = ad.reduce((a, s) => a + Math.max(0, s.resyncs - 1), 0);
    const loss = {
      sim_sent_minus_adapter_messages: await missedBySims(sims, () => vmd.stats().reduce((a, x) => a + x.messages, 0)),
      adapter_gaps: ad.reduce((a, s) => a + s.gaps, 0),
      adapter_checksum_failures: ad.reduce((a, s) => a + s.checksumFailures, 0),
      adapter_reconnects: ad.reduce((a, s) => a + s.reconnects + s.stalls, 0),
      adapter_resyncs_after_first_sync: extraResyncs,
      adapter_ticks_minus_ingestion_received: adapterTicks - Number(ing.received),
      ingestion_dropped_mailbox_full: droppedIngestion,
      ring_dropped: ringDropped,
      engine_missed: Number(es.missed),
      pushed_minus_engine_consumed: pushed - Number(es.ticks),
    };
    const zeroLoss = Object.values(loss).every((x) => x === 0);
    return {
      speed,
      sim_messages: w.sent,
      adapter_messages: msgs,
      ticks: adapterTicks,
      ingestion_accepted: Number(ing.accepted),
      // Quality-gate decisions (crossed, stale, ...): counted, not lost.
      ingestion_gate_rejects: Object.fromEntries(Object.entries(ing.dropped).filter(([k, n]) => k !== 'mailbox_full' && Number(n) > 0)),
      engine_consumed: Number(es.ticks),
      foreign,
      seconds: round(w.seconds, 3),
      simulator_send_seconds: round(w.sendSeconds, 3),
      msgs_per_s: Math.round(msgs / w.seconds),
      zero_loss: zeroLoss,
      loss,
      // Lag, not loss: exchange timestamps behind receipt by more than the stale threshold (ticks still delivered).
      adapter_stale_events: ad.reduce((a, x) => a + x.stale, 0),
      per_stream: ad.map((s) => ({ venue: s.venue, messages: s.messages, ticks: s.ticks, resyncs: s.resyncs, suppressed: s.suppressed })),
      cpu_us_per_msg: {
        simulators_process: perMsg(simCpu, msgs),
        this_process: perMsg(cpu.user + cpu.system, msgs),
        main_thread_adapters_ingestion_ringpush: perMsg(mainCpu, msgs),
        engine_thread_busy: perMsg(engineBusyUs, msgs),
      },
      cpu_share_of_window: {
        simulators_process: round(simCpu / 1e6 / w.seconds, 2),
        main_thread: round(mainCpu / 1e6 / w.seconds, 2),
      },
      // Share of the window each main thread was runnable but not running (waiting for a CPU).
      runqueue_wait_share_of_window: {
        simulators_process: round(simWait / 1e9 / w.seconds, 2),
        main_thread: round(mainWait / 1e9 / w.seconds, 2),
      },
    };
  } finally {
    await vmd.stop();
    ingestion.stop();
    engine.stop();
    await sims.stop();
    await bus.close();
    region.unlink();
    region.close();
    await refdata.close();
  }
}

async function startNats(): Promise<{ url: string; pid: number | undefined; stop(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-cap-nats-'));
  const child = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(NATS_PORT), '-sd', dir], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(NATS_PORT, '127.0.0.1');
      s.once('connect', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (ok) break;
    await sleep(25);
  }
  return {
    url: `nats://127.0.0.1:${NATS_PORT}`,
    pid: child.pid,
    stop: async () => {
      if (child.exitCode === null) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await done;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every sample of one metric (Prometheus text) as [labels, value]. */
async function samples(adminUrl: string, name: string): Promise<Array<[string, number]>> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const out: Array<[string, number]> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const sp = line.lastIndexOf(' ');
    out.push([line.slice(name.length, sp), Number(line.slice(sp + 1))]);
  }
  return out;
}

async function metric(adminUrl: string, re: RegExp): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}

async function natsStep(speed: number | 'instant', natsUrl: string, natsPid: number | undefined, dir: string) {
  const sims = await startSims(speed);
  const ep = endpoints(sims);
  const cfg = writeServiceConfig(path.join(dir, `cap-${String(speed)}.yaml`), LOOSE_RISK, {
    bus: { nats_url: natsUrl },
    session: { venues: [...VENUES], symbols: SYMBOLS },
    venues: Object.fromEntries(VENUES.map((v) => [v, { endpoints: { public_ws: ep[v].publicWs, public_rest: ep[v].publicRest } }])),
  });
  const procs: KestrelProcess[] = [];
  try {
    const engine = kestrel(['run', 'engine', '--config', cfg]);
    procs.push(engine);
    const engineAdmin = (await engine.line(/"event":"ready".*"adminUrl":"([^"]+)"/, 120_000))[1]!;
    const md = VENUES.map((v) => kestrel(['run', 'md', '--venues', v, '--config', cfg]));
    procs.push(...md);
    const mdAdmin = await Promise.all(md.map(async (p) => (await p.line(/"event":"ready".*"adminUrl":"([^"]+)"/, 120_000))[1]!));
    const pids = {
      simulators: sims.child.pid,
      engine: engine.child.pid,
      nats: natsPid,
      ...Object.fromEntries(VENUES.map((v, i) => [`md_${v}`, md[i]!.child.pid])),
    };
    const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, procCpu(p)]));
    const wait0 = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, runqueueWaitNs(p)]));
    const w = await watch(sims, () => metric(engineAdmin, /engine_process_messages\{kind="received"\} (\d+)/), 120_000);
    const cpu = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, procCpu(p) - cpu0[k]!]));
    const wait = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, runqueueWaitNs(p) - wait0[k]!]));
    // md's own loss counter (its drained line has received/accepted/published, not the drops).
    // The adapters' counters in each md process: messages taken and integrity events by kind.
    const adapterMessagesNow = async () =>
      (await Promise.all(mdAdmin.map((u) => samples(u, 'kestrel_md_adapter_messages_total')))).flat().reduce((a, [, v]) => a + v, 0);
    const simMinusAdapter = await missedBySims(sims, adapterMessagesNow);
    const adapterMessages = await adapterMessagesNow();
    const adapterEvents: Record<string, number> = {};
    let resyncsAfterFirst = 0;
    for (const [labels, v] of (await Promise.all(mdAdmin.map((u) => samples(u, 'kestrel_md_adapter_events_total')))).flat()) {
      const kind = /kind="([^"]+)"/.exec(labels)?.[1] ?? '?';
      adapterEvents[kind] = (adapterEvents[kind] ?? 0) + v;
      // One sample per venue: the first sync of a book is a resync by the adapter's count.
      if (kind === 'resync') resyncsAfterFirst += Math.max(0, v - 1);
    }
    const adapterReconnects = (await Promise.all(mdAdmin.map((u) => samples(u, 'kestrel_md_adapter_reconnects_total'))))
      .flat()
      .reduce((a, [, v]) => a + v, 0);
    const mdMailboxDrops = (
      await Promise.all(mdAdmin.map((u) => metric(u, /ingest_ticks_dropped_total\{reason="mailbox_full"\} (\d+)/)))
    ).reduce((a, b) => a + b, 0);
    for (const p of [...md, engine]) {
      p.child.kill('SIGTERM');
      await p.exited;
    }
    const drained = (p: KestrelProcess) =>
      JSON.parse(p.stdout.find((l) => l.includes('"event":"drained"')) ?? '{}') as Record<string, number>;
    const mdOut = md.map(drained) as unknown as Array<{ received?: number; accepted?: number; published?: { norm: number } }>;
    const en = drained(engine);
    const mdPublished = mdOut.reduce((a, d) => a + (d.published?.norm ?? 0), 0);
    const mdAccepted = mdOut.reduce((a, d) => a + (d.accepted ?? 0), 0);
    const mdReceived = mdOut.reduce((a, d) => a + (d.received ?? 0), 0);
    const loss = {
      sim_sent_minus_adapter_messages: simMinusAdapter,
      adapter_gap_checksum_parse_events: (adapterEvents.gap ?? 0) + (adapterEvents.checksum ?? 0) + (adapterEvents.parse ?? 0),
      adapter_reconnects: adapterReconnects,
      adapter_resyncs_after_first_sync: resyncsAfterFirst,
      md_ingestion_dropped_mailbox_full: mdMailboxDrops,
      md_accepted_minus_published: mdAccepted - mdPublished,
      md_published_minus_engine_received: mdPublished - (en.received ?? -1),
      engine_received_minus_pushed: (en.received ?? 0) - (en.pushed ?? -1),
      engine_malformed: en.malformed ?? -1,
    };
    return {
      speed,
      sim_messages: w.sent,
      adapter_messages: adapterMessages,
      adapter_events: adapterEvents,
      md_received_ticks: mdReceived,
      md_published: mdPublished,
      engine: en,
      seconds: round(w.seconds, 3),
      simulator_send_seconds: round(w.sendSeconds, 3),
      msgs_per_s: Math.round(w.sent / w.seconds),
      md_norm_per_s: Math.round(mdPublished / w.seconds),
      zero_loss: Object.values(loss).every((x) => x === 0) && mdPublished > 0,
      loss,
      cpu_us_per_msg: Object.fromEntries(Object.entries(cpu).map(([k, us]) => [k, perMsg(us, w.sent)])),
      cpu_share_of_window: Object.fromEntries(Object.entries(cpu).map(([k, us]) => [k, round(us / 1e6 / w.seconds, 2)])),
      runqueue_wait_share_of_window: Object.fromEntries(Object.entries(wait).map(([k, ns]) => [k, round(ns / 1e9 / w.seconds, 2)])),
    };
  } finally {
    for (const p of procs) await p.stop();
    await sims.stop();
  }
}

async function orders(walBase: string) {
  const cpu0 = mainThreadCpu();
  const wait0 = runqueueWaitNs(process.pid);
  const t0 = Date.now();
  const r = (await scenario(walBase, 50, ORDERS, 'simulator')) as { sustained: Record<string, unknown> };
  const seconds = (Date.now() - t0) / 1000;
  const st = r.sustained as { orders: number; venue_duplicates: number; venue_orders_received?: number; executor_orders_total?: number };
  return {
    // Every order the executor sent was received by the venue once: its own count, no duplicate.
    zero_loss: st.orders === ORDERS && st.venue_duplicates === 0 && st.venue_orders_received === st.executor_orders_total,
    runqueue_wait_share_of_run: round((runqueueWaitNs(process.pid) - wait0) / 1e9 / seconds, 2),
    main_thread_cpu_share_of_run: round((mainThreadCpu() - cpu0) / 1e6 / seconds, 2),
    path: 'executor → OrderGateway → private WebSocket client → simulated Binance venue (one process)',
    wal: walBase === '/dev/shm' ? 'tmpfs (/dev/shm): the fsync taken out, to tell the WAL from the CPU' : `disk (${walBase}, fdatasync)`,
    main_thread_cpu_s: round((mainThreadCpu() - cpu0) / 1e6, 2),
    ...r.sustained,
  };
}

export async function run(): Promise<object> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-cap-'));
  const loadBefore = os.loadavg().map((x) => round(x, 2));
  const inProcess = [];
  for (const s of PARTS.includes('a') ? SPEEDS : []) {
    inProcess.push(await inProcessStep(s));
    console.log(JSON.stringify({ step: 'in-process', ...inProcess[inProcess.length - 1] }));
  }
  const nats = await startNats();
  const overNats = [];
  try {
    for (const s of PARTS.includes('b') ? SPEEDS : []) {
      overNats.push(await natsStep(s, nats.url, nats.pid, dir));
      console.log(JSON.stringify({ step: 'nats', ...overNats[overNats.length - 1] }));
    }
  } finally {
    await nats.stop();
  }
  // The durable WAL (disk) is the figure; tmpfs beside it says whether the fsync or the CPU limits.
  const ord = [];
  for (const base of PARTS.includes('c') ? [os.tmpdir(), ...(fs.existsSync('/dev/shm') ? ['/dev/shm'] : [])] : []) {
    ord.push(await orders(base));
    console.log(JSON.stringify({ step: 'orders', ...ord[ord.length - 1] }));
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const best = (xs: Array<{ zero_loss: boolean; msgs_per_s: number }>) =>
    Math.max(0, ...xs.filter((x) => x.zero_loss).map((x) => x.msgs_per_s));
  return {
    quick: QUICK,
    cpus: os.availableParallelism(),
    loadavg_before: loadBefore,
    loadavg_after: os.loadavg().map((x) => round(x, 2)),
    highest_zero_loss_msgs_per_s: { in_process: best(inProcess), over_nats: best(overNats) },
    in_process: inProcess,
    over_nats: overNats,
    orders: ord,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await run(), null, 1));
  process.exit(0);
}
