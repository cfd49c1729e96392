/**
 * One venue's order gateway as its own process (`kestrel run gateway --venue V`): the venue's
 * private client (endpoints venues.<venue>, keys KESTREL_<VENUE>_API_KEY / _API_SECRET …) behind the
 * same OrderGateway the executor runs in-process — ord.req.{venue} (queue group), ord.cancel.req,
 * ord.replace.req in; ord.ack.{venue} (stream `ord`, de-duplicated) and venue.health.{venue} out.
 * An executor with the venue in services.executor.remote_gateways sends it its orders.
 *
 * SIGTERM drains: no new request is taken, those in flight get their venue answer, then exit 0.
 */
import { systemClock } from '../clock/clock.js';
import { ensureStreams } from '../bus/streams.js';
import { probeServer } from '../admin/server.js';
import { requiredFlag, runAsEntryPoint, serviceMain } from '../cli/entry.js';
import { gatewayService } from '../cli/services.js';
import { UsageError, type FlagValues } from '../cli/args.js';
import { connectServiceBus, loadServiceConfig, untilStopSignal, writeReady } from '../cli/service-runtime.js';
import { isVenue, type Namespace } from '../contracts/index.js';
import { createLogger } from '../observability/logger.js';
import { openRefData } from '../refdata/index.js';
import { endpointsOf } from '../session/venue-market-data.js';
import { startLiveOrderEntry } from './live.js';

/** How long a drain waits for requests in flight (a venue answers in well under a second). */
const DRAIN_TIMEOUT_MS = 10_000;

export function main(argv: readonly string[]): Promise<number> {
  return serviceMain(gatewayService, argv, run);
}

export async function run(flags: FlagValues): Promise<number> {
  const venue = requiredFlag(gatewayService, flags, 'venue');
  const config = loadServiceConfig(flags);
  if (!isVenue(venue) || !config.session.venues.includes(venue))
    throw new UsageError(`--venue ${venue}: not one of session.venues (${config.session.venues.join(', ')})`);
  const log = createLogger('gateway', { venue });
  const ns = config.bus.namespace as Namespace;
  const refdata = await openRefData(config.refdata.postgres_url || undefined);
  const spec = await refdata.venueSpec(venue).finally(() => refdata.close());
  if (!spec) throw new UsageError(`reference data has no venue ${venue}`);
  const bus = await connectServiceBus(config, `gateway-${venue}`);
  const streams = await ensureStreams(bus, ns, {
    keys: ['ord'],
    config: config.bus.streams,
    onError: (err, subject) => log.error({ err: String(err), subject }, 'durable publish not acknowledged by its stream'),
  });
  const entry = await startLiveOrderEntry({
    bus,
    namespace: ns,
    clock: systemClock,
    venues: [venue],
    endpoints: endpointsOf(config),
    specs: { [venue]: spec },
    symbols: config.session.symbols,
    streams,
  });
  const gw = entry.gateways[venue]!;
  const probes = probeServer();
  probes.addReadinessCheck('bus', () => !bus.connection.isClosed());
  probes.addReadinessCheck('venue', () => gw.client.connected);
  const adminUrl = await probes.listen(config.services.gateway.admin_port, config.admin.host);
  await bus.flush();
  writeReady('gateway', { venue, adminUrl });
  await untilStopSignal();
  const open = await gw.drain(DRAIN_TIMEOUT_MS);
  if (open > 0) log.warn({ open }, 'drain timed out with requests unanswered (the executor resolves them by client id)');
  await bus.flush();
  await probes.close();
  await bus.close();
  return 0;
}

runAsEntryPoint(import.meta.url, 'gateway failed', main);
