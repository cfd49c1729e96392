/**
 * Execution benchmark: signal → order latency (intake call to ord.req leaving the executor, i.e.
 * TTL/confidence checks, routing, precision + slippage guards, local risk guard, nonce, encoding,
 * WAL append and its fdatasync) and sustained orders/s end to end (order acked and filled by the
 * simulated Binance venue through the real order gateway and private WebSocket client).
 *
 * Scenarios: WAL on the repo's disk (ext4, real fdatasync) and on /dev/shm (tmpfs: survives a
 * process crash, not a power loss) to separate the fsync from the executor's own cost.
 * Results: bench/results/execution.json.
 */
import { systemClock } from '../src/clock/clock.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import hdr from 'hdr-histogram-js';
import { InProcessBus } from '../src/bus/in-process-bus.js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { OrderAckSchema, OrderRequestSchema, OrderStatus, Side, Urgency, subjects } from '../src/contracts/index.js';
import { Executor } from '../src/execution/executor.js';
import { OrderState } from '../src/execution/order.js';
import { SnapshotStore, type ExecSignal } from '../src/execution/types.js';
import { StaticRiskGateway } from '../src/risk/static-gateway.js';
import { binanceSpec, startVenue } from '../test/execution/harness.js';

const repoRoot = path.resolve(import.meta.dirname, '..');

interface Lat {
  count: number;
  p50_us: number;
  p99_us: number;
  p999_us: number;
  max_us: number;
  mean_us: number;
}

function summary(h: hdr.Histogram): Lat {
  // Recorded in ns.
  const us = (v: number) => Math.round(v / 10) / 100;
  return {
    count: h.totalCount,
    p50_us: us(h.getValueAtPercentile(50)),
    p99_us: us(h.getValueAtPercentile(99)),
    p999_us: us(h.getValueAtPercentile(99.9)),
    max_us: us(h.maxValue),
    mean_us: us(h.mean),
  };
}

let seq = 0;
function signal(side: Side): ExecSignal {
  seq++;
  return {
    strategyId: 'bench',
    symbol: 'BTC-USDT',
    side,
    size: 0.001,
    confidence: 0.9,
    ttlMs: 10_000,
    maxSlippageBps: 50,
    minFillQty: 0,
    urgency: Urgency.NORMAL,
    traceId: `b${seq}`,
    sourceSequence: BigInt(seq),
    emitTsNs: systemClock.nowNs(),
    refPrice: 0,
  };
}

/**
 * Executor-only venue: answers ord.req at once with a full fill, so that the figures show the
 * executor's own cost without the simulated venue's WebSocket/JSON work sharing the two cores.
 */
function instantVenue(bus: InProcessBus): { market: SnapshotStore; stop(): void } {
  const market = new SnapshotStore();
  const sub = bus.subscribe(subjects.orderReq('binance', 'live'), (m) => {
    const r = fromBinary(OrderRequestSchema, m.data);
    const ack = create(OrderAckSchema, {
      clientId: r.clientId,
      venue: r.venue,
      symbol: r.symbol,
      side: r.side,
      status: OrderStatus.FILLED,
      filledQty: r.size,
      avgPrice: r.price,
      lastFillQty: r.size,
      lastFillPrice: r.price,
      accepted: true,
      venueOrderId: r.clientId,
    });
    m.respond(toBinary(OrderAckSchema, ack));
  });
  return { market, stop: () => sub.unsubscribe() };
}

/** Something attached to the executor before it starts (bench/audit.bench.ts: the audit trail); returns its teardown. */
export type Attach = (ex: Executor, bus: InProcessBus) => Promise<() => Promise<void>>;

