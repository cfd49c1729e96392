/**
 * The image's runtime stage runs as a non-root user. Static check of the Dockerfile (no Docker on the
 * test machines): the last stage creates uid 10001, switches to it before ENTRYPOINT, and never
 * switches back to root.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const dockerfile = fs.readFileSync(path.resolve(import.meta.dirname, '../../Dockerfile'), 'utf8');

/** Instructions of the last stage, continuation lines joined, comments dropped. */
function lastStage(text: string): string[] {
  const joined = text.replace(/\\\n/g, ' ');
  const lines = joined.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const from = lines.map((l, i) => (/^FROM\s/i.test(l) ? i : -1)).filter((i) => i >= 0).at(-1)!;
  return lines.slice(from);
}

describe('Docker image', () => {
  it('runs as the unprivileged kestrel user (uid 10001), not root', () => {
    const stage = lastStage(dockerfile);
    const users = stage.filter((l) => /^USER\s/i.test(l));
    expect(users.length).toBeGreaterThan(0);
    const last = users.at(-1)!.split(/\s+/)[1]!;
    expect(last.split(':')[0]).toBe('10001');
    expect(stage.some((l) => /useradd .*--uid 10001/.test(l))).toBe(true);
    // USER comes before the entrypoint, and nothing after it switches back.
    const userAt = stage.lastIndexOf(users.at(-1)!);
    const entryAt = stage.findIndex((l) => /^ENTRYPOINT\s/i.test(l));
    expect(userAt).toBeLessThan(entryAt);
    expect(users.every((l) => !/^USER\s+(root|0)(:|$)/i.test(l))).toBe(true);
  });
});
