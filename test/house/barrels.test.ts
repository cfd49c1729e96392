// A folder's index.ts is its public entrance only if something enters through it: an index.ts that
// nothing imports is a second, untested way to reach a module (docs/CONTRIBUTING.md "Layout").
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../..');

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'gen' && name !== 'node_modules') files(p, out);
    } else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('barrels', () => {
  it('every src/**/index.ts is imported by some module outside its folder', () => {
    const sources = ['src', 'test', 'bench', 'scripts'].flatMap((d) => files(path.join(root, d)));
    const barrels = files(path.join(root, 'src')).filter((f) => path.basename(f) === 'index.ts');
    const unused = barrels.filter((barrel) => {
      const folder = path.dirname(barrel);
      return !sources.some((f) => {
        if (path.dirname(f) === folder) return false;
        const text = readFileSync(f, 'utf8');
        for (const m of text.matchAll(/from '(\.[^']+)'/g)) {
          if (path.resolve(path.dirname(f), m[1]!.replace(/\.js$/, '.ts')) === barrel) return true;
        }
        return false;
      });
    });
    expect(unused.map((f) => path.relative(root, f))).toEqual([]);
  });
});
