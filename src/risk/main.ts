/**
 * The static-limit risk gateway as its own process (`kestrel run risk [--config FILE.yaml]`): limits
 * from the one config (risk.*, strategy.capital; riskLimitsOf as a session's gateway gets them),
 * health and metrics on services.risk.admin_port. Answers risk.check, publishes risk.limits,
 * risk.status and risk.breach until SIGTERM/SIGINT.
 */
import { systemClock } from '../clock/clock.js';
import { ensureStreams } from '../bus/streams.js';
import { StaticRiskGateway } from './static-gateway.js';
import { runAsEntryPoint, serviceMain } from '../cli/entry.js';
import { riskService } from '../cli/services.js';
import type { FlagValues } from '../cli/args.js';
import { connectServiceBus, loadServiceConfig, untilStopSignal, writeReady } from '../cli/service-runtime.js';
import { riskLimitsOf } from '../config/live.js';
import { probeServer } from '../admin/server.js';
import { exportRiskMetrics } from './metrics.js';
import type { Namespace } from '../contracts/subjects.js';

/** `kestrel run risk` and `node src/risk/main.js`: flags from riskService (src/cli/services.ts). */
export function main(argv: readonly string[]): Promise<number> {
  return serviceMain(riskService, argv, run);
}

/** The gateway with parsed flags, until SIGTERM/SIGINT. */
export async function run(flags: FlagValues): Promise<number> {
  const config = loadServiceConfig(flags);
  const ns = config.bus.namespace as Namespace;
  const bus = await connectServiceBus(config, 'risk');
  // Breaches go to stream `risk`, de-duplicated by their decision id (src/bus/streams.ts).
  const streams = await ensureStreams(bus, ns, { keys: ['risk'], config: config.bus.streams });
  const gw = new StaticRiskGateway(bus, riskLimitsOf(config), ns, { clock: systemClock, streams });
  gw.start();
  const stopMetrics = exportRiskMetrics(gw);
  const probes = probeServer();
  probes.addReadinessCheck('bus', () => !bus.connection.isClosed());
  const adminUrl = await probes.listen(config.services.risk.admin_port, config.admin.host);
  writeReady('risk', { adminUrl });
  await untilStopSignal();
  // Drain: no new risk.check taken, what was published reaches the server, then the connection closes.
  gw.stop();
  await bus.flush();
  await probes.close();
  stopMetrics();
  await bus.close();
  return 0;
}

runAsEntryPoint(import.meta.url, 'risk gateway failed', main);
