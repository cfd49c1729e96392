import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { fromJson } from '@bufbuild/protobuf';
import { loadOrCaptureBaseline, executorProcessConfigOf, ExecutorConfigError } from '../../src/execution/main.js';
import { loadConfig } from '../../src/config/load.js';
import { loadServiceConfig } from '../../src/cli/service-runtime.js';
import { VenueSpecSchema } from '../../src/contracts/index.js';
import { startVenue, tmpDir } from './harness.js';

describe('executor process helpers', () => {
  it('captures venue balances once as the position baseline and reuses them after a restart', async () => {
    const bus = new InProcessBus();
    const venue = await startVenue(bus, { balances: { USDT: 5000, BTC: 2 } });
    const dir = tmpDir('kestrel-baseline-');
    try {
      const first = await loadOrCaptureBaseline(dir, { binance: venue.client });
      expect(first).toEqual({ binance: { USDT: 5000, BTC: 2 } });
      venue.sim.engine.deposit('main', 'BTC', 1); // balances move; the baseline must not
      const again = await loadOrCaptureBaseline(dir, { binance: venue.client });
      expect(again).toEqual(first);
      expect(fs.existsSync(path.join(dir, 'baseline.json'))).toBe(true);
    } finally {
      await venue.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('builds the executor process from the one config: venues from reference data, private endpoints, remote gateways', async () => {
    const config = loadConfig({
      env: {},
      overrides: {
        session: { venues: ['binance', 'kraken'] },
        venues: { binance: { preset: 'testnet', endpoints: { private_ws: 'ws://127.0.0.1:1/ws' } } },
        execution: { wal_dir: '/tmp/w', nonce_block: 50 },
        services: { executor: { mode: 'shadow', remote_gateways: ['kraken'], admin_port: 9101, embedded_risk: true } },
      },
    });
    const c = await executorProcessConfigOf(config, { report: true });
    expect(c.executor).toMatchObject({ mode: 'shadow', walDir: '/tmp/w', nonceBlock: 50, namespace: 'live' });
    expect(c.venues.map((v) => [fromJson(VenueSpecSchema, v.spec).venue, v.gateway, v.wsUrl, v.restUrl])).toEqual([
      ['binance', 'local', 'ws://127.0.0.1:1/ws', 'https://testnet.binance.vision'],
      ['kraken', 'remote', undefined, undefined],
    ]);
    expect(c.staticRisk?.maxOrderNotional).toBe(config.risk.max_order_notional);
    expect(c).toMatchObject({ report: true, admin: { port: 9101 }, nats: config.bus.nats_url });
    // A remote gateway must be one of the session's venues.
    const bad = loadConfig({ env: {}, overrides: { services: { executor: { remote_gateways: ['okx'] } } } });
    await expect(executorProcessConfigOf(bad)).rejects.toThrow(ExecutorConfigError);
  });

  it('refuses a config with a secret or a password in the NATS URL, naming the way in', () => {
    const dir = tmpDir('kestrel-cfg-');
    try {
      const f = path.join(dir, 'k.yaml');
      fs.writeFileSync(f, 'bus:\n  nats_url: nats://exec:pw@127.0.0.1:4222\n');
      expect(() => loadServiceConfig({ config: f }, {})).toThrow(/user:password/);
      fs.writeFileSync(f, 'venues:\n  binance:\n    api_secret: s\n');
      expect(() => loadServiceConfig({ config: f }, {})).toThrow(/secret/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
