/** Helpers for modules that are both importable and runnable as a process (`node file.js …`). */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Was this module (its import.meta.url) the one node started? Through a bin symlink argv[1] is the link, so real paths are compared. */
export function isEntryPoint(metaUrl: string): boolean {
  return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(metaUrl));
}

/**
 * Run `main(argv)` when this module is the entry point: exit with its code; if it throws, one line
 * `${failure}: …` on stderr (the stack when `withStack`) and exit 1.
 */
export function runAsEntryPoint(metaUrl: string, failure: string, main: (argv: string[]) => Promise<number>, withStack = false): void {
  if (!isEntryPoint(metaUrl)) return;
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      const text = err instanceof Error ? ((withStack ? err.stack : undefined) ?? err.message) : String(err);
      process.stderr.write(`${failure}: ${text}\n`);
      process.exit(1);
    },
  );
}
