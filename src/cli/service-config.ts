/**
 * The one zod config of a `kestrel run <service>` process: config/default.yaml, the `--config` overlay,
 * KESTREL__* environment overrides, `--set key=value` and the service's own flags (a preset), through
 * the same loader as `kestrel start` (src/config/load.ts), so no service parses its own JSON.
 */
import { parse as parseYaml } from 'yaml';
import { loadConfig, type Config } from '../config/index.js';
import { ConfigError } from '../config/load.js';
import { maskUrlCredentials } from '../observability/redact.js';
import { setToOverride, UsageError, type FlagSpec, type FlagValues } from './args.js';

/** The flags every config-driven service takes. */
export const serviceConfigFlags: readonly FlagSpec[] = [
  { name: 'config', kind: 'string', metavar: 'FILE', help: 'YAML overlay merged over config/default.yaml' },
  { name: 'set', kind: 'repeat', metavar: 'KEY=VALUE', help: 'override one key, e.g. --set bus.nats_url=nats://10.0.0.5:4222' },
];

/** `--venues a,b` / `--symbols X,Y` → the list (comma-separated, repeatable). */
export function listFlag(v: FlagValues[string]): string[] | undefined {
  if (v === undefined) return undefined;
  const raw = Array.isArray(v) ? v : [String(v)];
  const out = raw
    .flatMap((x) => x.split(','))
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
  if (out.length === 0) throw new UsageError('an empty list was given');
  return out;
}

/**
 * Defaults < --config < environment < preset (the service's own flags) < --set: the one way every
 * `kestrel run <service>` loads its config.
 */
export function serviceConfig(flags: FlagValues, preset: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const sets = (flags.set as string[] | undefined) ?? [];
  const overrides = merge(
    preset,
    setToOverride(sets, (raw) => parseYaml(raw) as unknown),
  );
  const config = loadConfig({ ...(typeof flags.config === 'string' ? { file: flags.config } : {}), env, overrides });
  // A password in a URL ends up in logs and `config show`: the identity comes from the environment.
  if (maskUrlCredentials(config.bus.nats_url) !== config.bus.nats_url)
    throw new ConfigError(
      'config error: bus.nats_url carries user:password; use KESTREL_NATS_USER / KESTREL_NATS_PASSWORD',
      'bus.nats_url',
    );
  return config;
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      prev && typeof prev === 'object' && !Array.isArray(prev) && v && typeof v === 'object' && !Array.isArray(v)
        ? merge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}
