/**
 * Bus benchmarks: one internal hop (publish → subscriber callback) and request-reply round trips,
 * on the InProcessBus and on the real NATS server; plus publish throughput. SPEC asks an internal
 * hop p99 under 100 µs.
 */
import { InProcessBus } from '../src/bus/in-process-bus.js';
import { NatsBus } from '../src/bus/nats-bus.js';
import type { Bus } from '../src/bus/bus.js';
import { latencyHistogram, summarize } from './lib/hdr.js';

const NATS_URL = process.env.KESTREL_NATS_URL ?? 'nats://127.0.0.1:4222';
const payload = new Uint8Array(128);

async function hop(bus: Bus, n: number) {
  const h = latencyHistogram();
  const subject = `bench.hop.${process.pid}`;
  let sentAt = 0n;
  let resolveOne: () => void = () => {};
  bus.subscribe(subject, () => {
    h.recordValue(Number(process.hrtime.bigint() - sentAt));
    resolveOne();
  });
  await bus.flush();
  for (let i = 0; i < n; i++) {
    const done = new Promise<void>((r) => (resolveOne = r));
    sentAt = process.hrtime.bigint();
    bus.publish(subject, payload);
    await done;
  }
  return summarize(h);
}

async function requestReply(bus: Bus, n: number) {
  const h = latencyHistogram();
  const subject = `bench.rr.${process.pid}`;
  bus.subscribe(subject, (m) => m.respond(m.data));
  await bus.flush();
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await bus.request(subject, payload, { timeoutMs: 1000 });
    h.recordValue(Number(process.hrtime.bigint() - t0));
  }
  return summarize(h);
}

async function throughput(bus: Bus, n: number) {
  const subject = `bench.tp.${process.pid}`;
  let got = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  bus.subscribe(subject, () => {
    if (++got === n) done();
  });
  await bus.flush();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    bus.publish(subject, payload);
    if (bus.kind === 'in-process' && i % 1024 === 0) await bus.flush();
  }
  await finished;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { messages: n, payload_bytes: payload.length, msgs_per_s: Math.round(n / s) };
}

async function suite(bus: Bus) {
  await hop(bus, 2000); // warm-up
  return {
    hop: await hop(bus, 20_000),
    request_reply: await requestReply(bus, 10_000),
    publish_deliver: await throughput(bus, 200_000),
  };
}

export async function run(): Promise<object> {
  const inproc = new InProcessBus();
  const inProcess = await suite(inproc);
  await inproc.close();
  let nats: object;
  try {
    const bus = await NatsBus.connect({ servers: NATS_URL });
    nats = await suite(bus);
    await bus.close();
  } catch (err) {
    nats = { error: `NATS not reachable at ${NATS_URL}: ${(err as Error).message}` };
  }
  return { in_process: inProcess, nats };
}
