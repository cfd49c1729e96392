/**
 * Latency across processes (issue 14 item 6): the same two paths as the in-process benches
 * (hotpath: tick → signal; signal-to-wire: signal → order frame at the venue), with every service in
 * its own OS process over a real NATS server on this host.
 *
 * 1. tick → signal: this process publishes normalized ticks on md.norm.binance.BTC-USDT at a
 *    fixed rate; `kestrel run engine` (its own process: md.norm → its rings → native engine → sig.*)
 *    publishes Signals; this process receives them on sig.>. A signal carries its tick's
 *    recvTsNs (sourceRecvTsNs), which maps it back to the publish stamp taken here: both stamps are
 *    process.hrtime (CLOCK_MONOTONIC) of this one process, so no clock comparison is involved.
 * 2. signal → wire: this process publishes Signals on sig.xb.BTC-USDT; `kestrel run executor`
 *    (binance in services.executor.remote_gateways: it has no venue keys and requests ord.req.binance)
 *    → `kestrel run gateway --venue binance` (HMAC-signed WebSocket order frame) → the Binance private
 *    simulator with --probe (its own process, stamps each order frame on arrival, CLOCK_MONOTONIC).
 *    The Signal's traceId maps to the order's client id through the OrderRequest this process also
 *    sees on ord.req.binance. Stamps compared: publish here (hrtime) vs arrival in the venue process
 *    (hrtime): one monotonic clock on one host. risk.check is answered by a StaticRiskGateway in this
 *    process (notional caps), as the distributed deployment's `run risk` would answer it.
 *    Cases: the executor's WAL on disk (os.tmpdir(), ext4 fdatasync) and on tmpfs (/dev/shm), each a
 *    fresh executor process, interleaved over ROUNDS rounds.
 * Results: bench/results/cross-process.json. Runs in about a minute on the shared 2-vCPU VM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { Histogram } from 'hdr-histogram-js';
import { NatsBus } from '../src/bus/nats-bus.js';
import { systemClock } from '../src/clock/clock.js';
import { OrderRequestSchema, Side, SignalSchema, TickSchema, Urgency, patterns, subjects } from '../src/contracts/index.js';
import { LAYOUT, type TickInput } from '../src/native/index.js';
import { StaticRiskGateway } from '../src/risk/static-gateway.js';
import { TEST_CREDENTIALS } from '../src/simulators/private/venues.js';
import { syntheticTicks } from '../scripts/gen-golden-synthetic.js';
import { startOwnNats } from '../test/support/nats-server.js';
import { kestrel, repoRoot, type KestrelProcess } from '../test/support/processes.js';
import { LOOSE_RISK, privateEndpoints, writeServiceConfig } from '../test/support/service-config.js';
import { latencyHistogram, summarize } from './lib/hdr.js';

const TICK_RATES = (process.env.KESTREL_BENCH_XP_TICK_RATES ?? '1000,10000').split(',').map(Number);
const TICK_SECONDS = (process.env.KESTREL_BENCH_XP_TICK_SECONDS ?? '8,3').split(',').map(Number);
/**
 * The engine process runs the configured strategy (no bench-only parameters reach it), whose 1 s
 * cooldown is event time: ticks 500 ms apart in event time make ~3% of them signal (20 ms apart,
 * 0.16%), enough signals for a p99 within seconds. The OU window fills within the first ~150 ticks.
 */
const EVENT_SPACING_NS = 500_000_000;
const WARMUP_TICKS = 1000;
const SIGNAL_RATES = (process.env.KESTREL_BENCH_XP_SIGNAL_RATES ?? '100,250').split(',').map(Number);
const SIGNAL_SECONDS = Number(process.env.KESTREL_BENCH_XP_SIGNAL_SECONDS ?? 2);
const ROUNDS = Number(process.env.KESTREL_BENCH_XP_ROUNDS ?? 2);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rec = (h: Histogram, ns: bigint): void => h.recordValue(Math.max(1, Number(ns)));
const now = () => process.hrtime.bigint();

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const ready = async (p: KestrelProcess): Promise<string> => (await p.line(/"event":"ready".*"adminUrl":"([^"]+)"/, 120_000))[1]!;

/** Publish `ticks` at `rate` per second, due ticks every millisecond (as ingestion would). */
async function paced(count: number, rate: number, publish: (i: number) => void): Promise<void> {
  const t0 = now();
  let i = 0;
  while (i < count) {
    const due = Math.min(count, Math.floor((Number(now() - t0) / 1e9) * rate) + 1);
    for (; i < due; i++) publish(i);
    await sleep(1);
  }
}

