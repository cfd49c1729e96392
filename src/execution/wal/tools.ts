/**
 * Operator tools for a WAL the executor refused to open (WalCorruptError): `check` describes every
 * segment without changing anything; `salvage` copies the directory to a backup, then rewrites each
 * damaged segment with every valid frame it still holds (resynchronising after each bad region), so
 * that the executor can start and ask the venues about everything open. Records inside a damaged
 * region are lost: positions must then be reconciled against the venue balances.
 *
 * Only a torn tail (a bad frame with no valid frame after it, in the newest segment) is normal
 * after a crash; the executor cuts it by itself and `check` reports it as such.
 */
import type { Clock } from '../../clock/clock.js';
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { HEADER, MAX_RECORD, SEGMENT_RE, fsyncDir, nextValidFrame } from './segment-log.js';

export interface SegmentCheck {
  segment: string;
  /** File size including any zero pre-extension. */
  bytes: number;
  records: number;
  status: 'clean' | 'torn-tail' | 'corrupt';
  /** Byte ranges [from, to) that hold no valid frame (torn tail included). */
  damaged: Array<{ from: number; to: number }>;
  /** Valid records that follow the first damaged range (what a silent cut would have dropped). */
  recordsAfterDamage: number;
}

export interface WalCheck {
  dir: string;
  ok: boolean;
  records: number;
  segments: SegmentCheck[];
}

interface Scan {
  frames: Array<{ off: number; len: number }>;
  damaged: Array<{ from: number; to: number }>;
}

function scanResync(buf: Buffer): Scan {
  let end = buf.length;
  while (end > 0 && buf[end - 1] === 0) end--;
  const frames: Scan['frames'] = [];
  const damaged: Scan['damaged'] = [];
  let off = 0;
  while (off < end) {
    const len = off + HEADER <= end ? buf.readUInt32LE(off) : 0;
    const ok =
      len > 0 &&
      len <= MAX_RECORD &&
      off + HEADER + len <= buf.length &&
      crc32(buf.subarray(off + HEADER, off + HEADER + len)) === buf.readUInt32LE(off + 4);
    if (ok) {
      frames.push({ off, len: HEADER + len });
      off += HEADER + len;
      continue;
    }
    const next = nextValidFrame(buf, off);
    const to = next < 0 ? end : next;
    damaged.push({ from: off, to });
    off = to;
  }
  return { frames, damaged };
}

function segmentsOf(dir: string): string[] {
  if (!fs.existsSync(dir)) throw new Error(`no WAL directory at ${dir}`);
  return fs
    .readdirSync(dir)
    .filter((n) => SEGMENT_RE.test(n))
    .sort();
}

/** Describe every segment; `ok` is false when the executor would refuse to start (corruption). */
export function checkWal(dir: string): WalCheck {
  const names = segmentsOf(dir);
  const segments: SegmentCheck[] = [];
  let records = 0;
  names.forEach((name, i) => {
    const buf = fs.readFileSync(path.join(dir, name));
    const { frames, damaged } = scanResync(buf);
    const first = damaged[0];
    const after = first ? frames.filter((f) => f.off >= first.to).length : 0;
    const tornTail = i === names.length - 1 && damaged.length === 1 && after === 0;
    segments.push({
      segment: name,
      bytes: buf.length,
      records: frames.length,
      status: damaged.length === 0 ? 'clean' : tornTail ? 'torn-tail' : 'corrupt',
      damaged,
      recordsAfterDamage: after,
    });
    records += frames.length;
  });
  return { dir, ok: segments.every((s) => s.status !== 'corrupt'), records, segments };
}

export interface SalvageResult {
  check: WalCheck;
  /** Copy of the directory as it was, or undefined when nothing needed salvaging. */
  backupDir: string | undefined;
  rewritten: string[];
  droppedBytes: number;
}

/**
 * Rewrite every corrupt segment with its valid frames, after copying the whole directory to
 * `backupDir` (default: `<dir>.corrupt-<timestamp>` next to it). The executor must be stopped.
 */
export function salvageWal(dir: string, opts: { backupDir?: string; clock: Clock }): SalvageResult {
  const check = checkWal(dir);
  const bad = check.segments.filter((s) => s.status === 'corrupt');
  if (bad.length === 0) return { check, backupDir: undefined, rewritten: [], droppedBytes: 0 };
  const stamp = new Date(Number(opts.clock.nowNs() / 1_000_000n)).toISOString().replace(/[:.]/g, '-');
  const backupDir = opts.backupDir ?? `${path.resolve(dir)}.corrupt-${stamp}`;
  if (fs.existsSync(backupDir)) throw new Error(`backup directory ${backupDir} already exists`);
  fs.cpSync(dir, backupDir, { recursive: true });
  // The backup is the only copy of the damaged bytes: durable before anything is rewritten.
  for (const n of fs.readdirSync(backupDir)) {
    const fd = fs.openSync(path.join(backupDir, n), 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  fsyncDir(backupDir);
  fsyncDir(path.dirname(backupDir));
  let droppedBytes = 0;
  for (const s of bad) {
    const file = path.join(dir, s.segment);
    const buf = fs.readFileSync(file);
    const { frames, damaged } = scanResync(buf);
    const out = Buffer.concat(frames.map((f) => buf.subarray(f.off, f.off + f.len)));
    const tmp = `${file}.salvage`;
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, out);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    for (const d of damaged) droppedBytes += d.to - d.from;
  }
  fsyncDir(dir);
  return { check, backupDir, rewritten: bad.map((s) => s.segment), droppedBytes };
}

export function formatCheck(c: WalCheck): string {
  const lines = [
    `WAL ${c.dir}: ${c.segments.length} segment(s), ${c.records} valid record(s), ${c.ok ? 'OK' : 'CORRUPT: the executor will refuse to start'}`,
  ];
  for (const s of c.segments) {
    let line = `  ${s.segment}  ${s.status.padEnd(9)} ${s.records} record(s)`;
    if (s.damaged.length > 0) line += `, damaged ${s.damaged.map((d) => `[${d.from}, ${d.to})`).join(' ')}`;
    if (s.recordsAfterDamage > 0) line += `, ${s.recordsAfterDamage} valid record(s) after the first damage`;
    lines.push(line);
  }
  return `${lines.join('\n')}\n`;
}
