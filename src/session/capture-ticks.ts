/**
 * Thin-slice tick source: streams the bundled Binance capture (`<recv_ns> <json>` per line, gzip)
 * and normalizes bookTicker and trade messages. Replaced by the venue adapter + simulator path.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { TickFlag, VENUE_IDS, type NormalizedTick } from '../contracts/market.js';

interface BookTicker {
  u: number;
  s: string;
  b: string;
  B: string;
  a: string;
  A: string;
}
interface Trade {
  e: 'trade';
  E: number;
  T: number;
  s: string;
  p: string;
  q: string;
  m: boolean;
}

export async function* binanceCaptureTicks(file: string, symbolId: number, symbol: string): AsyncGenerator<NormalizedTick> {
  const lines = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
  let bid = 0;
  let ask = 0;
  let bidSize = 0;
  let askSize = 0;
  let lastExchNs = 0n;
  let seq = 0n;
  for await (const line of lines) {
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const recvTsNs = BigInt(line.slice(0, space));
    const msg = JSON.parse(line.slice(space + 1)) as { stream?: string; data?: unknown };
    if (msg.stream?.endsWith('@bookTicker')) {
      const d = msg.data as BookTicker;
      bid = Number(d.b);
      ask = Number(d.a);
      bidSize = Number(d.B);
      askSize = Number(d.A);
      seq++;
      // bookTicker carries no event time; the last exchange time seen stands in for it.
      yield tick(lastExchNs || recvTsNs, recvTsNs, 0, 0, 0);
    } else if (msg.stream?.endsWith('@trade')) {
      const d = msg.data as Trade;
      lastExchNs = BigInt(d.T) * 1_000_000n;
      if (bid === 0) continue;
      seq++;
      yield tick(lastExchNs, recvTsNs, Number(d.p), Number(d.q), d.m ? -1 : 1);
    }
  }

  function tick(exchTsNs: bigint, recvTsNs: bigint, lastPx: number, lastQty: number, aggressor: -1 | 0 | 1): NormalizedTick {
    return {
      exchTsNs,
      recvTsNs,
      venueId: VENUE_IDS.binance,
      symbolId,
      venue: 'binance',
      symbol,
      bid,
      ask,
      bidSize,
      askSize,
      sequence: seq,
      flags: lastQty > 0 ? TickFlag.TRADE : 0,
      lastPx,
      lastQty,
      aggressor,
    };
  }
}
