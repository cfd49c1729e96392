/**
 * The distributed order path, every piece its own OS process over a real NATS: the private venue
 * simulators (src/simulators/private/main.ts), `kestrel run gateway --venue binance` (the only one
 * holding the venue keys), `kestrel run executor` with binance in services.executor.remote_gateways
 * (no keys, no private client: it requests ord.req.binance and listens), and `kestrel run positions`.
 * A signal becomes an order at the simulated venue and a fill the executor and the positions
 * service both book; each process answers its health routes and exits 0 on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, toBinary } from '@bufbuild/protobuf';
import { NatsBus } from '../../src/bus/nats-bus.js';
import { systemClock } from '../../src/clock/clock.js';
import { SignalSchema, Side, TickSchema, Urgency, subjects } from '../../src/contracts/index.js';
import { StaticRiskGateway } from '../../src/risk/static-gateway.js';
import { TEST_CREDENTIALS } from '../../src/simulators/private/venues.js';
import { startOwnNats, type OwnNats } from '../support/nats-server.js';
import { kestrel, repoRoot, type KestrelProcess } from '../support/processes.js';
import { LOOSE_RISK, privateEndpoints, writeServiceConfig } from '../support/service-config.js';
import { tmpDir } from '../support/tmp.js';
import { eventually } from '../support/wait.js';

type SimInfo = Record<string, { ws: string; rest: string; control: string }>;

describe('kestrel run gateway / executor / positions as separate processes', () => {
  let nats: OwnNats | undefined;
  let bus: NatsBus;
  let sim: ChildProcess;
  let info: SimInfo;
  let dir: string;
  let risk: StaticRiskGateway;
  let tickTimer: NodeJS.Timeout | undefined;
  const procs: KestrelProcess[] = [];

  beforeAll(async () => {
    nats = await startOwnNats();
    if (!nats) return;
    bus = await NatsBus.connect({ servers: nats.url });
    dir = tmpDir('kestrel-gw-proc-');
    sim = spawn(process.execPath, ['--import', 'tsx', 'src/simulators/private/main.ts', '--no-rate-limit'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    info = JSON.parse(await new Promise<string>((resolve) => createInterface({ input: sim.stdout! }).once('line', resolve))) as SimInfo;
    const book = await fetch(`${info.binance!.rest}/__sim/book`, {
      method: 'POST',
      body: JSON.stringify({ symbol: 'BTC-USDT', bids: [[99.9, 100]], asks: [[100.1, 100]] }),
    });
    expect(book.status).toBe(200);
    // Market data as ingestion publishes it (stamped with its receive time).
    tickTimer = setInterval(() => {
      const t = create(TickSchema, {
        venue: 'binance',
        symbol: 'BTC-USDT',
        bid: 99.9,
        ask: 100.1,
        bidSize: 100,
        askSize: 100,
        recvTsNs: BigInt(Date.now()) * 1_000_000n,
      });
      bus.publish(subjects.mdNorm('binance', 'BTC-USDT', 'live'), toBinary(TickSchema, t));
    }, 20);
    // risk.check: notional caps only (this test is about the order path, not the limits).
    risk = new StaticRiskGateway(bus, { perSymbolNotional: 1e12, portfolioNotional: 1e13, maxOrderNotional: 1e9 }, 'live', {
      clock: systemClock,
    });
    risk.start();
  }, 60_000);

  afterAll(async () => {
    clearInterval(tickTimer);
    for (const p of procs) await p.stop();
    risk?.stop();
    await bus?.close();
    if (sim && sim.exitCode === null) {
      const done = new Promise((r) => sim.once('exit', r));
      sim.kill('SIGTERM');
      await done;
    }
    await nats?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const ready = async (p: KestrelProcess): Promise<string> => {
    const url = (await p.line(/"event":"ready".*"adminUrl":"([^"]+)"/, 90_000))[1]!;
    return url;
  };

  it(
    'a signal is placed by the gateway process for the executor process, filled, and booked by positions',
    { timeout: 180_000 },
    async () => {
      if (!nats) return;
      const cfg = writeServiceConfig(
        path.join(dir, 'kestrel.yaml'),
        LOOSE_RISK,
        privateEndpoints('binance', info.binance!.ws, info.binance!.rest),
        {
          bus: { nats_url: nats.url },
          execution: { wal_dir: path.join(dir, 'wal'), max_slippage_bps: 50, stale_snapshot_ms: 1000 },
          admin: { token_file: path.join(dir, 'admin.token') },
          services: { executor: { remote_gateways: ['binance'], reconcile_interval_ms: 0 } },
        },
      );
      const creds = TEST_CREDENTIALS.binance;
      const gateway = kestrel(['run', 'gateway', '--venue', 'binance', '--config', cfg], {
        KESTREL_BINANCE_API_KEY: creds.apiKey,
        KESTREL_BINANCE_API_SECRET: creds.apiSecret,
      });
      procs.push(gateway);
      const positions = kestrel(['run', 'positions', '--config', cfg]);
      procs.push(positions);
      const [gwUrl, posUrl] = await Promise.all([ready(gateway), ready(positions)]);
      // No venue keys in the executor's environment: its orders go through the gateway process.
      const executor = kestrel(['run', 'executor', '--config', cfg], { KESTREL_BINANCE_API_KEY: '', KESTREL_BINANCE_API_SECRET: '' });
      procs.push(executor);
      const exUrl = await ready(executor);

      for (const url of [gwUrl, posUrl, exUrl]) {
        expect((await fetch(`${url}/health/live`)).status).toBe(200);
        await eventually(async () => (await fetch(`${url}/health/ready`)).status === 200, 30_000, `${url} ready`);
        expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^# (HELP|TYPE) /m);
      }

      const signal = create(SignalSchema, {
        strategyId: 'gw',
        symbol: 'BTC-USDT',
        side: Side.BUY,
        size: 0.25,
        confidence: 0.9,
        ttlMs: 30_000,
        maxSlippageBps: 50,
        urgency: Urgency.NORMAL,
        traceId: 'gw-1',
        emitTsNs: BigInt(Date.now()) * 1_000_000n,
      });
      bus.publish(subjects.signal('gw', 'BTC-USDT', 'live'), toBinary(SignalSchema, signal));

      type ExState = { state: { counters: { fills: number }; positions: Array<{ symbol: string; quantity: number }> } };
      const exState = async () => ((await (await fetch(`${exUrl}/admin/state`)).json()) as ExState).state;
      await eventually(async () => (await exState()).counters.fills > 0, 30_000, 'the executor booked a fill');
      const qty = (await exState()).positions.find((p) => p.symbol === 'BTC-USDT')!.quantity;
      expect(qty).toBeCloseTo(0.25, 9);
      // The venue holds the order the gateway placed, under the executor's client id.
      const venueState = (await (await fetch(info.binance!.control)).json()) as { received: Record<string, { place: number }> };
      const placed = Object.entries(venueState.received).filter(([, c]) => c.place > 0);
      expect(placed).toHaveLength(1);
      expect(placed[0]![0]).toMatch(/^KS/);
      // Positions, from the fills of stream ord in its own process, agree.
      type PosState = { state: { positions?: Array<{ venue: string; symbol: string; quantity: number }> } };
      await eventually(
        async () => {
          const st = ((await (await fetch(`${posUrl}/admin/state`)).json()) as PosState).state;
          const p = st.positions?.find((x) => x.venue === 'binance' && x.symbol === 'BTC-USDT');
          return p !== undefined && Math.abs(p.quantity - 0.25) < 1e-9;
        },
        30_000,
        'positions booked the fill',
      );

      // A restarted positions service rebuilds the same book from stream ord.
      positions.child.kill('SIGTERM');
      expect(await positions.exited, positions.stderr()).toBe(0);
      const again = kestrel(['run', 'positions', '--config', cfg]);
      procs.push(again);
      const replayed = Number((await again.line(/"event":"ready".*"replayed":(\d+)/, 60_000))[1]);
      expect(replayed).toBeGreaterThan(0);
      const url2 = (await again.line(/"adminUrl":"([^"]+)"/))[1]!;
      const st = ((await (await fetch(`${url2}/admin/state`)).json()) as PosState).state;
      expect(st.positions?.find((x) => x.venue === 'binance' && x.symbol === 'BTC-USDT')?.quantity).toBeCloseTo(0.25, 9);

      // SIGTERM: each drains and exits 0.
      for (const p of [executor, gateway, again]) {
        p.child.kill('SIGTERM');
        expect(await p.exited, p.stderr().slice(-1500)).toBe(0);
      }
    },
  );
});
