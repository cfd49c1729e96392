/**
 * The Julia strategy reads rings through julia/src/Layout.jl; the C++ side through
 * addon/include/kestrel/layout.h (the one definition). This test parses both files and checks
 * that every constant of the header exists in Layout.jl with the same value, and that the Julia
 * structs TickEntry / SignalRecord put every field at the offset the header's static_asserts pin.
 * It runs without Julia and without a compiler: a text-level check that fails on any drift.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const headerPath = path.join(repoRoot, 'addon/include/kestrel/layout.h');
const juliaPath = path.join(repoRoot, 'julia/src/Layout.jl');

function stripCppComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
}

function stripJuliaComments(src: string): string {
  return src.replace(/#=[\s\S]*?=#/g, '').replace(/"""[\s\S]*?"""/g, '').replace(/#[^\n]*/g, '');
}

/** Integer literal of C++ (hex/decimal, digit separators, u/l suffixes). */
function cppLiteral(tok: string): bigint | undefined {
  const m = /^(0[xX][0-9a-fA-F']+|\d[\d']*)[uUlL]*$/.exec(tok);
  if (!m?.[1]) return undefined;
  return BigInt(m[1].replace(/'/g, ''));
}

/** Evaluates the constant expressions the header uses: literals, names, `<<`, `|`, parentheses. */
function evalCpp(expr: string, env: Map<string, bigint>): bigint {
  const tokens = expr.match(/0[xX][0-9a-fA-F']+[uUlL]*|\d[\d']*[uUlL]*|[A-Za-z_]\w*|<<|\||\(|\)/g) ?? [];
  let i = 0;
  const primary = (): bigint => {
    const t = tokens[i++];
    if (t === undefined) throw new Error(`unexpected end of expression: ${expr}`);
    if (t === '(') {
      const v = orExpr();
      if (tokens[i++] !== ')') throw new Error(`missing ) in ${expr}`);
      return v;
    }
    const lit = cppLiteral(t);
    if (lit !== undefined) return lit;
    const v = env.get(t);
    if (v === undefined) throw new Error(`unknown name ${t} in ${expr}`);
    return v;
  };
  const shift = (): bigint => {
    let v = primary();
    while (tokens[i] === '<<') {
      i++;
      v <<= primary();
    }
    return v;
  };
  const orExpr = (): bigint => {
    let v = shift();
    while (tokens[i] === '|') {
      i++;
      v |= shift();
    }
    return v;
  };
  const v = orExpr();
  if (i !== tokens.length) throw new Error(`cannot evaluate ${expr}`);
  return v;
}

interface CppLayout {
  constants: Map<string, bigint>;
  /** struct -> field -> constant name pinned by static_assert(offsetof(...) == kX) */
  offsets: Map<string, Map<string, string>>;
  /** struct -> constant name pinned by static_assert(sizeof(S) == kX) */
  sizes: Map<string, string>;
}

function parseHeader(src: string): CppLayout {
  const code = stripCppComments(src);
  const constants = new Map<string, bigint>();
  for (const m of code.matchAll(/inline\s+constexpr\s+[\w:]+\s+(k\w+)\s*=\s*([^;]+);/g)) {
    constants.set(m[1]!, evalCpp(m[2]!.trim(), constants));
  }
  const offsets = new Map<string, Map<string, string>>();
  for (const m of code.matchAll(/static_assert\(\s*offsetof\(\s*(\w+)\s*,\s*(\w+)\s*\)\s*==\s*(k\w+)\s*\)/g)) {
    const s = offsets.get(m[1]!) ?? new Map<string, string>();
    s.set(m[2]!, m[3]!);
    offsets.set(m[1]!, s);
  }
  const sizes = new Map<string, string>();
  for (const m of code.matchAll(/static_assert\(\s*sizeof\(\s*(\w+)\s*\)\s*==\s*(k\w+)\s*\)/g)) sizes.set(m[1]!, m[2]!);
  return { constants, offsets, sizes };
}

const JULIA_SIZES: Record<string, number> = {
  Int64: 8, UInt64: 8, Float64: 8, Int32: 4, UInt32: 4, Float32: 4, Int16: 2, UInt16: 2, Int8: 1, UInt8: 1,
};

interface JuliaLayout {
  constants: Map<string, bigint>;
  /** struct -> field -> offset under C alignment rules, plus total size */
  structs: Map<string, { offsets: Map<string, number>; size: number }>;
}

function parseJulia(src: string): JuliaLayout {
  const code = stripJuliaComments(src);
  const constants = new Map<string, bigint>();
  for (const m of code.matchAll(/^\s*const\s+(k\w+)\s*=\s*(.+)$/gm)) {
    const rhs = m[2]!.trim();
    // Only plain literals, optionally wrapped in a type: UInt32(0x10), 64, UInt64(0x47...)
    const lit = /^(?:(\w+)\()?\s*(0x[0-9a-fA-F_]+|\d[\d_]*)\s*\)?$/.exec(rhs);
    if (!lit?.[2]) throw new Error(`Layout.jl: ${m[1]} is not a plain literal: ${rhs}`);
    constants.set(m[1]!, BigInt(lit[2].replace(/_/g, '')));
  }
  const structs = new Map<string, { offsets: Map<string, number>; size: number }>();
  for (const m of code.matchAll(/^\s*struct\s+(\w+)\s*\n([\s\S]*?)^\s*end\b/gm)) {
    const offsets = new Map<string, number>();
    let off = 0;
    let maxAlign = 1;
    for (const line of m[2]!.split('\n')) {
      const f = /^\s*(\w+)::(\w+)\s*$/.exec(line);
      if (!f) continue;
      const size = JULIA_SIZES[f[2]!];
      if (size === undefined) throw new Error(`Layout.jl: ${m[1]}.${f[1]} has non-primitive type ${f[2]}`);
      off = Math.ceil(off / size) * size;
      offsets.set(f[1]!, off);
      off += size;
      maxAlign = Math.max(maxAlign, size);
    }
    structs.set(m[1]!, { offsets, size: Math.ceil(off / maxAlign) * maxAlign });
  }
  return { constants, structs };
}

describe('ring layout: Julia mirror agrees with layout.h', () => {
  const cpp = parseHeader(readFileSync(headerPath, 'utf8'));
  const jl = parseJulia(readFileSync(juliaPath, 'utf8'));

  it('parses a meaningful amount of both files', () => {
    expect(cpp.constants.size).toBeGreaterThan(60);
    expect(cpp.offsets.get('TickEntry')?.size).toBe(10);
    expect(cpp.offsets.get('SignalRecord')?.size).toBeGreaterThan(15);
    expect(jl.structs.has('TickEntry') && jl.structs.has('SignalRecord')).toBe(true);
  });

  it('every layout.h constant exists in Layout.jl with the same value', () => {
    const missing: string[] = [];
    const different: string[] = [];
    for (const [name, value] of cpp.constants) {
      const j = jl.constants.get(name);
      if (j === undefined) missing.push(name);
      else if (j !== value) different.push(`${name}: layout.h ${value}, Layout.jl ${j}`);
    }
    expect(missing).toEqual([]);
    expect(different).toEqual([]);
  });

  it('Layout.jl has no constant that layout.h lacks (no stale mirror entries)', () => {
    const extra = [...jl.constants.keys()].filter((k) => !cpp.constants.has(k));
    expect(extra).toEqual([]);
  });

  for (const structName of ['TickEntry', 'SignalRecord']) {
    it(`Julia ${structName} fields sit at the offsets layout.h pins`, () => {
      const pins = cpp.offsets.get(structName)!;
      const js = jl.structs.get(structName)!;
      const wrong: string[] = [];
      for (const [field, constName] of pins) {
        const want = Number(cpp.constants.get(constName));
        const got = js.offsets.get(field);
        if (got !== want) wrong.push(`${field}: layout.h ${constName} = ${want}, Julia offset ${got}`);
      }
      expect(wrong).toEqual([]);
      const sizeConst = cpp.sizes.get(structName)!;
      expect(js.size).toBe(Number(cpp.constants.get(sizeConst)));
    });
  }

  it('detects a drifted field: moving one Julia field changes the computed offsets', () => {
    const src = readFileSync(juliaPath, 'utf8').replace(
      /(struct TickEntry\n)(\s*ts_ns::Int64\n)(\s*venue_id::UInt16\n)/,
      '$1$3$2',
    );
    const drifted = parseJulia(src).structs.get('TickEntry')!;
    expect(drifted.offsets.get('ts_ns')).not.toBe(Number(cpp.constants.get('kTickTsOffset')));
  });
});
