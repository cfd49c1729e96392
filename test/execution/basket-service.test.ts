import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JetStreamAuditSink } from '../../src/audit/sinks.js';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { NatsBus } from '../../src/bus/nats-bus.js';
import { systemClock, VirtualClock } from '../../src/clock/clock.js';
import { loadConfig } from '../../src/config/index.js';
import { toJson } from '@bufbuild/protobuf';
import { GroupOutcome, OrderGroupAckSchema, Side, type OrderGroupAck } from '../../src/contracts/index.js';
import { BasketError, BasketService, basketFromJson, requestBasket, type BasketExecutor } from '../../src/execution/basket-service.js';
import type { GroupLegInput } from '../../src/execution/executor.js';
import { SnapshotStore } from '../../src/execution/types.js';
import { runTradingSession } from '../../src/session/trading-session.js';
import { kestrel } from '../support/processes.js';
import { startOwnNats } from '../support/nats-server.js';
import { tmpDir } from '../support/tmp.js';
import { until } from '../support/wait.js';

const clock = new VirtualClock(1_700_000_000_000_000_000n);

function service(market = new SnapshotStore()) {
  const calls: Array<{ id: string; policy: string; legs: readonly GroupLegInput[]; min: number | undefined }> = [];
  // The executor's basket path as a recorder: sizing and validation are what these cases prove.
  const executor: BasketExecutor = {
    submitGroup: async (id, policy, legs, min) => {
      calls.push({ id, policy, legs, min });
      return { orderGroupId: id, outcome: 'COMPLETE', completionPct: 100, legs: [], unwindClientIds: [] };
    },
  };
  return { svc: new BasketService({ bus: new InProcessBus(), namespace: 'live', clock, executor, market }), calls, market };
}

describe('basket file and sizing', () => {
  it('weighted legs are sized from the notional at their limit price or the mid', () => {
    const { svc, market } = service();
    market.update('kraken', 'BTC-USD', 59_990, 60_010, 1, 1, 0n);
    const g = basketFromJson(
      {
        id: 'b1',
        policy: 'PERCENTAGE',
        min_completion_pct: 60,
        notional: 10_000,
        legs: [
          { venue: 'binance', symbol: 'BTC-USDT', side: 'buy', weight: 5, limit_price: 50_000 },
          { venue: 'kraken', symbol: 'BTC-USD', side: 'sell', weight: 3 },
          { venue: 'okx', symbol: 'BTC-USDT', side: 'buy', size: 0.01, weight: 2 },
        ],
      },
      clock,
    );
    const { legs, policy } = svc.prepare(g);
    expect(policy).toBe('PERCENTAGE');
    expect(legs[0]).toMatchObject({ venue: 'binance', side: Side.BUY, size: (10_000 * 0.5) / 50_000, weight: 5 });
    expect(legs[1]!.size).toBeCloseTo((10_000 * 0.3) / 60_000, 12);
    expect(legs[1]!.side).toBe(Side.SELL);
    // an explicit size wins; its weight still counts in the completion
    expect(legs[2]).toMatchObject({ size: 0.01, weight: 2 });
  });

  it('refuses bad baskets with a one-line reason naming the field', async () => {
    expect(() => basketFromJson({ policy: 'SOMETIMES', legs: [] }, clock)).toThrow(/basket: policy/);
    expect(() => basketFromJson({ policy: 'ATOMIC', legs: [{ venue: 'okx', symbol: 'BTC-USDT', side: 'buy', size: -1 }] }, clock)).toThrow(
      BasketError,
    );
    const { svc, calls } = service();
    const noSize = basketFromJson({ id: 'b2', policy: 'ATOMIC', legs: [{ venue: 'okx', symbol: 'BTC-USDT', side: 'buy' }] }, clock);
    const a = await svc.submit(noSize);
    expect(a).toMatchObject({ accepted: false, outcome: GroupOutcome.REFUSED });
    expect(a.reason).toMatch(/leg 1 \(okx BTC-USDT\) has no size/);
    const noBook = basketFromJson(
      { id: 'b3', policy: 'ATOMIC', notional: 100, legs: [{ venue: 'okx', symbol: 'BTC-USDT', side: 'buy', weight: 1 }] },
      clock,
    );
    expect((await svc.submit(noBook)).reason).toMatch(/no price/);
    const ok = basketFromJson(
      { id: 'b4', policy: 'BEST_EFFORT', legs: [{ venue: 'okx', symbol: 'BTC-USDT', side: 'buy', size: 0.001 }] },
      clock,
    );
    expect((await svc.submit(ok)).accepted).toBe(true);
    // the same id twice is never run twice
    expect((await svc.submit(ok)).reason).toMatch(/already submitted/);
    expect(calls.map((c) => c.id)).toEqual(['b4']);
  });
});

