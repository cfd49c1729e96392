import { systemClock } from '../../src/clock/clock.js';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { TickFlag, VENUE_IDS, type NormalizedTick } from '../../src/contracts/market.js';
import { IngestionService } from '../../src/ingestion/service.js';
import { CaptureReader } from '../../src/storage/capture/reader.js';
import { CaptureWriter } from '../../src/storage/capture/writer.js';
import { CollectingSink } from './helpers.js';
import { tmpDir } from '../support/tmp.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const DATA = path.join(path.resolve(repoRoot, '../shared'), 'data/binance/hftbacktest_spot_btcusdt_20240808.gz');
const dir = tmpDir('real');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Binance spot bookTicker + trade messages of the recording, as an adapter would normalize them. */
async function load(limit: number): Promise<NormalizedTick[]> {
  if (!fs.existsSync(DATA)) throw new Error(`real data missing: ${DATA} (../shared must sit beside the repository)`);
  const rl = readline.createInterface({ input: fs.createReadStream(DATA).pipe(zlib.createGunzip()), crlfDelay: Infinity });
  const out: NormalizedTick[] = [];
  let bid = 0;
  let ask = 0;
  let bidSize = 0;
  let askSize = 0;
  for await (const line of rl) {
    const sp = line.indexOf(' ');
    const recv = BigInt(line.slice(0, sp));
    const msg = JSON.parse(line.slice(sp + 1)) as { stream?: string; data?: Record<string, unknown> };
    const d = msg.data;
    if (!d || !msg.stream) continue;
    const base = {
      recvTsNs: recv,
      venueId: VENUE_IDS.binance,
      symbolId: 1,
      venue: 'binance' as const,
      symbol: 'BTC-USDT',
      sequence: BigInt(out.length + 1),
    };
    if (msg.stream.endsWith('@bookTicker')) {
      bid = Number(d.b);
      ask = Number(d.a);
      bidSize = Number(d.B);
      askSize = Number(d.A);
      out.push({ ...base, exchTsNs: recv, bid, ask, bidSize, askSize, flags: 0, lastPx: 0, lastQty: 0, aggressor: 0 });
    } else if (msg.stream.endsWith('@trade') && bid > 0) {
      out.push({
        ...base,
        exchTsNs: BigInt(d.T as number) * 1_000_000n,
        bid,
        ask,
        bidSize,
        askSize,
        flags: TickFlag.TRADE,
        lastPx: Number(d.p),
        lastQty: Number(d.q),
        aggressor: d.m ? -1 : 1,
      });
    }
    if (out.length >= limit) break;
  }
  rl.close();
  return out;
}

describe('real Binance BTCUSDT stream through ingestion', () => {
  it('passes the gates without false positives and records a capture that replays identically', async () => {
    const ticks = await load(20_000);
    expect(ticks.some((t) => t.flags & TickFlag.TRADE)).toBe(true);
    const sink = new CollectingSink();
    const file = path.join(dir, 'binance.kcap');
    const cap = CaptureWriter.open(file, { createdNs: systemClock.nowNs() });
    const svc = await IngestionService.create({ shards: 4 }, { sinks: [sink, cap] });
    for (let i = 0; i < ticks.length; i += 300) {
      for (const t of ticks.slice(i, i + 300)) svc.onTick({ ...t });
      await new Promise((r) => setImmediate(r));
    }
    svc.stop();
    cap.close();
    const st = svc.stats();
    expect(st.accepted + Object.values(st.dropped).reduce((a, b) => a + b, 0)).toBe(ticks.length);
    // A real, healthy stream: nothing crossed, stale, out of order or lost.
    expect(st.dropped).toMatchObject({ crossed: 0, stale: 0, out_of_order: 0, quarantined: 0, invalid: 0, mailbox_full: 0 });
    expect(st.accepted).toBe(ticks.length);
    const replay = await (await CaptureReader.open(file)).readAll();
    expect(replay).toEqual(sink.ticks);
  });
});
