import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { tmpDir } from '../support/tmp.js';

// The audit file sink must create its directory with the WAL's durable mkdir (which fsyncs each
// new directory's parent; tested with the WAL) and fsync the directory after creating the file.
const calls: Array<[string, string]> = [];
vi.mock('../../src/execution/wal/segment-log.js', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../../src/execution/wal/segment-log.js')>();
  return {
    ...orig,
    fsyncDir: (dir: string) => {
      calls.push(['fsyncDir', path.resolve(dir)]);
      orig.fsyncDir(dir);
    },
    mkdirDurable: (dir: string) => {
      calls.push(['mkdirDurable', path.resolve(dir)]);
      orig.mkdirDurable(dir);
    },
  };
});

const { FileAuditSink } = await import('../../src/audit/sinks.js');

describe('FileAuditSink creates its directory and file durably', () => {
  it('durable mkdir of the directory, then an fsync of it once the new file exists', async () => {
    const base = tmpDir('audit-dir');
    const dir = path.join(base, 'var', 'audit');
    const sink = new FileAuditSink(path.join(dir, 'audit.log'));
    await sink.close();
    expect(calls).toEqual([
      ['mkdirDurable', dir],
      ['fsyncDir', dir],
    ]);
    // Reopening an existing file creates nothing: only the (idempotent) durable mkdir.
    calls.length = 0;
    await new FileAuditSink(path.join(dir, 'audit.log')).close();
    expect(calls).toEqual([['mkdirDurable', dir]]);
    fs.rmSync(base, { recursive: true, force: true });
  });
});
