/** Structured logs (pino). One root logger; services take a child named after themselves. */
import { pino, type Logger, type LevelWithSilent, type LoggerOptions } from 'pino';
import { maskDeep, maskUrlCredentials, secretRedactPaths } from './redact.js';

export type { Logger };

const level = (process.env.KESTREL_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info')) as LevelWithSilent;

/**
 * Options of every Kestrel logger: secret-named keys are censored wherever they sit (pino redact),
 * and user:password@ in any URL, or a secret query parameter, is masked in every string logged,
 * message included, so a venue key or a NATS/PostgreSQL password cannot reach a log line.
 */
export function loggerOptions(lvl: LevelWithSilent = level): LoggerOptions {
  return {
    level: lvl,
    base: { app: 'kestrel' },
    redact: { paths: secretRedactPaths(), censor: '[REDACTED]' },
    formatters: { log: (obj) => maskDeep(obj) as Record<string, unknown> },
    hooks: {
      logMethod(args, method) {
        const masked = args.map((a: unknown) => (typeof a === 'string' ? maskUrlCredentials(a) : a));
        method.apply(this, masked as Parameters<typeof method>);
      },
    },
  };
}

// Logs go to stderr so that CLI output on stdout (summaries, JSON) stays machine-readable.
export const rootLogger: Logger = pino(loggerOptions(), pino.destination(2));

export function createLogger(service: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger.child({ service, ...bindings });
}

/** Dynamic log level (admin endpoint and config reload). */
export function setLogLevel(next: LevelWithSilent): void {
  rootLogger.level = next;
}
