/**
 * The one way a module runs as a process (`node file.js …`, `kestrel`, `kestrel run <service>`):
 * `runAsEntryPoint` starts it, `serviceMain` parses a service's flags (src/cli/services.ts) and
 * answers `--help`. Only this file reads process.argv; everything else is handed its argv.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isKestrelError } from '../contracts/errors.js';
import { formatHelp, parseFlags, UsageError, type FlagValues } from './args.js';
import type { ServiceSpec } from './services.js';

/** Was this module (its import.meta.url) the one node started? Through a bin symlink argv[1] is the link, so real paths are compared. */
export function isEntryPoint(metaUrl: string): boolean {
  return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(metaUrl));
}

/** The user's input, not the program: a UsageError or any KestrelError with code USAGE. */
export function isUsageError(err: unknown): boolean {
  return err instanceof UsageError || (isKestrelError(err) && err.code === 'USAGE');
}

export interface EntryOptions {
  /** Print the stack (not only the message) of an unexpected failure. */
  withStack?: boolean;
  /**
   * Report a failure and choose the exit code (the `kestrel` CLI's own classification); without it a
   * usage error is one line and exit 2, anything else `${failure}: …` and exit 1.
   */
  onError?: (err: unknown, argv: readonly string[]) => number;
  /**
   * 'exit' (services): process.exit once main settles, whatever handles are still open.
   * 'drain' (the CLI): set process.exitCode and let the event loop end, so piped output is not cut.
   */
  finish?: 'exit' | 'drain';
}

/**
 * Run `main(argv)` when this module is the entry point and exit with its code. A usage error prints
 * one line `${failure}: Name: message` and exits 2; any other failure `${failure}: …` (the stack when
 * `withStack`) and exits 1.
 */
export function runAsEntryPoint(
  metaUrl: string,
  failure: string,
  main: (argv: string[]) => Promise<number>,
  options: EntryOptions | boolean = {},
): void {
  if (!isEntryPoint(metaUrl)) return;
  const opts: EntryOptions = typeof options === 'boolean' ? { withStack: options } : options;
  const argv = process.argv.slice(2);
  const finish = (code: number) => {
    if (opts.finish === 'drain') process.exitCode = code;
    else process.exit(code);
  };
  main(argv).then(finish, (err: unknown) => {
    if (opts.onError) return finish(opts.onError(err, argv));
    if (isUsageError(err)) {
      const e = err as Error;
      process.stderr.write(`${failure}: ${e.name}: ${e.message.replace(/\s*\n\s*/g, ' ')}\n`);
      return finish(2);
    }
    const text = err instanceof Error ? ((opts.withStack ? err.stack : undefined) ?? err.message) : String(err);
    process.stderr.write(`${failure}: ${text}\n`);
    finish(1);
  });
}

/**
 * A service's main: parse `argv` with its flag list (unknown flags and stray operands are usage
 * errors), print its generated help for `--help`, else run it with the parsed flags.
 */
export async function serviceMain(
  spec: ServiceSpec,
  argv: readonly string[],
  run: (flags: FlagValues) => Promise<number>,
): Promise<number> {
  const flags = parseServiceFlags(spec, argv);
  if (flags.help) {
    process.stdout.write(formatHelp(spec.usage, spec.summary, spec.flags));
    return 0;
  }
  return run(flags);
}

/** The flags of one service's argv; operands are refused (no service takes any). */
export function parseServiceFlags(spec: ServiceSpec, argv: readonly string[]): FlagValues {
  const { flags, positionals } = parseFlags(argv, spec.flags);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (${spec.usage})`);
  return flags;
}

/** A required string flag of a service, or a usage error naming its usage line. */
export function requiredFlag(spec: ServiceSpec, flags: FlagValues, name: string): string {
  const v = flags[name];
  if (typeof v !== 'string') throw new UsageError(`--${name} is required (${spec.usage})`);
  return v;
}
