import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made: string[] = [];
// Removed when the test file's worker exits (vitest runs each file in a forked process), so a
// failing test leaves nothing behind in /tmp either.
process.once('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh directory under the OS temp folder, named `kestrel-<prefix>-XXXXXX`, removed at exit. */
export function tmpDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `kestrel-${prefix}-`));
  made.push(dir);
  return dir;
}
