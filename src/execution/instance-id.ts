/**
 * The executor's instance id: a short token carried in every client id it creates, so that
 * recovery can tell its own orders from those of another executor trading the same venue account
 * under the same prefix (it must never cancel or adopt those).
 *
 * Created once, at the first start on a WAL directory, and kept there as `instance-id` next to the
 * segments: the id belongs to the order history it names. Written to a temporary file, fsynced,
 * renamed, and the directory fsynced, so a crash leaves either no id or the complete one.
 */
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir } from './wal/segment-log.js';
import { KestrelError } from '../contracts/errors.js';

export const INSTANCE_ID_FILE = 'instance-id';
/** Lowercase base36, fixed width: client ids stay ≤ 18 characters (Kraken cl_ord_id free text). */
export const INSTANCE_ID_RE = /^[0-9a-z]{4}$/;

export class InstanceIdError extends KestrelError {
  override readonly name = 'InstanceIdError';
  constructor(message: string, options?: ErrorOptions) {
    super('INSTANCE_ID_MISMATCH', message, options);
  }
}

/**
 * The instance id of the executor owning `walDir` (which must exist). `configured`, when given,
 * must match a stored id (a mismatch means the WAL belongs to another executor) and is stored on
 * first start; otherwise a random id is created on first start.
 */
export function loadOrCreateInstanceId(walDir: string, configured?: string): string {
  if (configured !== undefined && !INSTANCE_ID_RE.test(configured)) {
    throw new InstanceIdError(`instance id must be 4 lowercase base36 characters: ${configured}`);
  }
  const file = path.join(walDir, INSTANCE_ID_FILE);
  let stored: string | undefined;
  try {
    stored = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (stored !== undefined) {
    if (!INSTANCE_ID_RE.test(stored)) throw new InstanceIdError(`${file} holds no valid instance id: ${JSON.stringify(stored)}`);
    if (configured !== undefined && configured !== stored) {
      throw new InstanceIdError(
        `configured instance id ${configured} differs from ${stored} stored in ${file}: this WAL belongs to another executor`,
      );
    }
    return stored;
  }
  const id = configured ?? Array.from({ length: 4 }, () => randomInt(36).toString(36)).join('');
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    fs.writeSync(fd, `${id}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(walDir);
  return id;
}
