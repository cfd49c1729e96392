import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KestrelError, isKestrelError } from '../../src/contracts/errors.js';
import { DataError } from '../../src/replay/data/inputs.js';
import { BusTimeoutError } from '../../src/bus/bus.js';
import { NativeError } from '../../src/native/errors.js';

const src = path.resolve(__dirname, '../../src');
const walk = (d: string): string[] =>
  readdirSync(d).flatMap((n) => {
    const p = path.join(d, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });

describe('KestrelError family', () => {
  it('every error class in src/ derives from KestrelError (none extends Error directly)', () => {
    const direct = walk(src)
      .filter((f) => !f.endsWith(path.join('contracts', 'errors.ts')))
      .flatMap((f) =>
        [...readFileSync(f, 'utf8').matchAll(/class (\w+) extends Error\b/g)].map((m) => `${path.relative(src, f)}: ${m[1]}`),
      );
    expect(direct).toEqual([]);
  });

  it('keeps the error it wraps as cause, with a stable code', () => {
    const parse = (() => {
      try {
        JSON.parse('{');
      } catch (e) {
        return e;
      }
    })();
    const err = new DataError('day1.jsonl', 'line 3: unreadable', { cause: parse });
    expect(err).toBeInstanceOf(KestrelError);
    expect(err.code).toBe('DATA_INVALID');
    expect(err.cause).toBeInstanceOf(SyntaxError);
    expect(err.message).toBe('day1.jsonl: line 3: unreadable');
  });

  it('subsystem codes survive subclassing', () => {
    const t = new BusTimeoutError('ord.new', 50);
    expect(isKestrelError(t)).toBe(true);
    expect(t.code).toBe('BUS_TIMEOUT');
    expect(new NativeError('BAD_ARGUMENT', 'x').code).toBe('BAD_ARGUMENT');
    expect(isKestrelError(new Error('plain'))).toBe(false);
  });
});
