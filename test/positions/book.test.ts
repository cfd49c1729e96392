import { systemClock } from '../../src/clock/clock.js';
import { describe, expect, it } from 'vitest';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { InProcessBus } from '../../src/bus/in-process-bus.js';
import { OrderAckSchema, OrderStatus, PortfolioStateSchema, Side, subjects } from '../../src/contracts/index.js';
import { PositionBook } from '../../src/positions/book.js';
import { PositionService } from '../../src/positions/service.js';

describe('position book', () => {
  it('tracks average price, realized PnL net of fees, flips through zero', () => {
    const b = new PositionBook();
    b.applyFill('binance', 'BTC-USDT', Side.BUY, 1, 100, 0.1, 1n);
    b.applyFill('binance', 'BTC-USDT', Side.BUY, 1, 110, 0.11, 2n);
    expect(b.get('binance', 'BTC-USDT')).toMatchObject({ quantity: 2, avgPrice: 105 });
    b.applyFill('binance', 'BTC-USDT', Side.SELL, 3, 120, 0.36, 3n);
    const e = b.get('binance', 'BTC-USDT')!;
    expect(e.quantity).toBeCloseTo(-1, 12);
    expect(e.avgPrice).toBe(120); // the flipped remainder opens at the fill price
    expect(e.realizedGross).toBeCloseTo(30, 9); // 2 × (120 − 105)
    const p = b.toPosition(e, 125);
    expect(p.realizedPnl).toBeCloseTo(30 - 0.57, 9);
    expect(p.unrealizedPnl).toBeCloseTo(-5, 9);
  });

  it('nets across venues and round-trips through a snapshot', () => {
    const b = new PositionBook();
    b.applyFill('binance', 'BTC-USDT', Side.BUY, 2, 100, 0, 1n);
    b.applyFill('kraken', 'BTC-USDT', Side.SELL, 0.5, 101, 0, 1n);
    expect(b.net('BTC-USDT')).toBeCloseTo(1.5, 12);
    const snap = b.snapshot((v) => (v === 'binance' ? 102 : 101), 5n, true);
    const netted = snap.positions.find((p) => p.venue === '*')!;
    expect(netted.quantity).toBeCloseTo(1.5, 12);
    expect(snap.currencyExposure['BTC']).toBeCloseTo(1.5, 12);
    const c = new PositionBook();
    c.load(snap);
    expect(c.all().length).toBe(2);
    expect(c.quantity('kraken', 'BTC-USDT')).toBe(-0.5);
  });
});

describe('position service', () => {
  it('builds positions from ord.ack.* once per cumulative fill and publishes pos.current / pos.pnl', async () => {
    const bus = new InProcessBus();
    const svc = new PositionService(bus, { clock: systemClock, namespace: 'live', throttleMs: 5, heartbeatMs: 50 });
    const got: number[] = [];
    bus.subscribe(subjects.posCurrent('live'), (m) => {
      const st = fromBinary(PortfolioStateSchema, m.data);
      got.push(st.positions.find((p) => p.venue === 'okx')?.quantity ?? 0);
    });
    let pnl = 0;
    bus.subscribe(subjects.posPnl('live'), () => {
      pnl++;
    });
    svc.start();
    const ack = (filled: number) =>
      bus.publish(
        subjects.orderAck('okx', 'live'),
        toBinary(
          OrderAckSchema,
          create(OrderAckSchema, {
            clientId: 'c1',
            venue: 'okx',
            symbol: 'ETH-USDT',
            side: Side.BUY,
            status: OrderStatus.PARTIAL,
            filledQty: filled,
            avgPrice: 10,
          }),
        ),
      );
    ack(1);
    ack(1); // duplicate
    ack(3);
    await new Promise((r) => setTimeout(r, 30));
    svc.stop();
    expect(svc.book.quantity('okx', 'ETH-USDT')).toBe(3);
    expect(got.at(-1)).toBe(3);
    expect(pnl).toBeGreaterThan(0);
  });
});

describe('fees from venue updates', () => {
  it('counts each fill fee once: per-fill fees, a missed fill, and a total-fee status answer', async () => {
    const { feeDelta } = await import('../../src/execution/order.js');
    const ack = (o: Partial<{ fee: number; lastFillQty: number }>) => create(OrderAckSchema, o);
    expect(feeDelta(ack({ fee: 0.1, lastFillQty: 1 }), 1, 0)).toBeCloseTo(0.1, 12); // the fill it reports
    expect(feeDelta(ack({ fee: 0.1, lastFillQty: 1 }), 3, 0.1)).toBeCloseTo(0.3, 12); // two fills missed
    expect(feeDelta(ack({ fee: 0.5, lastFillQty: 0 }), 2, 0.2)).toBeCloseTo(0.3, 12); // total fee minus known
    expect(feeDelta(ack({ fee: 0, lastFillQty: 1 }), 1, 0)).toBe(0);
  });
});
