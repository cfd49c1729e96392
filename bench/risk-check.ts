/**
 * risk.check across processes: `kestrel run risk` as its own process on a real NATS server, a client
 * sending bursts of N concurrent risk.check requests (as an executor does when several boundary-case
 * orders arrive at once) and one-at-a-time checks. Per-check latency p50/p99/max and how many exceed
 * the risk.check budget, with the default limits (config/default.yaml) and with loose ones, while
 * md.norm ticks (every 20 ms) reach the gateway's VaR/correlation marks.
 *
 *   KESTREL_NATS_URL=nats://127.0.0.1:4313 npx tsx bench/risk-check.ts [N=10] [bursts=50]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { NatsBus } from '../src/bus/nats-bus.js';
import { OrderRequestSchema, RiskCheckRequestSchema, Side, SignalSchema, TickSchema, subjects, timeouts } from '../src/contracts/index.js';
import { spawn } from 'node:child_process';
import { kestrel, repoRoot, type KestrelProcess } from '../test/support/processes.js';
import { LOOSE_RISK, writeServiceConfig } from '../test/support/service-config.js';

const NATS_URL = process.env.KESTREL_NATS_URL ?? 'nats://127.0.0.1:4222';
const N = Number(process.argv[2] ?? 10);
const BURSTS = Number(process.argv[3] ?? 50);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}
const fmt = (xs: number[]) =>
  `p50 ${pct(xs, 50).toFixed(2)} p99 ${pct(xs, 99).toFixed(2)} max ${Math.max(...xs).toFixed(2)} ms; ` +
  `>${timeouts.riskCheckMs} ms: ${xs.filter((x) => x > timeouts.riskCheckMs).length}/${xs.length}`;

/** Control: a process answering risk.check with a fixed reply (no risk code), same NATS hop. */
if (process.argv[2] === '--echo') {
  const bus = await NatsBus.connect({ servers: NATS_URL });
  const ok = new Uint8Array([8, 1]); // approved = true
  bus.subscribe(subjects.riskCheck('live'), (m) => m.respond(ok));
  await bus.flush();
  console.log('{"event":"ready"}');
  await new Promise(() => undefined);
}

function echoProcess(): Pick<KestrelProcess, 'line' | 'stop'> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'bench/risk-check.ts'), '--echo'], {
    env: { ...process.env, KESTREL_NATS_URL: NATS_URL },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  return {
    line: () => new Promise((r) => child.stdout.once('data', () => r([] as unknown as RegExpExecArray))),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function measure(label: string, overlay: Record<string, unknown> | 'echo'): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-riskbench-'));
  const cfg = writeServiceConfig(path.join(dir, 'kestrel.yaml'), overlay === 'echo' ? {} : overlay, { bus: { nats_url: NATS_URL } });
  const risk = overlay === 'echo' ? echoProcess() : kestrel(['run', 'risk', '--config', cfg]);
  await risk.line(/"event":"ready"/, 60_000);
  const bus = await NatsBus.connect({ servers: NATS_URL });
  const tick = toBinary(
    TickSchema,
    create(TickSchema, { venue: 'binance', symbol: 'BTC-USDT', bid: 100, ask: 100.1, bidSize: 1e6, askSize: 1e6 }),
  );
  const ticker = setInterval(() => bus.publish(subjects.mdNorm('binance', 'BTC-USDT', 'live'), tick), 20);
  const req = (i: number) =>
    toBinary(
      RiskCheckRequestSchema,
      create(RiskCheckRequestSchema, {
        venue: 'binance',
        traceId: `b-${i}`,
        signal: create(SignalSchema, { strategyId: 's', symbol: 'BTC-USDT', side: Side.BUY, size: 0.001, confidence: 1 }),
        proposedOrder: create(OrderRequestSchema, { venue: 'binance', symbol: 'BTC-USDT', side: Side.BUY, size: 0.001, price: 100 }),
      }),
    );
  const one = async (i: number): Promise<number> => {
    const t0 = performance.now();
    await bus.request(subjects.riskCheck('live'), req(i), { timeoutMs: 2000 });
    return performance.now() - t0;
  };
  try {
    for (let i = 0; i < 50; i++) await one(i); // warm-up (JIT, connections)
    const seq: number[] = [];
    const burst: number[] = [];
    const burstFirst: number[] = [];
    for (let b = 0; b < BURSTS; b++) {
      seq.push(await one(b));
      const lat = await Promise.all(Array.from({ length: N }, (_, i) => one(b * N + i)));
      burst.push(...lat);
      burstFirst.push(Math.min(...lat));
      await new Promise((r) => setTimeout(r, 30));
    }
    console.log(`${label}: one at a time   ${fmt(seq)}`);
    console.log(`${label}: bursts of ${N}   ${fmt(burst)} (fastest of each burst p50 ${pct(burstFirst, 50).toFixed(2)})`);
  } finally {
    clearInterval(ticker);
    await bus.close();
    await risk.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `${new Date().toISOString()} load ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')} nats ${NATS_URL}`,
);
// Interleaved: default, loose, default, loose.
for (let round = 0; round < 2; round++) {
  await measure('default limits', {});
  await measure('loose limits  ', LOOSE_RISK);
  await measure('echo process  ', 'echo');
}
console.log(
  `load ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
