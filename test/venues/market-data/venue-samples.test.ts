/**
 * Real venue message samples from ../shared/data (other projects' captured fixtures) parsed by the
 * adapters' frame entry point: the normalized output carries the venue's numbers exactly.
 */
import { systemClock, VirtualClock } from '../../../src/clock/clock.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BinanceAdapter } from '../../../src/venues/binance/market-data.js';
import { KrakenAdapter } from '../../../src/venues/kraken/market-data.js';
import { OkxAdapter } from '../../../src/venues/okx/market-data.js';
import { TickFlag } from '../../../src/contracts/market.js';
import { sharedDataDir } from '../../../src/simulators/recordings.js';
import { CollectingSink } from './helpers.js';

const lines = (...p: string[]) =>
  readFileSync(path.join(sharedDataDir(), ...p), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { test?: string; file?: string; msg: unknown });

// Unused URL: these adapters are never started; frames are fed directly.
const url = 'ws://127.0.0.1:9/unused';

describe('real venue samples through the adapters', () => {
  it('Kraken v2 trade update → two trade ticks with venue time, side and the receive clock', () => {
    const msg = lines('kraken', 'kraken-async-rs_wss_v2_messages.jsonl').find((l) => l.test === 'test_trade_update')!.msg;
    const sink = new CollectingSink();
    const clock = new VirtualClock(1_800_000_000_000_000_000n);
    const a = new KrakenAdapter({
      url,
      symbols: [{ venueSymbol: 'BTC/USD', symbol: 'BTC-USD', symbolId: 3 }],
      sink,
      clock,
      staleAfterMs: 1e15,
    });
    a.handleRaw(JSON.stringify(msg));
    expect(sink.trades()).toHaveLength(2);
    expect(sink.trades()[0]).toMatchObject({
      lastPx: 68500,
      lastQty: 0.01044926,
      aggressor: 1,
      exchTsNs: 1716813791798009000n,
      recvTsNs: 1_800_000_000_000_000_000n,
      flags: TickFlag.TRADE,
    });
    // The trade snapshot is history, not live trades.
    const snap = lines('kraken', 'kraken-async-rs_wss_v2_messages.jsonl').find((l) => l.test === 'test_trade_snapshot')!.msg;
    a.handleRaw(JSON.stringify(snap));
    expect(sink.trades()).toHaveLength(2);
    expect(a.stats().parseErrors).toBe(0);
  });

  it('Binance spot trade and bookTicker samples', () => {
    const samples = lines('binance', 'nautilus_binance_spot_ws_samples.jsonl');
    const trade = samples.find((l) => l.file?.endsWith('ws_spot_trade.json'))!.msg;
    const ticker = samples.find((l) => l.file?.endsWith('ws_spot_ticker_book.json'))!.msg;
    const sink = new CollectingSink();
    const a = new BinanceAdapter({
      clock: systemClock,
      url,
      restUrl: 'http://127.0.0.1:9',
      symbols: [{ venueSymbol: 'ETHUSDT', symbol: 'ETH-USDT', symbolId: 2 }],
      sink,
      staleAfterMs: 1e15,
    });
    a.handleRaw(JSON.stringify(trade));
    a.handleRaw(JSON.stringify(ticker));
    expect(sink.trades()[0]).toMatchObject({
      symbol: 'ETH-USDT',
      lastPx: 4149.74,
      lastQty: 0.4387,
      aggressor: -1,
      exchTsNs: 1639351062243000000n,
    });
    expect(sink.quotes()[0]).toMatchObject({ bid: 4507.24, bidSize: 2.3595, ask: 4507.25, askSize: 2.8457 });
    expect(a.stats().parseErrors).toBe(0);
  });

  it('OKX trades sample', () => {
    const msg = lines('okx', 'nautilus_okx_ws_samples.jsonl').find((l) => l.file?.endsWith('ws_trades.json'))!.msg;
    const sink = new CollectingSink();
    const a = new OkxAdapter({
      clock: systemClock,
      url,
      symbols: [{ venueSymbol: 'BTC-USD', symbol: 'BTC-USD', symbolId: 3 }],
      sink,
      checksum: 'required',
      staleAfterMs: 1e15,
    });
    a.handleRaw(JSON.stringify(msg));
    expect(sink.trades()[0]).toMatchObject({
      venue: 'okx',
      lastPx: 42219.9,
      lastQty: 0.12060306,
      aggressor: 1,
      exchTsNs: 1630048897897000000n,
    });
  });

  it('ignores instruments that are not in its symbol map without counting an error', () => {
    const sink = new CollectingSink();
    const a = new OkxAdapter({
      clock: systemClock,
      url,
      symbols: [{ venueSymbol: 'ETH-USDT', symbol: 'ETH-USDT', symbolId: 9 }],
      sink,
      checksum: 'required',
    });
    const msg = lines('okx', 'nautilus_okx_ws_samples.jsonl').find((l) => l.file?.endsWith('ws_trades.json'))!.msg;
    a.handleRaw(JSON.stringify(msg));
    expect(sink.ticks).toHaveLength(0);
    expect(a.stats().parseErrors).toBe(0);
  });
});
