/**
 * Standalone simulated private venues (Binance, Kraken, OKX) in their own process, so they outlive
 * an executor that is killed and restarted (chaos/WAL tests, default session).
 *
 *   npx tsx src/simulators/private/main.ts [--mode paper|realistic] [--journal-dir DIR]
 *       [--port-binance N --port-kraken N --port-okx N] [--replay N] [--speed X]
 *       [--replay-source binance|per-venue] [--probe] [--no-rate-limit]
 *
 * Prints one JSON line on stdout with each venue's ws/rest/control URLs, then serves until SIGTERM
 * or SIGINT. `--replay N` feeds the first N records of the real Binance capture (0 = all) into all
 * three order books; `--speed X` paces it at X times recorded time (0 = as fast as possible).
 * `--replay-source per-venue` makes each venue replay its own capture (Kraken BTC-USD book, OKX
 * BTC-USDT recording; `--replay N` then limits the Binance capture only).
 * `--probe` records order-frame arrival times (GET /__sim/arrivals) for the order-entry bench.
 */
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { EngineMode } from '../matching/engine.js';
import { replayCaptures } from './replay.js';
import { startPrivateVenues } from './venues.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mode: { type: 'string', default: 'paper' },
      'journal-dir': { type: 'string' },
      'port-binance': { type: 'string' },
      'port-kraken': { type: 'string' },
      'port-okx': { type: 'string' },
      replay: { type: 'string' },
      speed: { type: 'string', default: '1' },
      'replay-source': { type: 'string', default: 'binance' },
      probe: { type: 'boolean', default: false },
      'no-rate-limit': { type: 'boolean', default: false },
    },
  });
  const mode = values.mode as EngineMode;
  if (mode !== 'paper' && mode !== 'realistic') throw new TypeError(`--mode must be paper or realistic, got ${mode}`);
  const journalDir = values['journal-dir'];
  if (journalDir) mkdirSync(journalDir, { recursive: true });
  const port = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  const venues = await startPrivateVenues({
    mode,
    ...(journalDir ? { journalDir } : {}),
    ports: { binance: port(values['port-binance']), kraken: port(values['port-kraken']), okx: port(values['port-okx']) },
    ...(values['no-rate-limit'] ? { rateLimit: { limit: 0, windowMs: 1000 } } : {}),
  });
  if (values.probe) for (const v of venues.all) v.recordArrivals();
  const info = Object.fromEntries(venues.all.map((v) => [v.venue, { ws: v.wsUrl, rest: v.url, control: `${v.url}/__sim/state` }]));
  process.stdout.write(JSON.stringify(info) + '\n');

  let stopping = false;
  const stop = (): void => {
    stopping = true;
    void venues.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  if (values.replay !== undefined) {
    const source = values['replay-source'];
    if (source !== 'binance' && source !== 'per-venue') throw new TypeError(`--replay-source must be binance or per-venue, got ${source}`);
    await replayCaptures(venues, { speed: Number(values.speed), maxRecords: Number(values.replay), source }, () => stopping);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`private venue simulators failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
