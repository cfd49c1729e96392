/**
 * Proof of equivalence (issue 14 item 5): every service as its own OS process over a real NATS —
 * `kestrel run gateway --venue V` per venue, `run risk`, `run positions`, `run executor` (its gateways
 * remote), `run engine`, and `run md --data` replaying the bundled recordings — decides what
 * `kestrel backtest` decides on the same data and config.
 *
 * What is compared, and why exactly that (src/session/digest.ts):
 * - The signal digest, exactly: the engine's signals per (venue, symbol) stream are a function of
 *   the stream's ticks alone (test/engine/distributed.test.ts), whatever the transport or clock.
 * - The execution digest: per signal (symbol, source sequence, side, size), whether the executor
 *   turned it into an order and on which side, or refused it and why. That is the executor's
 *   decision as far as it depends on the signal and the risk state; it is computed by one function
 *   (attachExecutionDigest) in the backtest's kernel and in the executor process.
 * Not compared, because in a real-time deployment they depend on arrival times, not on the data:
 * the routed venue, limit price and order size (the router reads the top of book when the signal
 * arrives, and `run md --data` replays as fast as it can, ahead of the engine by a varying number
 * of ticks; the backtest settles before every tick), fills and PnL (the simulated venues' books are
 * fed by their own replay, not by the md process), and the overall decision digest (it folds fills).
 * For the refusals to be comparable, the config (one file, read by the backtest and every process)
 * removes those that read state the clocks make differ: risk limits are far above anything the
 * recording reaches (in the backtest they trip on a position built from fills on its in-process
 * matching book); wall-time budgets are ones a loaded host keeps (signal TTL 5 s instead of 50 ms,
 * risk.check 2 s instead of 10 ms, slippage cap 100 bps: DEPLOYMENT_TIMING), which the event clock
 * never reaches either; and OKX's BTC-USDT recording is left out (a second venue quoting the symbol
 * is refused as stale in recorded time, years old, but not in wall time). With those, every signal
 * becomes an order on both sides: the digest then proves the per-signal decisions (and that none
 * was lost or doubled between the processes), not the router's choices.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kestrel, type KestrelProcess } from '../support/processes.js';
import { startOwnNats, type OwnNats } from '../support/nats-server.js';
import { tmpDir } from '../support/tmp.js';
import { until } from '../support/wait.js';
import {
  DEPLOYED_DATA,
  DEPLOYED_SYMBOLS,
  DEPLOYED_VENUES,
  DEPLOYMENT_RISK,
  DEPLOYMENT_TIMING,
  eventLine,
  executorCounters,
  startVenues,
  Supervised,
  writeDeploymentConfig,
  type Venues,
} from '../support/deployment.js';

interface BacktestJson {
  ticks: number;
  signals: number;
  orders: number;
  rejects: Record<string, number>;
  signalDigest: string;
  executionDigest: string;
}

const dataFlags = [...DEPLOYED_DATA.flatMap((f) => ['--data', f]), '--symbols', DEPLOYED_SYMBOLS];

let nats: OwnNats | undefined;
let venues: Venues | undefined;
const services: Supervised[] = [];
const others: KestrelProcess[] = [];

const enabled = await startOwnNats().then((n) => ((nats = n), n !== undefined));

describe.skipIf(!enabled)('distributed deployment ≡ backtest', () => {
  let dir: string;
  let cfg: string;
  let reference: BacktestJson;

  beforeAll(async () => {
    dir = tmpDir('dist-eq');
    venues = await startVenues(path.join(dir, 'venues'));
    cfg = writeDeploymentConfig(
      path.join(dir, 'kestrel.yaml'),
      { natsUrl: nats!.url, walDir: path.join(dir, 'wal'), venues: venues.urls, clientIdPrefix: 'EQ' },
      DEPLOYMENT_RISK,
      DEPLOYMENT_TIMING,
    );
    const bt = kestrel(['backtest', '--config', cfg, ...dataFlags, '--json']);
    others.push(bt);
    expect(await bt.exited, bt.stderr().slice(-2000)).toBe(0);
    reference = JSON.parse(bt.stdout.join('\n')) as BacktestJson;
  }, 180_000);

  afterAll(async () => {
    for (const s of services) await s.stop();
    for (const p of others) await p.stop();
    await venues?.stop();
    await nats?.stop();
  });

  it('the processes publish the backtest signals and make its decisions on every one of them', async () => {
    // Not vacuous: the recording trades, and every signal becomes an order in the backtest.
    expect(reference.signals).toBeGreaterThan(5);
    expect(reference.orders).toBe(reference.signals);
    const run = (name: string, args: string[], opts: ConstructorParameters<typeof Supervised>[2] = {}) => {
      const s = new Supervised(name, ['run', ...args, '--config', cfg], opts);
      services.push(s);
      return s;
    };
    const gateways = DEPLOYED_VENUES.map((v) => run(`gateway-${v}`, ['gateway', '--venue', v]));
    const risk = run('risk', ['risk']);
    const positions = run('positions', ['positions']);
    for (const s of [...gateways, risk, positions]) await s.ready();
    const executor = run('executor', ['executor']);
    const engine = run('engine', ['engine']);
    await Promise.all([executor.ready(), engine.ready()]);
    const md = run('md', ['md', ...dataFlags], { oneShot: true });
    expect(await md.current.exited).toBe(0);
    expect(eventLine<{ published: number }>(md.current, 'replayed').published).toBe(reference.ticks);

    // Every signal reached the executor and every order it sent was answered by its gateway.
    await until(
      () => {
        const c = executorCounters(executor.current)?.counters;
        return c !== undefined && (c.signals ?? 0) >= reference.signals && (c.acks ?? 0) >= (c.sent ?? 0);
      },
      60_000,
      'every signal decided and every order answered',
    );
    const stats = executorCounters(executor.current)!;
    expect(await engine.stop()).toBe(0);
    expect(await executor.stop()).toBe(0);
    const engineOut = eventLine<{ signals: number; signalDigest: string }>(engine.current, 'drained');
    const execOut = eventLine<{ decided: number; executionDigest: string; counters: Record<string, number> }>(executor.current, 'stopped');
    expect(engineOut.signals).toBe(reference.signals);
    expect(engineOut.signalDigest).toBe(reference.signalDigest);
    expect(execOut.decided).toBe(reference.signals);
    expect(execOut.counters.sent, `executor refusals ${JSON.stringify(stats.rejects)}; backtest ${JSON.stringify(reference.rejects)}`).toBe(
      reference.orders,
    );
    expect(execOut.executionDigest).toBe(reference.executionDigest);
    // No service needed a restart: this is the undisturbed run.
    for (const s of services) expect(s.restarts, s.name).toBe(0);
    // The orders went through the gateway processes to the venues.
    const state = (await (await fetch(venues!.urls.binance.control)).json()) as { received: Record<string, { place: number }> };
    expect(Object.keys(state.received).filter((id) => id.startsWith('EQ')).length).toBe(reference.orders);
    console.log(
      `distributed ≡ backtest: ${reference.ticks} ticks, ${reference.signals} signals, ${reference.orders} orders; ` +
        `signal digest ${reference.signalDigest.slice(0, 12)}, execution digest ${reference.executionDigest.slice(0, 12)}`,
    );
    expect(fs.existsSync(path.join(dir, 'wal'))).toBe(true);
  }, 240_000);
});
