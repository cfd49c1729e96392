/**
 * The static-limit risk gateway as its own process (`kestrel run risk --config risk.json`):
 * `{ "nats": "nats://…", "limits": StaticLimitsConfig, "namespace"?: "live" | "replay" }`.
 * Answers risk.check, publishes risk.limits, risk.status and risk.breach until SIGTERM/SIGINT.
 */
import fs from 'node:fs';
import { NatsBus } from '../bus/nats-bus.js';
import { systemClock } from '../clock/clock.js';
import { natsSecurityFrom } from '../bus/nats-security.js';
import { ensureStreams } from '../bus/streams.js';
import { maskUrlCredentials } from '../observability/redact.js';
import { StaticRiskGateway, type StaticLimitsConfig } from './static-gateway.js';
import { requiredFlag, runAsEntryPoint, serviceMain } from '../cli/entry.js';
import { riskService } from '../cli/services.js';
import type { FlagValues } from '../cli/args.js';
import { probeServer } from '../admin/server.js';
import { exportRiskMetrics } from './metrics.js';
import { KestrelError } from '../contracts/errors.js';

export class RiskConfigError extends KestrelError {
  override readonly name = 'RiskConfigError';
  constructor(message: string, options?: ErrorOptions) {
    super('RISK_CONFIG_INVALID', message, options);
  }
}

export interface RiskProcessConfig {
  nats: string;
  limits: StaticLimitsConfig;
  namespace?: 'live' | 'replay';
  /** /health/live, /health/ready and /metrics (no operator action here). Default 127.0.0.1, port 0 (printed as adminUrl). */
  admin?: { port?: number; host?: string };
}

export function parseRiskConfig(text: string): RiskProcessConfig {
  let c: Partial<RiskProcessConfig>;
  try {
    c = JSON.parse(text) as Partial<RiskProcessConfig>;
  } catch (err) {
    throw new RiskConfigError(`risk config is not JSON: ${(err as Error).message}`);
  }
  if (typeof c.nats === 'string' && maskUrlCredentials(c.nats) !== c.nats)
    throw new RiskConfigError('risk config: "nats" carries user:password; use KESTREL_NATS_USER / KESTREL_NATS_PASSWORD');
  if (typeof c.nats !== 'string') throw new RiskConfigError('risk config: "nats" (URL) is required');
  validateStaticLimits(c.limits);
  if (c.namespace !== undefined && c.namespace !== 'live' && c.namespace !== 'replay')
    throw new RiskConfigError('risk config: namespace must be live or replay');
  return c as RiskProcessConfig;
}

/** The checks of a StaticLimitsConfig from JSON (risk process, and an executor's embedded gateway). */
export function validateStaticLimits(limits: unknown): StaticLimitsConfig {
  const l = limits as Partial<StaticLimitsConfig> | undefined;
  if (!l || ![l.perSymbolNotional, l.portfolioNotional, l.maxOrderNotional].every((x) => typeof x === 'number' && x >= 0)) {
    throw new RiskConfigError('risk config: "limits" needs perSymbolNotional, portfolioNotional, maxOrderNotional (numbers ≥ 0)');
  }
  const frac = (x: unknown) => typeof x === 'number' && x > 0 && x <= 1;
  const dd = l.drawdown;
  if (dd !== undefined && (!frac(dd.maxDaily) || !frac(dd.maxTotal))) {
    throw new RiskConfigError('risk config: "limits.drawdown" needs maxDaily and maxTotal in (0, 1]');
  }
  for (const k of ['maxPositionPct', 'stopLossPct', 'maxCorrelation'] as const) {
    if (l[k] !== undefined && !frac(l[k])) throw new RiskConfigError(`risk config: "limits.${k}" must be in (0, 1]`);
  }
  const v = l.var;
  if (v !== undefined) {
    // Fractions, not percent: confidence 95 or a cap fraction of 50 would silently disable the limit.
    const open01 = (x: unknown) => typeof x === 'number' && x > 0 && x < 1;
    if (!(typeof v.confidence === 'number' && v.confidence >= 0.5 && v.confidence < 1))
      throw new RiskConfigError('risk config: "limits.var.confidence" must be in [0.5, 1), e.g. 0.95');
    if (!(typeof v.maxVar === 'number' && v.maxVar > 0)) throw new RiskConfigError('risk config: "limits.var.maxVar" must be > 0');
    if (!open01(v.lambda)) throw new RiskConfigError('risk config: "limits.var.lambda" must be in (0, 1)');
    if (v.barMs !== undefined && !(typeof v.barMs === 'number' && v.barMs > 0))
      throw new RiskConfigError('risk config: "limits.var.barMs" must be > 0');
    if (v.minBars !== undefined && !(Number.isInteger(v.minBars) && v.minBars >= 1))
      throw new RiskConfigError('risk config: "limits.var.minBars" must be an integer >= 1');
    if (v.staleMarkMs !== undefined && !(typeof v.staleMarkMs === 'number' && v.staleMarkMs > 0))
      throw new RiskConfigError('risk config: "limits.var.staleMarkMs" must be > 0');
    if (v.degradedCapFraction !== undefined && !frac(v.degradedCapFraction))
      throw new RiskConfigError('risk config: "limits.var.degradedCapFraction" must be in (0, 1]');
  }
  if ((dd !== undefined || l.maxPositionPct !== undefined) && !(typeof l.capital === 'number' && l.capital > 0)) {
    throw new RiskConfigError('risk config: "limits.capital" (> 0) is needed by drawdown and maxPositionPct');
  }
  return l as StaticLimitsConfig;
}

/** `kestrel run risk` and `node src/risk/main.js`: flags from riskService (src/cli/services.ts). */
export function main(argv: readonly string[]): Promise<number> {
  return serviceMain(riskService, argv, run);
}

/** The gateway with parsed flags, until SIGTERM/SIGINT. */
export async function run(flags: FlagValues): Promise<number> {
  const file = requiredFlag(riskService, flags, 'config');
  const cfg = parseRiskConfig(fs.readFileSync(file, 'utf8'));
  const bus = await NatsBus.connect({ servers: cfg.nats, name: 'kestrel-risk', security: natsSecurityFrom() });
  // Breaches go to stream `risk`, de-duplicated by their decision id (src/bus/streams.ts).
  const streams = await ensureStreams(bus, cfg.namespace ?? 'live', { keys: ['risk'] });
  const gw = new StaticRiskGateway(bus, cfg.limits, cfg.namespace ?? 'live', { clock: systemClock, streams });
  gw.start();
  const stopMetrics = exportRiskMetrics(gw);
  const probes = probeServer();
  probes.addReadinessCheck('bus', () => !bus.connection.isClosed());
  const adminUrl = await probes.listen(cfg.admin?.port ?? 0, cfg.admin?.host ?? '127.0.0.1');
  process.stdout.write(JSON.stringify({ event: 'ready', service: 'risk', adminUrl }) + '\n');
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await probes.close();
  stopMetrics();
  gw.stop();
  await bus.close();
  return 0;
}

runAsEntryPoint(import.meta.url, 'risk gateway failed', main);