async function tickToSignal(bus: NatsBus, cfg: string) {
  const perRate = TICK_RATES.map((r, i) => r * (TICK_SECONDS[i] ?? TICK_SECONDS[0]!));
  const total = WARMUP_TICKS + perRate.reduce((a, b) => a + b, 0);
  const { ticks } = syntheticTicks({ ticks: total, seed: 11n, tradeProb: 0.2, spacingNs: EVENT_SPACING_NS });
  // recvTsNs is the engine's event time (strategy windows) and the key back to the publish stamp.
  let last = 0n;
  const recv = ticks.map((t) => (last = t.tsNs > last ? t.tsNs : last + 1n));
  const pubAt = new Map<bigint, bigint>();
  let hist: Histogram | undefined;
  let signals = 0;
  const sub = bus.subscribe(patterns.signalsAll('live'), (m) => {
    const at = now();
    signals++;
    const s = fromBinary(SignalSchema, m.data);
    const p = pubAt.get(s.sourceRecvTsNs);
    if (p !== undefined && hist) rec(hist, at - p);
  });
  const subject = subjects.mdNorm('binance', 'BTC-USDT', 'live');
  const publish = (k: number): void => {
    const t: TickInput = ticks[k]!;
    const trade = (t.flags & LAYOUT.kFlagTrade) !== 0;
    const msg = create(TickSchema, {
      venue: 'binance',
      symbol: 'BTC-USDT',
      exchTsNs: recv[k]!,
      recvTsNs: recv[k]!,
      flags: t.flags & LAYOUT.kFlagTrade,
      ...(trade
        ? { lastPx: t.bid, lastQty: t.bidSize, aggressor: t.flags & LAYOUT.kFlagBuyAggressor ? 1 : -1 }
        : { bid: t.bid, ask: t.ask, bidSize: t.bidSize, askSize: t.askSize }),
    });
    const data = toBinary(TickSchema, msg);
    pubAt.set(recv[k]!, now());
    bus.publish(subject, data);
  };
  const engine = kestrel(['run', 'engine', '--config', cfg, '--symbols', 'BTC-USDT']);
  try {
    await engine.line(/"event":"ready"/, 120_000);
    // Warm-up (discarded): fills the strategy's windows, JIT in both processes.
    await paced(WARMUP_TICKS, 5000, publish);
    await bus.flush();
    await sleep(500);
    let k = WARMUP_TICKS;
    const out: Record<string, object> = {};
    for (let r = 0; r < TICK_RATES.length; r++) {
      hist = latencyHistogram();
      const base = k;
      const s0 = signals;
      const load = os.loadavg()[0];
      await paced(perRate[r]!, TICK_RATES[r]!, (i) => publish(base + i));
      k += perRate[r]!;
      await bus.flush();
      await sleep(500);
      out[`${TICK_RATES[r]}_ticks_per_s`] = {
        ticks: perRate[r],
        signals: signals - s0,
        loadavg_1m_at_start: load,
        latency_ns: summarize(hist),
      };
    }
    hist = undefined;
    engine.child.kill('SIGTERM');
    await engine.exited;
    // The engine's own count (received, pushed, foreign, malformed, signals): every tick taken, none lost.
    const drained = engine.stdout.find((l) => l.includes('"event":"drained"'));
    return { engine: drained === undefined ? undefined : (JSON.parse(drained) as object), ...out };
  } finally {
    sub.unsubscribe();
    await engine.stop();
  }
}

interface SimInfo {
  binance: { ws: string; rest: string };
}

async function startVenue(): Promise<{ child: ChildProcess; info: SimInfo }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/simulators/private/main.ts', '--probe', '--no-rate-limit'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (c) => reject(new Error(`simulator process exited with ${c}`)));
  });
  const info = JSON.parse(line) as SimInfo;
  // The book 100 USDT away from the market the executor sees: every IOC order is acked and expires.
  const r = await fetch(`${info.binance.rest}/__sim/book`, {
    method: 'POST',
    body: JSON.stringify({ symbol: 'BTC-USDT', bids: [[29_900, 1e6]], asks: [[30_100, 1e6]] }),
  });
  if (!r.ok) throw new Error(`simulator refused the book: ${await r.text()}`);
  return { child, info };
}

