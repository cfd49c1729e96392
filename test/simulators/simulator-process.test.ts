import { systemClock } from '../../src/clock/clock.js';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { KrakenAdapter } from '../../src/venues/kraken/market-data.js';
import { parseSimulatorArgs, SimulatorArgsError } from '../../src/simulators/main.js';
import { CollectingSink } from '../venues/market-data/helpers.js';
import { until } from '../support/wait.js';

const root = path.resolve(import.meta.dirname, '../..');
let child: ChildProcess | undefined;
let adapter: KrakenAdapter | undefined;
afterEach(async () => {
  await adapter?.stop();
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  child = undefined;
  adapter = undefined;
});

describe('simulators as a separate process', () => {
  it('prints its URLs, serves an adapter in this process and takes faults over HTTP', async () => {
    child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/simulators/main.ts', '--venues', 'kraken', '--pace', 'accelerated', '--speed', '20'],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const rl = createInterface({ input: child.stdout! });
    const first = await new Promise<string>((resolve, reject) => {
      rl.once('line', resolve);
      child!.once('exit', (c) => reject(new Error(`simulator exited ${c}`)));
    });
    const info = JSON.parse(first) as { venue: string; wsUrl: string; controlUrl: string };
    expect(info.venue).toBe('kraken');
    const sink = new CollectingSink();
    adapter = new KrakenAdapter({
      clock: systemClock,
      url: info.wsUrl,
      symbols: [{ venueSymbol: 'BTC/USD', symbol: 'BTC-USD', symbolId: 3 }],
      sink,
      reconnect: { initialMs: 20, maxMs: 200 },
    });
    await adapter.start();
    await until(() => sink.ticks.length > 5, 10_000, 'ticks from the other process');
    const r = await fetch(`${info.controlUrl}/fault`, { method: 'POST', body: JSON.stringify({ kind: 'badChecksum' }) });
    expect(r.status).toBe(200);
    await until(() => adapter!.stats().checksumFailures === 1 && adapter!.isSynced('BTC/USD'), 10_000, 'fault detected and resynced');
    expect(sink.eventKinds('checksum')).toHaveLength(1);
  }, 30_000);

  it('refuses bad arguments with a typed error naming the argument', () => {
    expect(() => parseSimulatorArgs(['--venues', 'kraken,ftx'])).toThrow(SimulatorArgsError);
    expect(() => parseSimulatorArgs(['--venues', 'kraken,ftx'])).toThrow(/ftx/);
    expect(() => parseSimulatorArgs(['--pace', 'fast'])).toThrow(/--pace/);
    expect(() => parseSimulatorArgs(['--speed', '-3'])).toThrow(/--speed/);
    expect(() => parseSimulatorArgs(['--speed'])).toThrow(/needs a value/);
    expect(() => parseSimulatorArgs(['--bogus'])).toThrow(/unknown option --bogus/);
    expect(() => parseSimulatorArgs(['kraken'])).toThrow(/unexpected argument 'kraken'/);
    expect(parseSimulatorArgs(['--venues', 'okx', '--pace', 'instant', '--okx-protocol', 'seqid-only', '--no-wait'])).toEqual({
      venues: ['okx'],
      pace: 'instant',
      speed: undefined,
      okxProtocol: 'seqid-only',
      waitForSubscriber: false,
      adminHost: '127.0.0.1',
      adminPort: 0,
      portBase: 0,
      withPrivate: false,
    });
    expect(parseSimulatorArgs(['--ports', '24000', '--private'])).toMatchObject({ portBase: 24000, withPrivate: true });
    expect(() => parseSimulatorArgs(['--ports', '80'])).toThrow(/--ports/);
    expect(parseSimulatorArgs(['--admin-port', '9470', '--admin-host', '0.0.0.0'])).toMatchObject({
      adminPort: 9470,
      adminHost: '0.0.0.0',
    });
    expect(() => parseSimulatorArgs(['--admin-port', '70000'])).toThrow(/--admin-port/);
  });

  it('exits with status 2 and the reason on bad arguments', async () => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/simulators/main.ts', '--pace', 'warp'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => p.once('exit', r));
    expect(code).toBe(2);
    expect(err).toMatch(/SimulatorArgsError: --pace/);
  }, 20_000);
});
