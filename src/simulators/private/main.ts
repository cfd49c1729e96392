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
import { UsageError, type FlagValues } from '../../cli/args.js';
import { runAsEntryPoint, serviceMain } from '../../cli/entry.js';
import { privateVenuesService } from '../../cli/services.js';
import type { EngineMode } from '../matching/engine.js';
import { replayCaptures } from './replay.js';
import { startPrivateVenues } from './venues.js';

export function main(argv: readonly string[]): Promise<number> {
  return serviceMain(privateVenuesService, argv, run);
}

/** Serves until SIGTERM/SIGINT; a replay that fails fails the process. */
export async function run(flags: FlagValues): Promise<number> {
  const mode = (flags.mode ?? 'paper') as EngineMode;
  if (mode !== 'paper' && mode !== 'realistic') throw new UsageError(`--mode must be paper or realistic, got ${String(mode)}`);
  const source = flags['replay-source'] ?? 'binance';
  if (source !== 'binance' && source !== 'per-venue')
    throw new UsageError(`--replay-source must be binance or per-venue, got ${String(source)}`);
  const speed = Number(flags.speed ?? '1');
  if (!Number.isFinite(speed) || speed < 0) throw new UsageError(`--speed must be a number >= 0, got ${String(flags.speed)}`);
  const journalDir = flags['journal-dir'] as string | undefined;
  if (journalDir) mkdirSync(journalDir, { recursive: true });
  const port = (v: FlagValues[string]): number | undefined => (typeof v === 'number' ? v : undefined);
  const venues = await startPrivateVenues({
    mode,
    ...(journalDir ? { journalDir } : {}),
    ports: { binance: port(flags['port-binance']), kraken: port(flags['port-kraken']), okx: port(flags['port-okx']) },
    ...(flags['no-rate-limit'] ? { rateLimit: { limit: 0, windowMs: 1000 } } : {}),
  });
  if (flags.probe) for (const v of venues.all) v.recordArrivals();
  const info = Object.fromEntries(venues.all.map((v) => [v.venue, { ws: v.wsUrl, rest: v.url, control: `${v.url}/__sim/state` }]));
  process.stdout.write(JSON.stringify(info) + '\n');

  let stopping = false;
  const signalled = new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  const replayed =
    typeof flags.replay === 'number'
      ? replayCaptures(venues, { speed, maxRecords: flags.replay, source }, () => stopping)
      : Promise.resolve(0);
  // A finished replay leaves the venues serving; a failed one ends the process (exit 1).
  await Promise.race([signalled, replayed.then(() => signalled)]);
  stopping = true;
  await venues.stop();
  return 0;
}

runAsEntryPoint(import.meta.url, 'private venue simulators failed', main, { withStack: true });
