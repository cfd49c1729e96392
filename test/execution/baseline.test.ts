import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { loadOrCaptureBaseline, parseConfig, ExecutorConfigError } from '../../src/execution/main.js';
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

  it('refuses bad configs with a typed error naming the problem', () => {
    expect(() => parseConfig('{')).toThrow(ExecutorConfigError);
    expect(() => parseConfig('{}')).toThrow(/nats/);
    expect(() => parseConfig(JSON.stringify({ nats: 'nats://x', executor: { walDir: '/tmp/x', mode: 'paper' }, venues: [] }))).toThrow(
      /mode/,
    );
    expect(() => parseConfig(JSON.stringify({ nats: 'nats://x', executor: { walDir: '/tmp/x', mode: 'live' }, venues: [] }))).toThrow(
      /venues/,
    );
    expect(
      parseConfig(JSON.stringify({ nats: 'n', executor: { walDir: '/w', mode: 'shadow' }, venues: [{ spec: {}, wsUrl: 'ws://x' }] }))
        .executor.mode,
    ).toBe('shadow');
    // Secrets never come from the JSON: credentials, any secret-named key, or user:password in a URL.
    const base = { nats: 'nats://127.0.0.1:4222', executor: { walDir: '/w', mode: 'live' } };
    expect(() =>
      parseConfig(JSON.stringify({ ...base, venues: [{ spec: {}, wsUrl: 'ws://x', credentials: { apiKey: 'k', apiSecret: 's' } }] })),
    ).toThrow(/venues\.0\.credentials.*KESTREL_<VENUE>_API_KEY/);
    expect(() => parseConfig(JSON.stringify({ ...base, venues: [{ spec: {}, wsUrl: 'ws://x', apiSecret: 's' }] }))).toThrow(
      ExecutorConfigError,
    );
    expect(() =>
      parseConfig(JSON.stringify({ ...base, nats: 'nats://exec:pw@127.0.0.1:4222', venues: [{ spec: {}, wsUrl: 'ws://x' }] })),
    ).toThrow(/user:password/);
  });
});
