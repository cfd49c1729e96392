/** Structured logs (pino). One root logger; services take a child named after themselves. */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

const level = (process.env.KESTREL_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info')) as LevelWithSilent;

// Logs go to stderr so that CLI output on stdout (summaries, JSON) stays machine-readable.
export const rootLogger: Logger = pino({ level, base: { app: 'kestrel' } }, pino.destination(2));

export function createLogger(service: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger.child({ service, ...bindings });
}

/** Dynamic log level (admin endpoint and config reload). */
export function setLogLevel(next: LevelWithSilent): void {
  rootLogger.level = next;
}
