/**
 * What every `kestrel run <service>` process shares: the one zod config (config/default.yaml, the
 * --config overlay, KESTREL__section__key overrides; src/config/load.ts), its NATS connection, the
 * ready line on stdout and the wait for SIGTERM/SIGINT that starts its drain.
 */
import { serviceConfig } from './service-config.js';
import type { Config } from '../config/schema.js';
import { NatsBus } from '../bus/nats-bus.js';
import { natsSecurityFrom } from '../bus/nats-security.js';
import type { FlagValues } from './args.js';

/** The config of a service process: defaults, then `--config FILE` (YAML) when given, then the environment. */
export function loadServiceConfig(flags: FlagValues, env: NodeJS.ProcessEnv = process.env): Config {
  return serviceConfig(flags, {}, env);
}

/** The service's NATS connection (bus.nats_url, bus.auth / bus.tls, secrets from the environment). */
export function connectServiceBus(config: Config, service: string, env: NodeJS.ProcessEnv = process.env): Promise<NatsBus> {
  return NatsBus.connect({ servers: config.bus.nats_url, name: `kestrel-${service}`, security: natsSecurityFrom(config.bus, env) });
}

/** `{"event":"ready","service":…}` on stdout: the machine-readable line supervisors and tests wait for. */
export function writeReady(service: string, fields: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ event: 'ready', service, ...fields }) + '\n');
}

/** Resolves with the signal's name at the first SIGTERM or SIGINT. */
export function untilStopSignal(): Promise<'SIGTERM' | 'SIGINT'> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}
