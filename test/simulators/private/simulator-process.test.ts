/**
 * The simulated venues as the chaos harness uses them: a separate process that outlives client
 * restarts, reports every order it received per client id over HTTP, and keeps that record across
 * its own restarts through the request journal.
 */
import { systemClock } from '../../../src/clock/clock.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { create } from '@bufbuild/protobuf';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CancelRequestSchema,
  OrderRequestSchema,
  OrderStatus,
  OrderType,
  Side,
  TimeInForce,
  type VenueName,
} from '../../../src/contracts/index.js';
import { TEST_CREDENTIALS } from '../../../src/simulators/private/venues.js';
import { createOrderClient } from '../../../src/venues/index.js';

type Info = Record<VenueName, { ws: string; rest: string; control: string }>;

const repo = path.resolve(import.meta.dirname, '../../..');
const journalDir = mkdtempSync(path.join(tmpdir(), 'kestrel-sim-'));
const children: ChildProcess[] = [];

async function startProcess(): Promise<{ child: ChildProcess; info: Info }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/simulators/private/main.ts', '--mode', 'realistic', '--journal-dir', journalDir],
    { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`simulator exited early with ${code}`)));
  });
  return { child, info: JSON.parse(line) as Info };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((r) => {
    child.once('exit', () => r());
    child.kill('SIGTERM');
  });
}

async function post(url: string, body: unknown): Promise<void> {
  const r = await fetch(url, { method: 'POST', body: JSON.stringify(body) });
  expect(r.status).toBe(200);
}

afterAll(async () => {
  for (const c of children) await stopProcess(c);
  rmSync(journalDir, { recursive: true, force: true });
});

describe('simulated venues process', () => {
  it.each(['binance', 'kraken', 'okx'] as const)(
    '%s: reports orders per client id over HTTP, detects a re-sent client id, survives its own restart',
    async (venue) => {
      let { child, info } = await startProcess();
      const base = info[venue].rest;
      await post(`${base}/__sim/book`, { symbol: 'BTC-USDT', bids: [[49_999, 1]], asks: [[50_001, 1]] });
      const mk = () =>
        createOrderClient(venue, {
          clock: systemClock,
          wsUrl: info[venue].ws,
          restUrl: info[venue].rest,
          credentials: TEST_CREDENTIALS[venue],
          requestTimeoutMs: 2000,
        });
      const clientId = `R${venue.slice(0, 3)}${Date.now().toString(36)}`;
      const req = create(OrderRequestSchema, {
        clientId,
        venue,
        symbol: 'BTC-USDT',
        side: Side.BUY,
        size: 0.01,
        price: 49_000,
        tif: TimeInForce.GTC,
        orderType: OrderType.LIMIT,
      });
      // First "executor" places and goes away without cancelling.
      const c1 = mk();
      await c1.connect();
      expect((await c1.place(req)).status).toBe(OrderStatus.NEW);
      await c1.close();
      // A restarted executor sees the order as open (reconciliation source); a client that knows the
      // order refuses to place it again locally ...
      const c2 = mk();
      await c2.connect();
      expect((await c2.openOrders()).map((a) => a.clientId)).toContain(clientId);
      expect((await c2.place(req)).rejectDetail).toMatch(/refused locally/);
      expect((await c2.cancel(create(CancelRequestSchema, { clientId, venue }))).status).toBe(OrderStatus.CANCELLED);
      await c2.close();
      // ... while a careless resend from a fresh client, once the first order is closed, is accepted
      // by the venue (ids are unique among open orders only): the duplicate the chaos test hunts.
      const c3 = mk();
      await c3.connect();
      await c3.place(req);
      await c3.close();
      let state = (await (await fetch(info[venue].control)).json()) as {
        received: Record<string, { place: number }>;
        duplicates: string[];
        open: Array<{ clientId: string }>;
        balances: Record<string, { free: number; locked: number }>;
      };
      expect(state.received[clientId]?.place).toBe(2);
      expect(state.duplicates).toContain(clientId);
      expect(state.open.map((o) => o.clientId)).toEqual([clientId]);
      expect(state.balances.USDT!.locked).toBeGreaterThan(0);
      // The simulator restarts: the request record comes back from the journal.
      await stopProcess(child);
      ({ child, info } = await startProcess());
      state = (await (await fetch(info[venue].control)).json()) as typeof state;
      expect(state.received[clientId]?.place).toBe(2);
      await stopProcess(child);
    },
  );
});
