/**
 * `kestrel run risk` on the one config as its own process: limits from risk.* (a cap from the
 * --config overlay refuses an order above it), health answers, SIGTERM exits 0.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { NatsBus } from '../../src/bus/nats-bus.js';
import {
  OrderRequestSchema,
  RiskCheckRequestSchema,
  RiskCheckResponseSchema,
  Side,
  SignalSchema,
  subjects,
} from '../../src/contracts/index.js';
import { startOwnNats } from '../support/nats-server.js';
import { kestrel } from '../support/processes.js';
import { writeServiceConfig } from '../support/service-config.js';
import { tmpDir } from '../support/tmp.js';

const dir = tmpDir('kestrel-risk-proc-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('kestrel run risk', () => {
  it(
    'answers risk.check with the limits of the one config (an order above a cap is cut or refused), serves health, exits 0 on SIGTERM',
    { timeout: 120_000 },
    async () => {
      const nats = await startOwnNats();
      if (!nats) return;
      const bus = await NatsBus.connect({ servers: nats.url });
      try {
        const cfg = writeServiceConfig(path.join(dir, 'kestrel.yaml'), { bus: { nats_url: nats.url }, risk: { max_order_notional: 1000 } });
        const risk = kestrel(['run', 'risk', '--config', cfg]);
        const url = (await risk.line(/"event":"ready".*"adminUrl":"([^"]+)"/, 60_000))[1]!;
        expect((await fetch(`${url}/health/live`)).status).toBe(200);
        expect((await fetch(`${url}/health/ready`)).status).toBe(200);
        const check = async (size: number) => {
          const req = create(RiskCheckRequestSchema, {
            venue: 'binance',
            signal: create(SignalSchema, { symbol: 'BTC-USDT', side: Side.BUY, size, confidence: 1 }),
            proposedOrder: create(OrderRequestSchema, { venue: 'binance', symbol: 'BTC-USDT', side: Side.BUY, size, price: 100 }),
          });
          const m = await bus.request(subjects.riskCheck('live'), toBinary(RiskCheckRequestSchema, req), { timeoutMs: 5000 });
          return fromBinary(RiskCheckResponseSchema, m.data);
        };
        expect((await check(1)).approved).toBe(true); // 100 of notional
        const big = await check(20); // 2000 > risk.max_order_notional 1000
        // Refused, or cut down to what the cap allows (adjusted_size).
        if (big.approved) expect(big.adjustedSize * 100).toBeLessThanOrEqual(1000 + 1e-9);
        expect(big.approved && big.adjustedSize === 0).toBe(false);
        risk.child.kill('SIGTERM');
        expect(await risk.exited, risk.stderr()).toBe(0);
      } finally {
        await bus.close();
        await nats.stop();
      }
    },
  );
});
