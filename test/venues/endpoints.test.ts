import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock/clock.js';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { OrderStatus } from '../../src/contracts/index.js';
import { endpointsOf } from '../../src/session/venue-market-data.js';
import { TEST_CREDENTIALS } from '../../src/simulators/private/venues.js';
import type { KrakenPrivateSim } from '../../src/venues/kraken/simulator/order-entry.js';
import { ENDPOINT_PRESETS, EndpointError, resolveEndpoints } from '../../src/venues/endpoints.js';
import { createOrderClient, type VenueOrderClient } from '../../src/venues/index.js';
import { order, startSim } from './order-entry/contract.js';

const none = { public_ws: '', public_rest: '', private_ws: '', private_rest: '' };
const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

describe('venue endpoint presets', () => {
  it("names each venue's documented environments: Binance spot testnet, OKX demo, Kraken validate", () => {
    expect(resolveEndpoints('binance', { preset: 'testnet', endpoints: none }).publicWs).toBe('wss://stream.testnet.binance.vision/stream');
    expect(resolveEndpoints('binance', { preset: 'testnet', endpoints: none }).privateWs).toBe(
      'wss://ws-api.testnet.binance.vision/ws-api/v3',
    );
    expect(resolveEndpoints('binance', { preset: 'production', endpoints: none }).publicWs).toBe('wss://stream.binance.com:9443/stream');
    const demo = resolveEndpoints('okx', { preset: 'demo', endpoints: none });
    expect(demo.privateWs).toBe('wss://wspap.okx.com:8443/ws/v5/private');
    expect(demo.privateHeaders).toEqual({ 'x-simulated-trading': '1' });
    expect(resolveEndpoints('okx', { preset: 'production', endpoints: none }).privateHeaders).toEqual({});
    expect(resolveEndpoints('kraken', { preset: 'validate', endpoints: none }).validateOnly).toBe(true);
    expect(resolveEndpoints('kraken', { preset: 'production', endpoints: none }).validateOnly).toBe(false);
    // Kraken has no testnet: the validate preset trades on production hosts.
    expect(ENDPOINT_PRESETS.kraken.validate.privateWs).toBe(ENDPOINT_PRESETS.kraken.production.privateWs);
  });

  it('applies each non-empty URL override and keeps the preset for the rest', () => {
    const e = resolveEndpoints('okx', { preset: 'demo', endpoints: { ...none, public_ws: 'ws://127.0.0.1:1/ws/v5/public' } });
    expect(e.publicWs).toBe('ws://127.0.0.1:1/ws/v5/public');
    expect(e.privateWs).toBe(ENDPOINT_PRESETS.okx.demo.privateWs);
    expect(e.privateHeaders).toEqual({ 'x-simulated-trading': '1' });
    expect(() => resolveEndpoints('kraken', { preset: 'testnet', endpoints: none })).toThrow(EndpointError);
  });

  it('config: production by default, presets and URLs from venues.<venue>, an unknown preset refused by name', () => {
    const def = endpointsOf(loadConfig({}));
    expect(def.binance.publicWs).toBe(ENDPOINT_PRESETS.binance.production.publicWs);
    const c = loadConfig({
      overrides: { venues: { okx: { preset: 'demo' }, binance: { endpoints: { public_rest: 'http://127.0.0.1:9' } } } },
    });
    expect(endpointsOf(c).okx.privateHeaders['x-simulated-trading']).toBe('1');
    expect(endpointsOf(c).binance.publicRest).toBe('http://127.0.0.1:9');
    expect(() => loadConfig({ overrides: { venues: { kraken: { preset: 'testnet' } } } })).toThrow(ConfigError);
  });
});

describe('private clients on a preset', () => {
  it('OKX demo: x-simulated-trading: 1 on private REST requests and on the WebSocket upgrade', async () => {
    const seen: Array<{ kind: string; header: string | undefined }> = [];
    const server = http.createServer((req, res) => {
      seen.push({ kind: 'rest', header: req.headers['x-simulated-trading'] as string | undefined });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"code":"0","msg":"","data":[]}');
    });
    server.on('upgrade', (req, socket) => {
      seen.push({ kind: 'ws', header: req.headers['x-simulated-trading'] as string | undefined });
      socket.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as AddressInfo).port;
    const e = resolveEndpoints('okx', {
      preset: 'demo',
      endpoints: { ...none, private_ws: `ws://127.0.0.1:${port}/ws/v5/private`, private_rest: `http://127.0.0.1:${port}` },
    });
    const client = createOrderClient('okx', {
      wsUrl: e.privateWs,
      restUrl: e.privateRest,
      credentials: TEST_CREDENTIALS.okx,
      clock: systemClock,
      extraHeaders: e.privateHeaders,
      autoReconnect: false,
      requestTimeoutMs: 1000,
    });
    closers.push(() => client.close());
    expect(await client.openOrders()).toEqual([]);
    await client.connect().catch(() => undefined);
    expect(seen).toContainEqual({ kind: 'rest', header: '1' });
    expect(seen).toContainEqual({ kind: 'ws', header: '1' });

    // Production: no such header.
    seen.length = 0;
    const prod = createOrderClient('okx', {
      wsUrl: e.privateWs,
      restUrl: e.privateRest,
      credentials: TEST_CREDENTIALS.okx,
      clock: systemClock,
      autoReconnect: false,
    });
    closers.push(() => prod.close());
    await prod.openOrders();
    expect(seen).toEqual([{ kind: 'rest', header: undefined }]);
  });

  it('Kraken validate: add_order carries validate=true; the venue checks it and books nothing', async () => {
    const sim = (await startSim('kraken', 'paper')) as KrakenPrivateSim;
    closers.push(() => sim.stop());
    const e = resolveEndpoints('kraken', { preset: 'validate', endpoints: { ...none, private_ws: sim.wsUrl, private_rest: sim.url } });
    const mk = (validateOnly: boolean): VenueOrderClient =>
      createOrderClient('kraken', {
        wsUrl: e.privateWs,
        restUrl: e.privateRest,
        credentials: TEST_CREDENTIALS.kraken,
        clock: systemClock,
        requestTimeoutMs: 2000,
        ...(validateOnly ? { validateOnly } : {}),
      });
    const validating = mk(e.validateOnly);
    closers.push(() => validating.close());
    await validating.connect();
    const req = order('kraken');
    const ack = await validating.place(req);
    expect(ack.status).toBe(OrderStatus.CANCELLED);
    expect(sim.validated).toEqual([req.clientId]);
    expect(sim.snapshot().open).toEqual([]);

    // The production preset books the same order.
    const booking = mk(resolveEndpoints('kraken', { preset: 'production', endpoints: none }).validateOnly);
    closers.push(() => booking.close());
    await booking.connect();
    const req2 = order('kraken');
    expect((await booking.place(req2)).status).toBe(OrderStatus.NEW);
    expect(sim.snapshot().open.map((o) => o.clientId)).toEqual([req2.clientId]);
  });
});
