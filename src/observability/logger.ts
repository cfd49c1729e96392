/** Structured logs (pino). One root logger; services take a child named after themselves. */
import { pino, type Logger, type LevelWithSilent, type LoggerOptions } from 'pino';
import { maskDeep, maskUrlCredentials } from './redact.js';

export type { Logger };

const level = (process.env.KESTREL_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info')) as LevelWithSilent;

/**
 * Options of every Kestrel logger: secret-named keys are censored at any depth, and user:password@
 * in any URL, or a secret query parameter, is masked in every string logged, message included, so a
 * venue key or a NATS/PostgreSQL password cannot reach a log line. One walk of the log object
 * (maskDeep) rather than pino's path-based redact: paths cannot say "this key at any depth", and
 * ~300 wildcard paths cost ~20 µs per line here.
 */
export function loggerOptions(lvl: LevelWithSilent = level): LoggerOptions {
  return {
    level: lvl,
    base: { app: 'kestrel' },
    formatters: { log: (obj) => maskDeep(obj) as Record<string, unknown> },
    hooks: {
      logMethod(args, method) {
        const masked = args.map((a: unknown) => (typeof a === 'string' ? maskUrlCredentials(a) : a));
        method.apply(this, masked as Parameters<typeof method>);
      },
    },
  };
}

// Logs go to stderr so that CLI output on stdout (summaries, JSON) stays machine-readable. A terminal
// (src/observability/terminal.ts) may take the lines over to print them human-readable.
const stderrDestination = pino.destination(2);
let lineWriter: ((line: string) => void) | undefined;
export const rootLogger: Logger = pino(loggerOptions(), {
  write: (line: string) => void (lineWriter ? lineWriter(line) : stderrDestination.write(line)),
});

/** Route every JSON log line through `write` (undefined: back to plain JSON on stderr). */
export function setLogWriter(write: ((line: string) => void) | undefined): void {
  lineWriter = write;
}

/** A service's logger. Its bindings are masked here: pino's formatters do not see child bindings. */
export function createLogger(service: string, bindings: Record<string, unknown> = {}, parent: Logger = rootLogger): Logger {
  return parent.child(maskDeep({ service, ...bindings }) as Record<string, unknown>);
}

/** Dynamic log level (admin endpoint and config reload). */
export function setLogLevel(next: LevelWithSilent): void {
  rootLogger.level = next;
}
