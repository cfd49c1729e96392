/**
 * Order-entry benchmarks against the simulated venues over real loopback sockets:
 * - place() to kernel: the call until the signed frame is written to the socket (our code's cost);
 * - place() to wire: the call until the frame's arrival on the venue's socket (simulator side,
 *   CLOCK_MONOTONIC), i.e. build + sign + serialize + send + kernel + the venue's WebSocket decode;
 * - gateway: ord.req.{venue} request on the in-process bus -> frame on the venue socket (the
 *   executor's view of "order leaves us");
 * - place() round trip (call -> venue ack resolved);
 * - sustained orders/s with 64 orders in flight;
 * cases interleaved over several rounds and merged, so machine-load bursts do not bias one venue;
 * - signing cost per request with a raw key vs a pre-built KeyObject.
 * SPEC's floor: signal -> order p99 < 500 µs.
 */
import { systemClock } from '../src/clock/clock.js';
import { spawn } from 'node:child_process';
import { createHash, createHmac, createPrivateKey, createSecretKey, sign as edSign } from 'node:crypto';
import { createInterface } from 'node:readline';
import os from 'node:os';
import path from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { InProcessBus } from '../src/bus/in-process-bus.js';
import { OrderRequestSchema, OrderType, Side, TimeInForce, subjects, type VenueName } from '../src/contracts/index.js';
import { startPrivateVenues, TEST_BINANCE_ED25519, TEST_CREDENTIALS } from '../src/simulators/private/index.js';
import { createOrderClient, OrderGateway, type VenueCredentials } from '../src/venues/index.js';

import type { Histogram } from 'hdr-histogram-js';
import { latencyHistogram, summarize } from './lib/hdr.js';

const N = Number(process.env.KESTREL_BENCH_ORDERS ?? 5000);
/** Untimed orders at the start of every round of every case (after a global warm-up pass). */
const WARMUP = 100;
const ROUNDS = 5;
const IN_FLIGHT = 64;

let seq = 0;
function order(venue: VenueName) {
  // Non-marketable IOC: acked and expired at once, so balances never run out during the run.
  return create(OrderRequestSchema, {
    clientId: `B${(++seq).toString(36)}x${process.pid % 1000}`,
    venue,
    symbol: 'BTC-USDT',
    side: Side.BUY,
    size: 0.001,
    price: 49_000,
    tif: TimeInForce.IOC,
    orderType: OrderType.LIMIT,
  });
}

function signing(iterations = 50_000) {
  const out: Record<string, number> = {};
  const time = (name: string, fn: () => void): void => {
    for (let i = 0; i < 2000; i++) fn();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    out[name] = Math.round(Number(process.hrtime.bigint() - t0) / iterations);
  };
  const payload =
    'apiKey=k&newClientOrderId=B1&newOrderRespType=ACK&price=49000&quantity=0.001&recvWindow=5000&side=BUY&symbol=BTCUSDT&timeInForce=IOC&timestamp=1700000000000&type=LIMIT';
  const bSecret = TEST_CREDENTIALS.binance.apiSecret;
  const bKey = createSecretKey(Buffer.from(bSecret));
  time('binance_hmac_sha256_raw_key_ns', () => createHmac('sha256', bSecret).update(payload).digest('hex'));
  time('binance_hmac_sha256_key_object_ns', () => createHmac('sha256', bKey).update(payload).digest('hex'));
  const edKey = createPrivateKey(TEST_BINANCE_ED25519.privateKeyPem);
  time('binance_ed25519_sign_ns', () => edSign(null, Buffer.from(payload), edKey).toString('base64'));
  const kSecret = TEST_CREDENTIALS.kraken.apiSecret;
  const kKey = createSecretKey(Buffer.from(kSecret, 'base64'));
  const kSign = (key: Parameters<typeof createHmac>[1]) => {
    const sha = createHash('sha256').update('1700000000000000nonce=1700000000000000').digest();
    return createHmac('sha512', key).update('/0/private/GetWebSocketsToken').update(sha).digest('base64');
  };
  time('kraken_api_sign_decode_each_time_ns', () => kSign(Buffer.from(kSecret, 'base64')));
  time('kraken_api_sign_key_object_ns', () => kSign(kKey));
  const oSecret = TEST_CREDENTIALS.okx.apiSecret;
  const oKey = createSecretKey(Buffer.from(oSecret));
  time('okx_hmac_sha256_raw_key_ns', () => createHmac('sha256', oSecret).update('1700000000GET/users/self/verify').digest('base64'));
  time('okx_hmac_sha256_key_object_ns', () => createHmac('sha256', oKey).update('1700000000GET/users/self/verify').digest('base64'));
  return out;
}

/**
 * CPU cost of place() up to the socket: checks, tracking, params, signature, JSON, with the socket
 * replaced by a stub that only records the frame (no syscall, no venue), so it is the part of the
 * latency that is our code's alone.
 */