describe('baskets end to end', () => {
  it(
    'a 3-leg weighted basket across Binance, Kraken and OKX over NATS (ord.group, and `kestrel basket submit`): the legs fill at the simulated venues, weights are respected, the ack comes back and the audit has it',
    { timeout: 180_000 },
    async () => {
      const nats = await startOwnNats();
      if (!nats) return;
      const NATS_URL = nats.url;
      const dir = tmpDir('basket-e2e');
      const config = loadConfig({
        env: {},
        overrides: {
          logging: { level: 'silent' },
          bus: { kind: 'nats', nats_url: NATS_URL },
          session: { pace: 'accelerated', speed: 10, venues: ['binance', 'kraken', 'okx'], symbols: ['BTC-USDT', 'BTC-USD'] },
          admin: { port: 0, token_file: path.join(dir, 'token') },
          execution: { wal_dir: path.join(dir, 'wal') },
          // The strategy stays out of the way: the basket is the only trading.
          strategy: { confidence_threshold: 1 },
        },
      });
      const id = `e2e-${process.pid}-${systemClock.nowNs() % 1_000_000n}`;
      const file = path.join(dir, 'basket.json');
      fs.writeFileSync(
        file,
        JSON.stringify({
          id,
          policy: 'PERCENTAGE',
          min_completion_pct: 50,
          notional: 3000,
          legs: [
            { venue: 'binance', symbol: 'BTC-USDT', side: 'buy', weight: 0.5 },
            { venue: 'kraken', symbol: 'BTC-USD', side: 'buy', weight: 0.3 },
            { venue: 'okx', symbol: 'BTC-USDT', side: 'buy', weight: 0.2 },
          ],
        }),
      );
      const bus = await NatsBus.connect({ servers: NATS_URL });
      let adminUrl = '';
      const session = runTradingSession(config, bus, { onReady: (i) => void (adminUrl = i.adminUrl ?? '') });
      let ended = false;
      void session.then(
        () => (ended = true),
        () => (ended = true),
      );
      let out: string;
      try {
        await until(() => adminUrl !== '', 60_000, 'the session ready');
        // The executor refuses a leg whose venue book is older than 2 s, and kraken quotes far less
        // often than binance in the recording: submit when both have ticked within 1.5 s of wall time (a
        // stricter window starved the test on a loaded machine; a stale leg is refused and retried anyway) (and retry a leg the risk
        // gateway did not answer within its 10 ms contract on this loaded machine).
        const lastTick = new Map<string, bigint>();
        for (const v of ['kraken', 'okx']) bus.subscribe(`md.norm.${v}.>`, () => void lastTick.set(v, systemClock.nowNs()));
        const fresh = () => ['kraken', 'okx'].every((v) => systemClock.nowNs() - (lastTick.get(v) ?? 0n) < 1_500_000_000n);
        let ackMsg: OrderGroupAck | undefined;
        // (A refusal for "no price" means a venue has traded but not yet quoted: also retried.)
        for (let attempt = 0; attempt < 50 && !ackMsg?.accepted; attempt++) {
          if (attempt > 0) await new Promise((r) => setTimeout(r, 200));
          await until(fresh, 60_000, 'a fresh kraken and okx book');
          const group = basketFromJson({ ...JSON.parse(fs.readFileSync(file, 'utf8')), id: `${id}-${attempt}` }, systemClock, 'test');
          ackMsg = await requestBasket(bus, 'live', group);
          if (/STALE_SNAPSHOT|RISK_TIMEOUT/.test(ackMsg.reason)) ackMsg = undefined;
        }
        out = JSON.stringify(toJson(OrderGroupAckSchema, ackMsg!));
        // The CLI path: the same basket file through `kestrel basket submit`, a one-line refusal for a reused id.
        fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), id: ackMsg!.orderGroupId }));
        const cli = kestrel(['basket', 'submit', file], { KESTREL__bus__nats_url: NATS_URL });
        expect(await cli.exited, cli.stderr()).toBe(1);
        expect(cli.stdout.join('\n')).toBe(`basket ${ackMsg!.orderGroupId} refused: basket ${ackMsg!.orderGroupId} was already submitted`);
        expect(out, out).toMatch(/^\{/);
        const ack = JSON.parse(out) as {
          orderGroupId: string;
          accepted: boolean;
          outcome: string;
          completionPct: number;
          legs: Array<{
            clientId: string;
            venue: string;
            side: string;
            symbol: string;
            size: number;
            filledQty?: number;
            weight: number;
            state: string;
            refPrice: number;
          }>;
        };
        expect(ack.accepted, out).toBe(true);
        expect(ack.legs, out).toHaveLength(3);
        expect(ack.legs.map((l) => `${l.venue} ${l.side}`)).toEqual(['binance BUY', 'kraken BUY', 'okx BUY']);
        // Every leg reached its venue and filled there.
        for (const l of ack.legs) expect(l.filledQty ?? 0, out).toBeGreaterThan(0);
        // Sizes follow the weights: each leg's notional at the price it was sized at is weight × 3000
        // (less at most one lot step of rounding).
        for (const [i, w] of [0.5, 0.3, 0.2].entries()) {
          const l = ack.legs[i]!;
          expect(l.refPrice).toBeGreaterThan(0);
          expect(Math.abs(l.size * l.refPrice - w * 3000) / (w * 3000)).toBeLessThan(0.001);
        }
        expect(ack.legs.map((l) => l.weight)).toEqual([0.5, 0.3, 0.2]);
        // Completion is the weight-averaged filled share.
        const weighted = ack.legs.reduce((a, l) => a + l.weight * Math.min(1, (l.filledQty ?? 0) / l.size), 0) * 100;
        expect(ack.completionPct).toBeCloseTo(weighted, 6);
        expect(['GROUP_OUTCOME_COMPLETE', 'GROUP_OUTCOME_ACCEPTED_PARTIAL']).toContain(ack.outcome);

        const token = fs.readFileSync(path.join(dir, 'token'), 'utf8').trim();
        // End it now (drain) unless the recording already ran out (slow, loaded machine).
        if (!ended)
          await fetch(`${adminUrl}/admin/drain`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
        await session;
        const events = (await (await JetStreamAuditSink.attach(bus.connection, 'audit')).readAll()).filter(
          (e) => e.metadata.group_id === ack.orderGroupId,
        );
        const types = events.map((e) => e.eventType);
        expect(types.filter((t) => t === 'basket_submit')).toHaveLength(1);
        // the outcome, then the CLI's resend of the same id, refused
        expect(events.filter((e) => e.eventType === 'basket_ack').map((e) => e.metadata.outcome)).toEqual([
          ack.outcome.replace('GROUP_OUTCOME_', ''),
          'REFUSED',
        ]);
        // every leg's order intent carries the group id
        expect(types.filter((t) => t === 'order_intent')).toHaveLength(3);
        const ackEvent = events.find((e) => e.eventType === 'basket_ack' && e.metadata.outcome !== 'REFUSED')!;
        expect(ackEvent.metadata.client_ids!.split(',')).toEqual(ack.legs.map((l) => l.clientId));
      } finally {
        await session.catch(() => undefined);
        await bus.close();
        await nats.stop();
      }
    },
  );
});
