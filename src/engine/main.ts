/**
 * The engine as its own process (`kestrel run engine --config FILE [--symbols ...]`): md.norm from
 * NATS into its own rings (or, with --attach, the rings `kestrel run md --rings` writes on this host),
 * the addon engine (strategy.engine: native or julia), signals on sig.{strategy}.{symbol}. Several engines on disjoint --symbols sets run side by side. Health and
 * metrics on admin.host/services.engine.admin_port; SIGTERM/SIGINT drains (intake stops, what arrived is processed
 * and published) and exits 0 with a JSON summary line.
 */
import { NatsBus } from '../bus/nats-bus.js';
import { natsSecurityFrom } from '../bus/nats-security.js';
import { systemClock } from '../clock/clock.js';
import { VENUES } from '../contracts/market.js';
import { probeServer } from '../admin/server.js';
import { scrapedGauge } from '../observability/metrics.js';
import { setLogLevel } from '../observability/logger.js';
import { openRefData } from '../refdata/index.js';
import { runAsEntryPoint, serviceMain } from '../cli/entry.js';
import { engineService } from '../cli/services.js';
import { listFlag, serviceConfig } from '../cli/service-config.js';
import { UsageError, type FlagValues } from '../cli/args.js';
import type { Config } from '../config/schema.js';
import { NativeError } from '../native/index.js';
import { BusEngine } from './bus-engine.js';

export function main(argv: readonly string[]): Promise<number> {
  return serviceMain(engineService, argv, run);
}

/** One ring per (venue, symbol) reference data knows, as the backtest makes them; --symbols keeps a subset. */
async function instrumentsOf(config: Config, symbols: readonly string[] | undefined): Promise<Array<{ venue: string; symbol: string }>> {
  const refdata = await openRefData(config.refdata.postgres_url || undefined);
  const instruments: Array<{ venue: string; symbol: string }> = [];
  try {
    for (const venue of VENUES) {
      const seen = new Set<string>();
      for (const m of await refdata.mappings(venue)) {
        if (seen.has(m.symbol) || (symbols && !symbols.includes(m.symbol))) continue;
        seen.add(m.symbol);
        instruments.push({ venue, symbol: m.symbol });
      }
    }
  } finally {
    await refdata.close();
  }
  return instruments;
}

export async function run(flags: FlagValues): Promise<number> {
  const config = serviceConfig(flags);
  setLogLevel(config.logging.level);
  const symbols = listFlag(flags.symbols);
  const attach = flags.attach === true;
  if (attach && symbols) throw new UsageError('--attach takes the rings of the md process on this host; --symbols goes to `run md`');
  const bus = await NatsBus.connect({ servers: config.bus.nats_url, name: 'kestrel-engine', security: natsSecurityFrom(config.bus) });
  let engine: BusEngine;
  try {
    engine = new BusEngine({
      config,
      bus,
      clock: systemClock,
      source: attach
        ? { kind: 'region', name: config.rings.shm_name }
        : { kind: 'bus', instruments: await instrumentsOf(config, symbols), ...(symbols ? { symbols } : {}) },
    });
  } catch (err) {
    await bus.close();
    if (attach && err instanceof NativeError && err.code === 'REGION_NOT_FOUND')
      throw new UsageError(`--attach: no region ${config.rings.shm_name} on this host (start \`kestrel run md --rings\` first)`);
    throw err;
  }
  const stopMetrics = scrapedGauge('engine_process_messages', 'md.norm ticks and signals of the engine process, by kind', ['kind'], (g) => {
    const s = engine.stats();
    for (const k of ['received', 'pushed', 'foreign', 'malformed', 'signals'] as const) g.set({ kind: k }, s[k]);
  });
  const probes = probeServer();
  probes.addReadinessCheck('bus', () => !bus.connection.isClosed());
  probes.addReadinessCheck('engine', () => engine.running);
  try {
    engine.start();
    const adminUrl = await probes.listen(config.services.engine.admin_port, config.admin.host);
    process.stdout.write(
      `${JSON.stringify({ event: 'ready', service: 'engine', adminUrl, engine: engine.engineKind, rings: engine.rings.length, source: attach ? 'rings' : 'md.norm', namespace: config.bus.namespace })}\n`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    await engine.drain();
  } catch (err) {
    engine.close();
    throw err;
  } finally {
    await probes.close();
    stopMetrics();
    await bus.close();
  }
  process.stdout.write(`${JSON.stringify({ event: 'drained', service: 'engine', ...engine.stats() })}\n`);
  return 0;
}

runAsEntryPoint(import.meta.url, 'engine failed', main);
