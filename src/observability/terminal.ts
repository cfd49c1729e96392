/**
 * What a person sees in a terminal. On a TTY (and without --json): log lines are printed
 * human-readable (time, level, service, message, then key=value fields) and a session shows one live
 * status line at the bottom (ticks/s, signals, orders, PnL, venue health), redrawn under each log line
 * and erased before the summary is printed. Piped or with --json: plain JSON lines, no status line.
 */
import { setLogWriter } from './logger.js';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const COLORS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'app', 'service']);

function fieldText(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

/** One pino JSON line as `HH:MM:SS.mmm LEVEL service: message key=value ...` (the input when it is not JSON). */
export function prettyLogLine(line: string, color = false): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.replace(/\n$/, '');
  }
  const lvl = typeof o.level === 'number' ? o.level : 30;
  const t = typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 23) : '';
  const level = LEVELS[lvl] ?? String(lvl);
  const svc = typeof o.service === 'string' ? `${o.service}: ` : '';
  const fields = Object.entries(o)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${fieldText(v)}`)
    .join(' ');
  const lv = color ? `\x1b[${COLORS[lvl] ?? '0'}m${level}\x1b[0m` : level;
  return `${t} ${lv} ${svc}${String(o.msg ?? '')}${fields ? `  ${fields}` : ''}`;
}

export interface StatusFields {
  ticks: number;
  signals: number;
  orders: number;
  fills: number;
  rejects: number;
  netPnl: number;
  venues: Record<string, boolean>;
}

/** The status line's text; `ticksPerSec` from the previous sample. */
export function formatStatus(s: StatusFields, ticksPerSec: number): string {
  const health = Object.entries(s.venues)
    .map(([v, up]) => `${v} ${up ? 'up' : 'DOWN'}`)
    .join(', ');
  return `[kestrel] ${s.ticks} ticks (${Math.round(ticksPerSec)}/s) | ${s.signals} signals | ${s.orders} orders, ${s.fills} fills, ${s.rejects} rejects | PnL ${s.netPnl.toFixed(2)} | ${health || 'no venue'}`;
}

export interface Terminal {
  /** True when output is for a person (TTY, no --json). */
  readonly interactive: boolean;
  /** Replace the status line (no-op when not interactive). */
  status(text: string): void;
  /** Erase the status line and restore plain log output; call before printing the summary. */
  close(): void;
}

/**
 * Take over log output for a person when `stream` is a TTY and `json` is false; else leave the
 * logger's plain JSON. The status line lives on `stream` (stderr), so stdout stays the summary only.
 */
export function openTerminal(opts: { json: boolean; stream?: NodeJS.WriteStream; columns?: number }): Terminal {
  const stream = opts.stream ?? process.stderr;
  const interactive = stream.isTTY === true && !opts.json;
  if (!interactive) return { interactive: false, status: () => undefined, close: () => undefined };
  let current = '';
  const width = () => Math.max(40, (opts.columns || stream.columns || 160) - 1);
  const draw = () => {
    if (current) stream.write(`\x1b[2K\r${current.slice(0, width())}`);
  };
  const erase = () => {
    if (current) stream.write('\x1b[2K\r');
  };
  setLogWriter((line) => {
    erase();
    stream.write(`${prettyLogLine(line, true)}\n`);
    draw();
  });
  return {
    interactive: true,
    status: (text) => {
      current = text;
      draw();
    },
    close: () => {
      erase();
      current = '';
      setLogWriter(undefined);
    },
  };
}

/** KESTREL_VERBOSE=1 or --verbose: stack traces on errors. */
export function verboseRequested(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  return argv.includes('--verbose') || env.KESTREL_VERBOSE === '1' || env.KESTREL_VERBOSE === 'true';
}

/** The one line an error prints: `kestrel: message` (messages folded onto one line), or its stack when verbose. */
export function errorText(err: unknown, verbose: boolean): string {
  if (verbose && err instanceof Error && err.stack) return `kestrel: ${err.stack}\n`;
  const msg = err instanceof Error ? err.message : String(err);
  return `kestrel: ${msg.replace(/\s*\n\s*/g, ' ')}\n`;
}