const STAGES = ['signalToWire', 'signalToOrdReq', 'ordReqToWire'] as const;
type Stages = Record<(typeof STAGES)[number], Histogram>;
const stages = (): Stages => Object.fromEntries(STAGES.map((k) => [k, latencyHistogram()])) as Stages;
/** One rate's figures, merged over the rounds; orders/s at the venue per round tells a backlog apart. */
interface RateAcc {
  h: Stages;
  ordersPerSecAtVenue: number[];
}

/** One executor process (its WAL in `walBase`), signals at each rate; merged into `acc`. */
async function signalRound(bus: NatsBus, info: SimInfo, cfgFor: (walDir: string) => string, walBase: string, acc: Map<number, RateAcc>) {
  const walDir = fs.mkdtempSync(path.join(walBase, 'kestrel-bench-xp-wal-'));
  const executor = kestrel(['run', 'executor', '--config', cfgFor(walDir)], {
    KESTREL_BINANCE_API_KEY: '',
    KESTREL_BINANCE_API_SECRET: '',
  });
  const pubAt = new Map<string, bigint>();
  const reqs = new Map<string, { trace: string; at: bigint }>();
  const sub = bus.subscribe(subjects.orderReq('binance', 'live'), (m) => {
    const at = now();
    const o = fromBinary(OrderRequestSchema, m.data);
    reqs.set(o.clientId, { trace: o.traceId, at });
  });
  let seq = 0;
  const send = (): void => {
    const traceId = `xp-${process.pid}-${seq}`;
    const s = create(SignalSchema, {
      strategyId: 'xb',
      symbol: 'BTC-USDT',
      venue: 'binance',
      side: seq % 2 === 0 ? Side.BUY : Side.SELL,
      size: 0.001,
      confidence: 0.9,
      ttlMs: 5000,
      maxSlippageBps: 10,
      urgency: Urgency.NORMAL,
      traceId,
      emitTsNs: systemClock.nowNs(),
    });
    seq++;
    const data = toBinary(SignalSchema, s);
    pubAt.set(traceId, now());
    bus.publish(subjects.signal('xb', 'BTC-USDT', 'live'), data);
  };
  const arrivals = async () => {
    const r = (await (await fetch(`${info.binance.rest}/__sim/arrivals`)).json()) as Record<string, string>;
    return new Map(Object.entries(r).map(([k, v]) => [k, BigInt(v)]));
  };
  try {
    await ready(executor);
    // Warm-up (discarded): the first orders open the WAL segment, JIT in every process.
    for (let i = 0; i < 200; i++) {
      send();
      await sleep(2);
    }
    await until(() => reqs.size >= 200, 30_000, 'the warm-up orders');
    await sleep(300);
    await arrivals();
    for (const rate of SIGNAL_RATES) {
      pubAt.clear();
      reqs.clear();
      const n = rate * SIGNAL_SECONDS;
      await paced(n, rate, send);
      await until(() => reqs.size >= n, 30_000, `${n} orders on ord.req.binance`).catch((e: unknown) => {
        throw new Error(`${String(e)}: got ${reqs.size}; executor: ${executor.stderr().slice(-3000)}`);
      });
      await sleep(300);
      const seen = await arrivals();
      const a = acc.get(rate) ?? { h: stages(), ordersPerSecAtVenue: [] };
      acc.set(rate, a);
      const h = a.h;
      let first = -1n;
      let last = 0n;
      for (const [clientId, { trace, at }] of reqs) {
        const wire = seen.get(clientId);
        const p = pubAt.get(trace);
        if (wire === undefined) throw new Error(`the venue never saw order ${clientId}`);
        if (p === undefined) throw new Error(`order ${clientId} for an unknown signal ${trace}`);
        if (first < 0n || wire < first) first = wire;
        if (wire > last) last = wire;
        rec(h.signalToWire, wire - p);
        rec(h.signalToOrdReq, at - p);
        rec(h.ordReqToWire, wire - at);
      }
      a.ordersPerSecAtVenue.push(Math.round(reqs.size / (Number(last - first) / 1e9)));
    }
  } finally {
    sub.unsubscribe();
    await executor.stop();
    fs.rmSync(walDir, { recursive: true, force: true });
  }
}

