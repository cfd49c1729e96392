/**
 * `kestrel run executor` (the executor as its own process) takes baskets on ord.group too: a 2-leg
 * ATOMIC basket sent over NATS fills at the simulated Binance venue and is acknowledged.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, toBinary } from '@bufbuild/protobuf';
import { GroupOutcome, TickSchema, subjects } from '../../src/contracts/index.js';
import { NatsBus } from '../../src/bus/nats-bus.js';
import { systemClock } from '../../src/clock/clock.js';
import { StaticRiskGateway } from '../../src/risk/static-gateway.js';
import { basketFromJson, requestBasket } from '../../src/execution/basket-service.js';
import { BinancePrivateSim } from '../../src/venues/binance/simulator/order-entry.js';
import { startOwnNats, type OwnNats } from '../support/nats-server.js';
import { kestrel } from '../support/processes.js';
import { LOOSE_RISK, privateEndpoints, writeServiceConfig } from '../support/service-config.js';
import { CREDS, RULES, tmpDir } from './harness.js';

describe('executor process: baskets on ord.group', () => {
  let nats: OwnNats | undefined;
  let bus: NatsBus;
  let sim: BinancePrivateSim;
  let dir: string;
  let tickTimer: NodeJS.Timeout;
  let risk: StaticRiskGateway | undefined;

  beforeAll(async () => {
    nats = await startOwnNats();
    if (!nats) return;
    bus = await NatsBus.connect({ servers: nats.url });
    dir = tmpDir('kestrel-exproc-basket-');
    sim = await new BinancePrivateSim({
      symbols: [RULES],
      balances: { USDT: 1e9, BTC: 1e6 },
      credentials: CREDS,
      rateLimit: { limit: 0, windowMs: 1000 },
    }).start();
    sim.feedBook('BTC-USDT', [[100, 1e6]], [[100.1, 1e6]]);
    // Stamped with their receive time, as ingestion does: the risk gateway takes its marks from them.
    const tick = () =>
      toBinary(
        TickSchema,
        create(TickSchema, {
          venue: 'binance',
          symbol: 'BTC-USDT',
          bid: 100,
          ask: 100.1,
          bidSize: 1e6,
          askSize: 1e6,
          recvTsNs: BigInt(Date.now()) * 1_000_000n,
        }),
      );
    // risk.check: notional caps only, answered here (two legs checked at once must not race a 10 ms
    // risk.check timeout on a loaded host; the limits are not what this test is about).
    risk = new StaticRiskGateway(bus, { perSymbolNotional: 1e12, portfolioNotional: 1e13, maxOrderNotional: 1e9 }, 'live', {
      clock: systemClock,
    });
    risk.start();
    tickTimer = setInterval(() => bus.publish(subjects.mdNorm('binance', 'BTC-USDT', 'live'), tick()), 20);
  });

  afterAll(async () => {
    clearInterval(tickTimer);
    risk?.stop();
    await bus?.close();
    await sim?.stop();
    await nats?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a 2-leg ATOMIC basket fills at the venue and is acknowledged COMPLETE', { timeout: 120_000 }, async () => {
    if (!nats) return;
    fs.mkdirSync(path.join(dir, 'wal'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'wal', 'baseline.json'), JSON.stringify({ binance: { BTC: 1e6 } }));
    const file = writeServiceConfig(path.join(dir, 'kestrel.yaml'), LOOSE_RISK, privateEndpoints('binance', sim.wsUrl, sim.url), {
      bus: { nats_url: nats.url },
      execution: { wal_dir: path.join(dir, 'wal'), max_slippage_bps: 50, stale_snapshot_ms: 1000 },
      services: { executor: { reconcile_interval_ms: 0 } },
    });
    const ex = kestrel(['run', 'executor', '--config', file], {
      KESTREL_ADMIN_TOKEN: 'basket-test-token-0123456789',
      KESTREL_BINANCE_API_KEY: CREDS.apiKey,
      KESTREL_BINANCE_API_SECRET: CREDS.apiSecret,
    });
    try {
      await ex.line(/"event":"ready"/, 60_000);
      // The risk gateway values market orders at md.norm marks: let a few ticks (every 20 ms) reach it.
      await new Promise((res) => setTimeout(res, 1000));
      const group = basketFromJson(
        {
          id: 'proc-basket-1',
          policy: 'ATOMIC',
          legs: [
            { venue: 'binance', symbol: 'BTC-USDT', side: 'buy', size: 0.2 },
            { venue: 'binance', symbol: 'BTC-USDT', side: 'sell', size: 0.1 },
          ],
        },
        systemClock,
        'test',
      );
      const ack = await requestBasket(bus, 'live', group);
      expect(ack.accepted, ack.reason).toBe(true);
      expect(ack.outcome, ack.reason).toBe(GroupOutcome.COMPLETE);
      expect(ack.completionPct).toBeCloseTo(100, 9);
      expect(ack.legs.map((l) => [l.filledQty, l.state])).toEqual([
        [0.2, 'FILLED'],
        [0.1, 'FILLED'],
      ]);
      for (const l of ack.legs) expect(sim.snapshot().received[l.clientId]!.place).toBe(1);
    } finally {
      await ex.stop();
    }
  });
});
