/**
 * The console's PnL arithmetic (src/admin/console/session-view.ts): Position.realizedPnl is already
 * net of fees (PositionBook.toPosition), so the net PnL must not subtract fees a second time.
 */
import { describe, expect, it } from 'vitest';
import { sessionConsoleSource } from '../../src/admin/console/session-view.js';
import { Side } from '../../src/contracts/index.js';
import type { Executor } from '../../src/execution/executor.js';
import { SnapshotStore } from '../../src/execution/types.js';
import { PositionBook } from '../../src/positions/book.js';

describe('session console PnL', () => {
  it('net PnL = realized (net of fees) + unrealized: each fee is charged once', async () => {
    const book = new PositionBook();
    book.applyFill('binance', 'BTC-USDT', Side.BUY, 2, 100, 1, 1n);
    book.applyFill('binance', 'BTC-USDT', Side.SELL, 1, 110, 1.1, 2n); // +10 gross, 2.1 fees so far
    const snapshots = new SnapshotStore();
    snapshots.update('binance', 'BTC-USDT', 119, 121, 1, 1, 3n); // mark 120: 1 left at 100 -> +20 unrealized
    // The console only reads the executor's getters; the book is the real one.
    const executor = {
      book,
      orders: new Map(),
      isHalted: false,
      haltCauses: new Map(),
      isDraining: false,
      breakers: { all: () => [] },
      counters: {},
      isPaused: () => false,
    } as unknown as Executor;
    const source = sessionConsoleSource({
      mode: 'paper',
      clock: { nowNs: () => 4n },
      executor,
      snapshots,
      valuation: { currency: 'USDT', rate: () => 1 },
      venues: ['binance'],
      adapters: () => [],
      privateConnected: () => true,
    });
    const snap = await source();
    const p = snap.positions[0]!;
    expect(p.realizedPnl).toBeCloseTo(10 - 2.1, 12);
    expect(p.fees).toBeCloseTo(2.1, 12);
    expect(p.unrealizedPnl).toBeCloseTo(20, 12);
    expect(p.netPnl).toBeCloseTo(10 - 2.1 + 20, 12); // was 25.8: fees subtracted twice
    expect(snap.pnl.net).toBeCloseTo(27.9, 12);
    expect(snap.netted[0]!.netPnl).toBeCloseTo(27.9, 12);
  });
});