export async function run(): Promise<object> {
  const nats = await startOwnNats();
  if (!nats) throw new Error('cross-process bench needs a nats-server binary');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-bench-xp-'));
  const bus = await NatsBus.connect({ servers: nats.url });
  const loadBefore = os.loadavg();
  let venue: ChildProcess | undefined;
  let gateway: KestrelProcess | undefined;
  let risk: StaticRiskGateway | undefined;
  let mdTimer: NodeJS.Timeout | undefined;
  try {
    const base = { bus: { nats_url: nats.url }, admin: { token_file: path.join(dir, 'admin.token') } };
    const engineCfg = writeServiceConfig(path.join(dir, 'engine.yaml'), LOOSE_RISK, base);
    const tick = await tickToSignal(bus, engineCfg);

    const v = await startVenue();
    venue = v.child;
    const cfgFor = (walDir: string) =>
      writeServiceConfig(
        path.join(dir, `exec-${path.basename(walDir)}.yaml`),
        LOOSE_RISK,
        privateEndpoints('binance', v.info.binance.ws, v.info.binance.rest),
        base,
        {
          execution: { wal_dir: walDir, stale_snapshot_ms: 5000 },
          services: { executor: { remote_gateways: ['binance'], reconcile_interval_ms: 0 } },
        },
      );
    risk = new StaticRiskGateway(bus, { perSymbolNotional: 1e12, portfolioNotional: 1e13, maxOrderNotional: 1e9 }, 'live', {
      clock: systemClock,
    });
    risk.start();
    // The executor's market view: a top of book at 30,000 every 20 ms, as ingestion would publish it.
    mdTimer = setInterval(() => {
      const t = create(TickSchema, {
        venue: 'binance',
        symbol: 'BTC-USDT',
        bid: 29_999.9,
        ask: 30_000.1,
        bidSize: 10,
        askSize: 10,
        recvTsNs: systemClock.nowNs(),
      });
      bus.publish(subjects.mdNorm('binance', 'BTC-USDT', 'live'), toBinary(TickSchema, t));
    }, 20);
    const creds = TEST_CREDENTIALS.binance;
    gateway = kestrel(['run', 'gateway', '--venue', 'binance', '--config', cfgFor(path.join(dir, 'gw-wal'))], {
      KESTREL_BINANCE_API_KEY: creds.apiKey,
      KESTREL_BINANCE_API_SECRET: creds.apiSecret,
    });
    await ready(gateway);
    const cases = [{ wal: `disk (${os.tmpdir()}, fdatasync)`, base: os.tmpdir(), acc: new Map<number, RateAcc>() }];
    if (fs.existsSync('/dev/shm')) cases.push({ wal: 'tmpfs (/dev/shm)', base: '/dev/shm', acc: new Map() });
    for (let r = 0; r < ROUNDS; r++) for (const c of cases) await signalRound(bus, v.info, cfgFor, c.base, c.acc);
    const state = (await (await fetch(`${v.info.binance.rest}/__sim/state`)).json()) as { duplicates: string[] };
    if (state.duplicates.length !== 0) throw new Error(`the venue saw duplicate client ids: ${state.duplicates.slice(0, 5).join(', ')}`);
    return {
      measured:
        'tick_to_signal: md.norm publish → Signal received on sig.> (engine in its own process); signal_to_wire: Signal publish → order frame arrival in the venue process (executor, gateway, venue each their own process); CLOCK_MONOTONIC, ns',
      processes:
        'nats-server, bench (publisher, subscriber, risk.check responder), kestrel run engine | kestrel run executor + kestrel run gateway --venue binance + private simulator --probe',
      cpus: os.availableParallelism(),
      rounds: ROUNDS,
      loadavg_before: loadBefore,
      loadavg_after: os.loadavg(),
      tick_to_signal: tick,
      signal_to_wire: cases.map((c) => ({
        wal: c.wal,
        ...Object.fromEntries(
          [...c.acc].map(([rate, a]) => [
            `${rate}_signals_per_s`,
            { orders_per_s_at_venue_per_round: a.ordersPerSecAtVenue, ...Object.fromEntries(STAGES.map((k) => [k, summarize(a.h[k])])) },
          ]),
        ),
      })),
    };
  } finally {
    clearInterval(mdTimer);
    risk?.stop();
    await gateway?.stop();
    if (venue && venue.exitCode === null) {
      const done = new Promise((r) => venue!.once('exit', r));
      venue.kill('SIGTERM');
      await done;
    }
    await bus.close();
    await nats.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
