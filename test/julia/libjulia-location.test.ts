/**
 * The loader finds libjulia where Julia 1.10 installs it: lib/libjulia.so.1.10 (the soname) and
 * lib/libjulia.so -> it. There is no lib/libjulia.so.1; the first loader looked only for that name,
 * so the julia engine never started on a real installation (docs/JULIA_EMBEDDING.md).
 *
 * Each case stops the loader at its last check before Julia would be initialised (a sysimage stamp
 * from another Julia build): SYSIMAGE_VERSION_MISMATCH, naming the libjulia it opened, proves the
 * library was found, dlopen'ed and asked for its version.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeEngine, NativeEngineError, TickRegion, loadAddon } from '../../src/native/index.js';
import { repoRoot } from './golden.js';

const requireJulia = process.env.KESTREL_REQUIRE_JULIA === '1';

/** The real Julia on this machine: its installation root and Libdl's own answer for libjulia. */
function realJulia(): { root: string; libjulia: string } | undefined {
  const exe = process.env.JULIA_DIR ? path.join(process.env.JULIA_DIR, 'bin/julia') : 'julia';
  try {
    const out = execFileSync(exe, ['--startup-file=no', '-e', 'using Libdl; print(Sys.BINDIR, "\\n", Libdl.dlpath("libjulia"))'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    });
    const [bindir, lib] = out.trim().split('\n');
    return { root: realpathSync(path.dirname(bindir!)), libjulia: realpathSync(lib!) };
  } catch {
    return undefined;
  }
}

describe('libjulia is found under the names Julia 1.10 installs', () => {
  let dir: string;
  let region: TickRegion;
  let foreignImage: string;

  beforeAll(() => {
    loadAddon();
    dir = mkdtempSync(path.join(tmpdir(), 'kestrel-jlloc-'));
    region = TickRegion.create({ name: `kestrel-jlloc-${process.pid}`, symbols: ['BTC-USDT'], replace: true });
    // An ELF object with a stamp no real Julia has: the loader must refuse it before jl_init.
    foreignImage = path.join(dir, 'kestrel.so');
    copyFileSync(path.join(repoRoot, 'build/Release/kestrel.node'), foreignImage);
    writeFileSync(`${foreignImage}.julia-version`, '1.10.0-not-this-build\n');
  });
  afterAll(() => {
    region.unlink();
    region.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function startError(juliaHome: string): NativeEngineError {
    const engine = new NativeEngine(region, { engine: 'julia', juliaHome, juliaSysimage: foreignImage });
    try {
      engine.start();
    } catch (e) {
      expect(e).toBeInstanceOf(NativeEngineError);
      return e as NativeEngineError;
    } finally {
      engine.stop();
    }
    throw new Error('the julia engine started with a foreign sysimage');
  }

  it('an installation laid out like Julia 1.10 (libjulia.so.1.10.8, .so.1.10 and .so links, no .so.1)', () => {
    const root = path.join(dir, 'julia-1.10.8');
    mkdirSync(path.join(root, 'bin'), { recursive: true });
    mkdirSync(path.join(root, 'lib'));
    const src = path.join(dir, 'lib.c');
    // jl_init_* abort(): a loader that went past its checks would kill the test process.
    writeFileSync(
      src,
      `#include <stdlib.h>
void jl_parse_opts(int *c, char ***v) { (void)c; (void)v; abort(); }
void jl_init_with_image(const char *b, const char *i) { (void)b; (void)i; abort(); }
int jl_is_initialized(void) { abort(); }
void *jl_eval_string(const char *s) { (void)s; abort(); }
void *jl_exception_occurred(void) { abort(); }
const char *jl_ver_string(void) { return "1.10.8"; }
void jl_atexit_hook(int s) { (void)s; abort(); }
`,
    );
    execFileSync('cc', ['-shared', '-fPIC', '-Wl,-soname,libjulia.so.1.10', '-o', path.join(root, 'lib/libjulia.so.1.10.8'), src]);
    symlinkSync('libjulia.so.1.10.8', path.join(root, 'lib/libjulia.so.1.10'));
    symlinkSync('libjulia.so.1.10.8', path.join(root, 'lib/libjulia.so'));
    const e = startError(root);
    expect(e.code, e.message).toBe('SYSIMAGE_VERSION_MISMATCH');
    expect(e.message).toContain(path.join(realpathSync(root), 'lib/libjulia.so.1.10'));
  });

  it('the real Julia installation on this machine (required with KESTREL_REQUIRE_JULIA=1)', (ctx) => {
    const julia = realJulia();
    if (!julia) {
      if (requireJulia) throw new Error('KESTREL_REQUIRE_JULIA=1 but no julia runs (JULIA_DIR or PATH)');
      ctx.skip('no julia on this machine');
      return;
    }
    const e = startError(julia.root);
    expect(e.code, e.message).toBe('SYSIMAGE_VERSION_MISMATCH');
    const opened = /libjulia\S*\.so[.0-9]*/.exec(e.message.slice(e.message.indexOf(' but ')))?.[0];
    expect(opened, e.message).toBeDefined();
    // The loader opened the file Julia itself reports as its libjulia.
    const m = new RegExp(`(\\S*${opened!.replace(/\./g, '\\.')})`).exec(e.message.slice(e.message.indexOf(' but ')));
    expect(realpathSync(m![1]!)).toBe(julia.libjulia);
  });
});
