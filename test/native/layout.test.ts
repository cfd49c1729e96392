import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAYOUT, REGION_MAGIC, nativeLayout } from '../../src/native/index.js';
import { packageRoot } from '../../src/native/addon.js';

describe('ring layout: layout.h, the addon and src/native/layout.ts agree', () => {
  it('every TS constant equals the compiled addon constant', () => {
    const native = nativeLayout();
    for (const [k, v] of Object.entries(LAYOUT)) expect([k, native[k]]).toEqual([k, v]);
    expect(native['kRegionMagic']).toBe(REGION_MAGIC);
  });

  it('the addon exports no constant the TS view lacks', () => {
    const native = nativeLayout();
    const missing = Object.keys(native).filter((k) => k !== 'kRegionMagic' && !(k in LAYOUT));
    expect(missing).toEqual([]);
  });

  it('the literal constants in layout.h (the form the Julia mirror parses) match too', () => {
    const header = readFileSync(path.join(packageRoot(), 'addon/include/kestrel/layout.h'), 'utf8');
    const re = /inline constexpr std::(?:size_t|uint32_t|uint8_t) (k\w+) = (\d+)(?:u << (\d+))?;/g;
    let n = 0;
    for (const m of header.matchAll(re)) {
      const value = m[3] !== undefined ? Number(m[2]) << Number(m[3]) : Number(m[2]);
      expect([m[1], value]).toEqual([m[1], (LAYOUT as Record<string, number>)[m[1]!]]);
      n++;
    }
    expect(n).toBeGreaterThan(60);
  });
});
