/**
 * Measures the wall-clock offset between processes on this machine, as the executor's signal TTL
 * check sees it: the emitter stamps `emit_ts_ns` with its clock, the executor compares it with its
 * own (docs/PERFORMANCE.md "Clock skew", executor `maxClockSkewMs`).
 *
 * Method (NTP-style, over NATS request-reply): this process starts `--processes` fresh responder
 * processes one after another (each anchors its clock at its own start, as every service does) and
 * sends each `--samples` requests. For one exchange, t0 and t3 are this process's clock before the
 * request and after the reply, tR the responder's clock when it answered; the offset estimate is
 * tR − (t0 + t3) / 2, exact to within ±(t3 − t0) / 2. Per responder, the estimate of the exchange
 * with the smallest round trip is kept (queueing delays only widen the window). Both clocks are
 * measured: `systemClock` of src/clock (the process-wide clock that composition roots inject into
 * the executor, its TTL clock) and a fresh `SystemClock` (as a component anchoring its own would).
 *
 * CLI: npx tsx scripts/measure-clock-skew.ts [--nats nats://127.0.0.1:4222] [--processes 8] [--samples 2000]
 * Prints one JSON document: machine, load, and per clock the offsets with their error bounds and
 * the skew bound (max |offset| + its error) that `maxClockSkewMs` must cover on this machine.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { NatsBus } from '../src/bus/nats-bus.js';
import { SystemClock, systemClock } from '../src/clock/clock.js';

interface Args {
  nats: string;
  processes: number;
  samples: number;
  responder?: string;
}

function parseArgs(argv: readonly string[]): Args {
  const out: Args = { nats: process.env.KESTREL_NATS_URL ?? 'nats://127.0.0.1:4222', processes: 8, samples: 2000 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--nats') out.nats = value;
    else if (flag === '--processes') out.processes = Number(value);
    else if (flag === '--samples') out.samples = Number(value);
    else if (flag === '--responder') out.responder = value;
    else throw new Error(`unknown argument ${flag}`);
    i++;
  }
  if (!(out.processes >= 1) || !(out.samples >= 10)) throw new Error('--processes >= 1 and --samples >= 10');
  return out;
}

/** Responder: answers every request on `subject` with its two clocks (2 × int64 ns). */
async function respond(nats: string, subject: string): Promise<void> {
  const clock = new SystemClock();
  const bus = await NatsBus.connect({ servers: nats, name: 'kestrel-clock-skew-responder' });
  bus.subscribe(subject, (m) => {
    const out = new DataView(new ArrayBuffer(16));
    out.setBigInt64(0, systemClock.nowNs());
    out.setBigInt64(8, clock.nowNs());
    m.respond(new Uint8Array(out.buffer));
  });
  await bus.flush();
  process.stdout.write('ready\n');
  // Runs until the parent closes stdin.
  process.stdin.resume();
  await new Promise<void>((resolve) => process.stdin.once('end', () => resolve()));
  await bus.close();
}

interface Best {
  rttNs: number;
  offsetNs: number;
}

interface ProcessResult {
  samples: number;
  rttP50Us: number;
  exec: Best;
  system: Best;
}

function startResponder(nats: string, subject: string): Promise<{ stop(): Promise<void> }> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [...process.execArgv, self, '--nats', nats, '--responder', subject], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`responder exited with ${code} before it was ready`)));
    child.stdout.once('data', () =>
      resolve({
        stop: async () => {
          child.stdin.end();
          await exited;
        },
      }),
    );
  });
}

async function measureOne(bus: NatsBus, subject: string, samples: number): Promise<ProcessResult> {
  const clock = new SystemClock();
  const empty = new Uint8Array(0);
  const rtts: number[] = [];
  let exec: Best = { rttNs: Number.POSITIVE_INFINITY, offsetNs: 0 };
  let system: Best = { rttNs: Number.POSITIVE_INFINITY, offsetNs: 0 };
  for (let i = 0; i < samples; i++) {
    const e0 = systemClock.nowNs();
    const s0 = clock.nowNs();
    const r = await bus.request(subject, empty, { timeoutMs: 2000 });
    const s3 = clock.nowNs();
    const e3 = systemClock.nowNs();
    const view = new DataView(r.data.buffer, r.data.byteOffset, r.data.byteLength);
    const eR = view.getBigInt64(0);
    const sR = view.getBigInt64(8);
    const eRtt = Number(e3 - e0);
    const sRtt = Number(s3 - s0);
    rtts.push(eRtt);
    // Offset of the responder's clock against ours, at the midpoint of the exchange.
    if (eRtt < exec.rttNs) exec = { rttNs: eRtt, offsetNs: Number(eR - (e0 + e3) / 2n) };
    if (sRtt < system.rttNs) system = { rttNs: sRtt, offsetNs: Number(sR - (s0 + s3) / 2n) };
  }
  rtts.sort((a, b) => a - b);
  return { samples, rttP50Us: rtts[Math.floor(rtts.length / 2)]! / 1e3, exec, system };
}

function summarise(results: readonly ProcessResult[], pick: (r: ProcessResult) => Best) {
  const per = results.map((r) => {
    const b = pick(r);
    return { offsetUs: round(b.offsetNs / 1e3), errorUs: round(b.rttNs / 2e3) };
  });
  const boundUs = Math.max(...per.map((p) => Math.abs(p.offsetUs) + p.errorUs));
  return { perProcess: per, maxAbsOffsetUs: Math.max(...per.map((p) => Math.abs(p.offsetUs))), skewBoundUs: round(boundUs) };
}

const round = (x: number) => Math.round(x * 10) / 10;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.responder) return respond(args.nats, args.responder);
  const bus = await NatsBus.connect({ servers: args.nats, name: 'kestrel-clock-skew' });
  const load = os.loadavg();
  const results: ProcessResult[] = [];
  for (let p = 0; p < args.processes; p++) {
    const subject = `_KESTREL.clockskew.${process.pid}.${p}`;
    const responder = await startResponder(args.nats, subject);
    // Warm-up: JIT and connection paths, not kept.
    await measureOne(bus, subject, 50);
    results.push(await measureOne(bus, subject, args.samples));
    await responder.stop();
  }
  await bus.close();
  const cpu = os.cpus();
  process.stdout.write(
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: { host: os.hostname(), cpu: cpu[0]?.model ?? 'unknown', cores: cpu.length, kernel: os.release(), node: process.version },
        loadAvg1mBefore: round(load[0]!),
        loadAvg1mAfter: round(os.loadavg()[0]!),
        processes: args.processes,
        samplesPerProcess: args.samples,
        rttP50Us: results.map((r) => round(r.rttP50Us)),
        executorNowNs: summarise(results, (r) => r.exec),
        systemClock: summarise(results, (r) => r.system),
      },
      null,
      2,
    )}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`measure-clock-skew: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