export async function encodeCost(venue: VenueName, credentials: VenueCredentials = TEST_CREDENTIALS[venue], iterations = 20_000) {
  // 1 ms request timeout + a yield every 200 orders: the never-answered requests are cleaned up
  // as we go, so the heap stays small and GC does not pollute the figures.
  const client = createOrderClient(venue, {
    clock: systemClock,
    wsUrl: 'ws://127.0.0.1:1/',
    restUrl: 'http://127.0.0.1:1',
    credentials,
    requestTimeoutMs: 1,
  });
  let bytes = 0;
  const stub = { readyState: 1, send: (b: Buffer) => void (bytes += b.length) };
  (client as unknown as { ws: unknown }).ws = stub;
  if (credentials.ed25519PrivateKeyPem) (client as unknown as { session: boolean }).session = true;
  const h = latencyHistogram();
  for (let i = 0; i < iterations; i++) {
    const req = order(venue);
    const t0 = process.hrtime.bigint();
    const p = client.place(req);
    const t1 = process.hrtime.bigint();
    p.catch(() => undefined);
    if (i >= 2000) h.recordValue(Number(t1 - t0));
    if (i % 200 === 199) await new Promise((r) => setTimeout(r, 2));
  }
  (client as unknown as { ws: unknown }).ws = undefined;
  await client.close();
  return { ...summarize(h), frame_bytes: Math.round(bytes / iterations) };
}

interface Target {
  readonly ws: string;
  readonly rest: string;
}

async function arrivals(t: Target): Promise<Map<string, bigint>> {
  const r = (await (await fetch(`${t.rest}/__sim/arrivals`)).json()) as Record<string, string>;
  return new Map(Object.entries(r).map(([k, v]) => [k, BigInt(v)]));
}

/** Histograms of one measured case, filled over several interleaved rounds. */
interface Acc {
  toKernel: Histogram;
  toWire: Histogram;
  gateway: Histogram;
  roundTrip: Histogram;
  orders: number;
  secs: number;
}

function newAcc(): Acc {
  return {
    toKernel: latencyHistogram(),
    toWire: latencyHistogram(),
    gateway: latencyHistogram(),
    roundTrip: latencyHistogram(),
    orders: 0,
    secs: 0,
  };
}

function finish(a: Acc) {
  return {
    place_to_kernel: summarize(a.toKernel),
    place_to_wire: summarize(a.toWire),
    gateway_request_to_wire: summarize(a.gateway),
    place_ack_round_trip: summarize(a.roundTrip),
    sustained: { orders: a.orders, in_flight: IN_FLIGHT, orders_per_s: Math.round(a.orders / a.secs) },
  };
}

/** Latency to the wire: arrival time recorded by the simulator minus our send time, per client id. */
function recordToWire(h: Histogram, sent: Map<string, bigint>, seen: Map<string, bigint>): void {
  for (const [id, t0] of sent) {
    const t1 = seen.get(id);
    if (t1 === undefined) throw new Error(`simulator never saw order ${id}`);
    h.recordValue(Number(t1 - t0));
  }
}

/** One round of one case: n sequential orders per path, then a sustained burst of 4n. */
export async function venueBench(venue: VenueName, target: Target, credentials: VenueCredentials, n: number, acc: Acc): Promise<void> {
  const client = createOrderClient(venue, {
    clock: systemClock,
    wsUrl: target.ws,
    restUrl: target.rest,
    credentials,
    requestTimeoutMs: 5000,
  });
  await client.connect();

  // 1) place() -> bytes on the venue socket, and the full ack round trip.
  // place() runs synchronously up to ws.send -> socket write (libuv tries the write at once), so the
  // moment it returns its promise the signed frame is in the kernel socket buffer.
  const sent = new Map<string, bigint>();
  for (let i = 0; i < WARMUP + n; i++) {
    const req = order(venue);
    const t0 = process.hrtime.bigint();
    const pending = client.place(req);
    const t1 = process.hrtime.bigint();
    const ack = await pending;
    if (i >= WARMUP) {
      acc.roundTrip.recordValue(Number(process.hrtime.bigint() - t0));
      acc.toKernel.recordValue(Number(t1 - t0));
      sent.set(req.clientId, t0);
    }
    if (!ack.accepted) throw new Error(`bench order refused: ${ack.rejectDetail}`);
  }
  recordToWire(acc.toWire, sent, await arrivals(target));

  // 2) gateway: bus request -> bytes on the venue socket.
  const bus = new InProcessBus();
  const gw = new OrderGateway({
    clock: systemClock,
    namespace: 'live',
    bus,
    client,
    spec: { venue, hasPrivateWs: true, venuePolicy: 'production' },
    healthIntervalMs: 0,
  });
  await gw.start();
  const subject = subjects.orderReq(venue, 'live');
  const sentGw = new Map<string, bigint>();
  for (let i = 0; i < WARMUP + n; i++) {
    const req = order(venue);
    const bytes = toBinary(OrderRequestSchema, req);
    const t0 = process.hrtime.bigint();
    await bus.request(subject, bytes, { timeoutMs: 5000 });
    if (i >= WARMUP) sentGw.set(req.clientId, t0);
  }
  recordToWire(acc.gateway, sentGw, await arrivals(target));

  // 3) sustained throughput, IN_FLIGHT outstanding.
  const total = 4 * n;
  const tp0 = process.hrtime.bigint();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      next++;
      const ack = await client.place(order(venue));
      if (!ack.accepted) throw new Error(`bench order refused: ${ack.rejectDetail}`);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  acc.secs += Number(process.hrtime.bigint() - tp0) / 1e9;
  acc.orders += total;
  await arrivals(target); // drain the probe

  await gw.stop();
  await bus.close();
}

