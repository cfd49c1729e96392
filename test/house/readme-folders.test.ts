// The README's folder table is the map a newcomer reads first: it must name every folder of src/
// and nothing that is gone.
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../..');

describe('README folder table', () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const rows = readme.split('\n').filter((l) => l.startsWith('| `'));
  const named = rows
    .flatMap((r) => [...r.split('|')[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!))
    .filter((n) => n.includes('/') && !n.includes(' '));

  it('names every folder of src/', () => {
    const folders = readdirSync(path.join(root, 'src')).filter((n) => statSync(path.join(root, 'src', n)).isDirectory());
    const missing = folders.filter((f) => !named.some((n) => n === `src/${f}/` || n.startsWith(`src/${f}/`)));
    expect(missing).toEqual([]);
  });

  it('names only paths that exist', () => {
    expect(named.filter((n) => !existsSync(path.join(root, n)))).toEqual([]);
  });
});
