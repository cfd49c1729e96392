/** Locates the bundled real recordings in ../shared/data (never copied into the repository). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../config/load.js';

export class SharedDataMissingError extends Error {
  override readonly name = 'SharedDataMissingError';
}

export function sharedDataDir(): string {
  const dir = process.env.KESTREL_SHARED_DATA ?? path.resolve(projectRoot, '..', 'shared', 'data');
  if (!existsSync(dir)) {
    throw new SharedDataMissingError(
      `bundled market data not found at ${dir}: place the shared/ folder beside the repository or set KESTREL_SHARED_DATA`,
    );
  }
  return dir;
}

export function sharedDataFile(...parts: string[]): string {
  const file = path.join(sharedDataDir(), ...parts);
  if (!existsSync(file)) throw new SharedDataMissingError(`bundled data file missing: ${file}`);
  return file;
}