interface Case {
  readonly name: string;
  readonly venue: VenueName;
  readonly credentials: VenueCredentials;
}

function cases(): Case[] {
  return [
    { name: 'binance', venue: 'binance', credentials: TEST_CREDENTIALS.binance },
    { name: 'binance_ed25519_session', venue: 'binance', credentials: ED25519 },
    { name: 'kraken', venue: 'kraken', credentials: TEST_CREDENTIALS.kraken },
    { name: 'okx', venue: 'okx', credentials: TEST_CREDENTIALS.okx },
  ];
}

/**
 * The cases run interleaved in ROUNDS rounds (each round n/ROUNDS orders per case) and merge into
 * one histogram per case, so a burst of load on the shared machine spreads over all cases instead
 * of landing on whichever venue happened to be measured at that moment.
 */
async function measure(targets: Record<VenueName, Target>, total: number) {
  const acc = new Map(cases().map((c) => [c.name, newAcc()]));
  const per = Math.max(1, Math.round(total / ROUNDS));
  for (let r = 0; r < ROUNDS; r++)
    for (const c of cases()) await venueBench(c.venue, targets[c.venue], c.credentials, per, acc.get(c.name)!);
  return Object.fromEntries([...acc].map(([k, a]) => [k, finish(a)]));
}

/** Simulators in this process: one event loop, so the venue can never preempt us (but shares our loop). */
async function inProcess(total = N) {
  const venues = await startPrivateVenues({ mode: 'paper', rateLimit: { limit: 0, windowMs: 1000 } });
  try {
    for (const sim of venues.all) {
      sim.recordArrivals();
      sim.feedBook('BTC-USDT', [[49_999, 100]], [[50_001, 100]]);
    }
    const t = (v: VenueName): Target => ({ ws: venues[v].wsUrl, rest: venues[v].url });
    const out = await measure({ binance: t('binance'), kraken: t('kraken'), okx: t('okx') }, total);
    for (const sim of venues.all) if (sim.duplicatePlacements().length) throw new Error(`${sim.venue}: duplicate client ids`);
    return out;
  } finally {
    await venues.stop();
  }
}

/** Simulators in their own process (as a remote venue would be): only our side is on our loop. */
async function separateProcess(total = N) {
  const repo = path.resolve(import.meta.dirname, '..');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/simulators/private/main.ts', '--probe', '--no-rate-limit'], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (c) => reject(new Error(`simulator process exited with ${c}`)));
    });
    const info = JSON.parse(line) as Record<VenueName, Target>;
    for (const venue of VENUES_LIST) {
      await fetch(`${info[venue].rest}/__sim/book`, {
        method: 'POST',
        body: JSON.stringify({ symbol: 'BTC-USDT', bids: [[49_999, 100]], asks: [[50_001, 100]] }),
      });
    }
    const out = await measure(info, total);
    for (const venue of VENUES_LIST) {
      const state = (await (await fetch(`${info[venue].rest}/__sim/state`)).json()) as { duplicates: string[] };
      if (state.duplicates.length !== 0) throw new Error(`${venue}: simulator saw duplicate client ids`);
    }
    return out;
  } finally {
    child.kill('SIGTERM');
  }
}

const VENUES_LIST = ['binance', 'kraken', 'okx'] as const;
const ED25519: VenueCredentials = {
  apiKey: TEST_BINANCE_ED25519.apiKey,
  apiSecret: '',
  ed25519PrivateKeyPem: TEST_BINANCE_ED25519.privateKeyPem,
};

export async function run(): Promise<object> {
  // Warm-up pass (discarded): JIT and buffers of the shared paths (ws, JSON, bus, sims) get hot
  // before anything is measured, so the first venue measured is not penalised.
  await inProcess(1000);
  const loadBefore = os.loadavg();
  const result: Record<string, unknown> = {
    orders_per_venue: N,
    signing_ns_per_op: signing(),
    place_cpu_to_socket: {
      binance: await encodeCost('binance'),
      binance_ed25519_session: await encodeCost('binance', ED25519),
      kraken: await encodeCost('kraken'),
      okx: await encodeCost('okx'),
    },
    simulator_in_separate_process: await separateProcess(),
    simulator_in_same_process: await inProcess(),
  };
  // The machine is shared: latency tails track its load, so record it with the figures.
  result.load_average_1m = { before: loadBefore[0], after: os.loadavg()[0] };
  return result;
}