export async function scenario(
  walBase: string,
  paced: number,
  burst: number,
  venueKind: 'simulator' | 'instant',
  attach?: Attach,
): Promise<object> {
  const bus = new InProcessBus();
  const venue =
    venueKind === 'simulator'
      ? await startVenue(bus, { balances: { USDT: 1e12, BTC: 1e9 } })
      : { ...instantVenue(bus), sim: undefined, client: undefined };
  venue.sim?.feedBook('BTC-USDT', [[100, 1e9]], [[100.1, 1e9]]);
  const risk = new StaticRiskGateway(bus, { perSymbolNotional: 1e15, portfolioNotional: 1e16, maxOrderNotional: 1e12 }, 'live', {
    clock: systemClock,
  });
  risk.start();
  const walDir = fs.mkdtempSync(path.join(walBase, 'kestrel-bench-wal-'));
  const ex = new Executor(
    {
      clock: systemClock,
      bus,
      venues: [binanceSpec()],
      market: venue.market,
      ...(venue.client ? { recon: { binance: venue.client } } : {}),
    },
    {
      mode: 'live',
      namespace: 'live',
      walDir,
      staleSnapshotMs: 3_600_000,
      concurrency: { globalMaxInflight: 256, perSymbolMaxInflight: 256, perVenueMaxInflight: { binance: 256 } },
      circuit: { default: { errorThreshold: 1_000_000, timeoutMs: 1000, halfOpenRequests: 1 } },
    },
  );
  const detach = attach ? await attach(ex, bus) : undefined;
  await ex.start();
  const intake = new Map<string, bigint>();
  let h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: 3 });
  ex.onSend((o, s) => {
    if (!s) return;
    const t = intake.get(s.traceId);
    if (t !== undefined) h.recordValue(Number(process.hrtime.bigint() - t));
    intake.delete(s.traceId);
  });
  venue.market.update('binance', 'BTC-USDT', 100, 100.1, 1e9, 1e9, systemClock.nowNs());
  const refresh = setInterval(() => venue.market.update('binance', 'BTC-USDT', 100, 100.1, 1e9, 1e9, systemClock.nowNs()), 100);

  // 1. Paced: one signal at a time, the next after the previous order finished.
  for (let i = 0; i < paced; i++) {
    const s = signal(i % 2 ? Side.SELL : Side.BUY);
    intake.set(s.traceId, process.hrtime.bigint());
    ex.onSignal(s);
    const target = i + 1;
    while (ex.counters.orders < target || ex.inflightCount > 0) await new Promise((r) => setImmediate(r));
  }
  const pacedLat = summary(h);
  const pacedRiskChecks = ex.counters.riskChecks;
  const st = ex.journal.log.stats;
  const pacedSync = { ...st, syncNs: st.syncNs.toString(), backgroundFlushNs: st.backgroundFlushNs.toString() };
  const fsyncMeanUs = Number(ex.journal.log.stats.syncNs) / ex.journal.log.stats.commits / 1000;

  // 2. Sustained: keep up to 256 orders in flight until `burst` orders have completed.
  h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: 3 });
  const commits0 = ex.journal.log.stats.commits;
  const start = ex.orders.size;
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  let issued = 0;
  while (true) {
    const done = ex.orders.size - start - ex.inflightCount;
    if (done >= burst) break;
    while (issued < burst && ex.inflightCount + ex.queuedCount < 256) {
      const s = signal(issued % 2 ? Side.SELL : Side.BUY);
      intake.set(s.traceId, process.hrtime.bigint());
      ex.onSignal(s);
      issued++;
    }
    await new Promise((r) => setImmediate(r));
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const orders = ex.counters.orders - start;
  const filled = [...ex.orders.values()].filter((o) => o.state === OrderState.FILLED).length;
  const commits = ex.journal.log.stats.commits - commits0;
  const burstLat = summary(h);
  clearInterval(refresh);
  const dup = venue.sim ? venue.sim.duplicatePlacements().length : 0;
  // The venue's own count of distinct client ids placed, against every order the executor sent (paced + sustained).
  const venueReceived = venue.sim ? Object.values(venue.sim.receivedCounts()).filter((c) => c.place > 0).length : undefined;
  const executorOrders = ex.counters.orders;
  await ex.close();
  await detach?.();
  risk.stop();
  await venue.stop();
  await bus.close();
  void venueKind;
  fs.rmSync(walDir, { recursive: true, force: true });
  return {
    venue: venueKind,
    wal: walBase,
    paced: {
      latency: pacedLat,
      risk_gateway_round_trips: pacedRiskChecks,
      fsync_mean_us: Math.round(fsyncMeanUs * 10) / 10,
      wal: pacedSync,
    },
    sustained: {
      orders,
      seconds: Math.round(secs * 1000) / 1000,
      orders_per_s: Math.round(orders / secs),
      filled_total: filled,
      // CPU of the whole process (executor + bus + venue side) per order: insensitive to other load.
      cpu_us_per_order: Math.round(((cpu.user + cpu.system) / orders) * 10) / 10,
      intents_per_fsync: Math.round((orders / Math.max(1, commits)) * 10) / 10,
      latency: burstLat,
      venue_duplicates: dup,
      ...(venueReceived !== undefined ? { venue_orders_received: venueReceived, executor_orders_total: executorOrders } : {}),
    },
  };
}

/** The durability floor on this disk right now: one 200-byte write + fdatasync, appended vs. preallocated. */
function fsyncFloor(dir: string, n: number): object {
  const out: Record<string, Lat> = {};
  for (const mode of ['append', 'preallocated'] as const) {
    const file = path.join(dir, `kestrel-fsync-${process.pid}-${mode}`);
    const fd = fs.openSync(file, 'w+');
    if (mode === 'preallocated') {
      fs.writeSync(fd, Buffer.alloc(n * 200 + 4096));
      fs.fsyncSync(fd);
    }
    const buf = Buffer.alloc(200, 7);
    const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: 3 });
    for (let i = 0; i < n; i++) {
      const t = process.hrtime.bigint();
      fs.writeSync(fd, buf, 0, 200, i * 200);
      fs.fdatasyncSync(fd);
      h.recordValue(Number(process.hrtime.bigint() - t));
    }
    fs.closeSync(fd);
    fs.rmSync(file);
    out[mode] = summary(h);
  }
  return out;
}

export async function run(): Promise<object> {
  const paced = Number(process.env.KESTREL_BENCH_PACED ?? 2000);
  const burst = Number(process.env.KESTREL_BENCH_BURST ?? 5000);
  const floor = { disk: fsyncFloor(os.tmpdir(), 1000), shm: fs.existsSync('/dev/shm') ? fsyncFloor('/dev/shm', 1000) : undefined };
  const scenarios = [];
  for (const venue of ['instant', 'simulator'] as const) {
    scenarios.push(await scenario(os.tmpdir(), paced, burst, venue));
    if (fs.existsSync('/dev/shm')) scenarios.push(await scenario('/dev/shm', paced, burst, venue));
  }
  const result = {
    bench: 'execution',
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    // The machine is shared: the 1/5/15-minute load averages at the end of the run qualify the figures.
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    measured: 'signal intake → ord.req sent (guards, risk, nonce, encode, WAL append + fdatasync)',
    fsync_floor: floor,
    scenarios,
  };
  const out = path.join(repoRoot, 'bench/results/execution.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(result, null, 2));
  // Every run is kept: the machine is shared, so figures are compared with their load average.
  fs.appendFileSync(path.join(repoRoot, 'bench/results/execution-runs.jsonl'), JSON.stringify(result) + '\n');
  return result;
}
