/**
 * The julia engine's failure paths, on any machine (no Julia needed): selecting engine 'julia'
 * where libjulia or the sysimage is missing, unloadable or from the wrong Julia fails at start()
 * with a NativeEngineError whose code names the problem and whose message names the path. These
 * run the real addon: its C++ loader (addon/src/julia/julia_runtime.cpp) on the engine thread.
 *
 * Fixture libraries for the dlopen/dlsym/version paths are compiled here with the system C
 * compiler; their jl_init_* functions abort(), so a loader that went past its checks and tried to
 * start such a "Julia" would kill the test process instead of passing.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NativeEngine, NativeEngineError, TickRegion, loadAddon } from '../../src/native/index.js';
import { repoRoot } from './golden.js';

const ENV_KEYS = ['JULIA_DIR', 'PATH', 'KESTREL_JULIA_SYSIMAGE', 'KESTREL_JULIA_SOURCE'] as const;
const savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));

function restoreEnv(): void {
  for (const k of ENV_KEYS) {
    const v = savedEnv[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

const FAKE_LIBJULIA_C = (version: string) => `
#include <stdlib.h>
/* Test fixture standing in for libjulia: the loader may resolve these and read the version,
   but must never initialise it. */
void jl_parse_opts(int *argc, char ***argv) { (void)argc; (void)argv; abort(); }
void jl_init_with_image(const char *b, const char *i) { (void)b; (void)i; abort(); }
int jl_is_initialized(void) { abort(); }
void *jl_eval_string(const char *s) { (void)s; abort(); }
void *jl_exception_occurred(void) { abort(); }
const char *jl_ver_string(void) { return "${version}"; }
void jl_atexit_hook(int s) { (void)s; abort(); }
`;

describe('julia engine failure paths (typed errors)', () => {
  let dir: string;
  let region: TickRegion;
  let cc: string;
  let elfFile: string;

  beforeAll(() => {
    loadAddon(); // the addon must be built: a missing addon is a failure here, not a skip
    dir = mkdtempSync(path.join(tmpdir(), 'kestrel-jlerr-'));
    region = TickRegion.create({ name: `kestrel-jlerr-${process.pid}`, symbols: ['BTC-USDT'], replace: true });
    cc = execFileSync('sh', ['-c', 'command -v cc || command -v gcc'], { encoding: 'utf8' }).trim();
    // Any ELF shared object passes the loader's "is this an image" check; the addon binary is one.
    elfFile = path.join(repoRoot, 'build/Release/kestrel.node');
  });
  afterEach(restoreEnv);
  afterAll(() => {
    restoreEnv();
    region.unlink();
    region.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function fresh(name: string): string {
    const d = path.join(dir, name);
    mkdirSync(d, { recursive: true });
    return d;
  }

  /** A Julia-like install: <root>/bin, <root>/lib/libjulia.so.1 from `lib` (a file to copy or C source). */
  function fakeJulia(name: string, lib: { garbage: true } | { cSource: string } | { empty: true }): string {
    const root = fresh(name);
    mkdirSync(path.join(root, 'bin'));
    mkdirSync(path.join(root, 'lib'));
    const libPath = path.join(root, 'lib/libjulia.so.1');
    // The compiler runs with the original PATH (tests change PATH to hide julia).
    const env = { ...process.env, PATH: savedEnv.PATH };
    if ('garbage' in lib) writeFileSync(libPath, 'this is not a shared object\n');
    else if ('empty' in lib) execFileSync(cc, ['-shared', '-fPIC', '-o', libPath, '-x', 'c', '/dev/null'], { env });
    else {
      const src = path.join(root, 'fake.c');
      writeFileSync(src, lib.cSource);
      execFileSync(cc, ['-shared', '-fPIC', '-o', libPath, src], { env });
    }
    return root;
  }

  /** A sysimage candidate: an ELF file with (or without) its version stamp. */
  function image(name: string, stamp: string | null, elf = true): string {
    const d = fresh(name);
    const p = path.join(d, 'kestrel.so');
    if (elf) copyFileSync(elfFile, p);
    else writeFileSync(p, 'not an image');
    if (stamp !== null) writeFileSync(`${p}.julia-version`, `${stamp}\n`);
    return p;
  }

  /** Selects the julia engine and returns the typed error of construction or start(). */
  function startJulia(opts: { juliaHome?: string; juliaSysimage?: string; juliaSource?: string; params?: object } = {}): NativeEngineError {
    let engine: NativeEngine | undefined;
    try {
      engine = new NativeEngine(region, { engine: 'julia', ...opts });
      engine.start();
    } catch (e) {
      engine?.stop();
      expect(e).toBeInstanceOf(NativeEngineError);
      return e as NativeEngineError;
    }
    engine.stop();
    throw new Error('julia engine started although it should have failed');
  }

  it('source mode, juliaSource names no folder: JULIA_SOURCE_NOT_FOUND in one line naming it, before Julia is looked for', () => {
    process.env.JULIA_DIR = fresh('no-julia-here'); // would be JULIA_NOT_FOUND: the folder is checked first
    const missing = path.join(dir, 'no-such-checkout/julia');
    const e = startJulia({ juliaSource: missing });
    expect(e.code).toBe('JULIA_SOURCE_NOT_FOUND');
    expect(e.message).toBe(
      `JULIA_SOURCE_NOT_FOUND: juliaSource=${missing} is not a folder (point it at the julia/ folder of a Kestrel checkout)`,
    );
  });

  it('source mode, KESTREL_JULIA_SOURCE is a folder without the package: JULIA_SOURCE_NOT_FOUND', () => {
    const folder = fresh('not-a-package');
    process.env.KESTREL_JULIA_SOURCE = folder;
    const e = startJulia();
    expect(e.code).toBe('JULIA_SOURCE_NOT_FOUND');
    expect(e.message).toContain(`KESTREL_JULIA_SOURCE=${folder} has no src/KestrelStrategy.jl`);
    expect(e.message).not.toContain('\n');
  });

  it('source mode needs the installation base image: SYSIMAGE_NOT_FOUND naming lib/julia/sys.so', () => {
    const pkg = fresh('pkg/julia');
    mkdirSync(path.join(pkg, 'src'));
    writeFileSync(path.join(pkg, 'src/KestrelStrategy.jl'), 'module KestrelStrategy end\n');
    const root = fakeJulia('no-base-image', { empty: true });
    const e = startJulia({ juliaSource: pkg, juliaHome: root });
    expect(e.code).toBe('SYSIMAGE_NOT_FOUND');
    expect(e.message).toContain(`${root}/lib/julia/sys.so`);
  });

  it('JULIA_DIR pointing at an empty directory: JULIA_NOT_FOUND naming the directory', () => {
    const empty = fresh('empty-julia-dir');
    process.env.JULIA_DIR = empty;
    const e = startJulia();
    expect(e.code).toBe('JULIA_NOT_FOUND');
    expect(e.message).toContain(`JULIA_DIR=${empty}`);
    expect(e.message).toContain('lib/libjulia.so.1');
  });

  it('no JULIA_DIR and no julia on PATH: JULIA_NOT_FOUND saying so', () => {
    delete process.env.JULIA_DIR;
    process.env.PATH = fresh('empty-path');
    const e = startJulia();
    expect(e.code).toBe('JULIA_NOT_FOUND');
    expect(e.message).toMatch(/JULIA_DIR is unset and there is no `julia` executable on PATH/);
  });

  it('a `julia` launcher on PATH without an installation behind it: JULIA_NOT_FOUND naming it', () => {
    delete process.env.JULIA_DIR;
    const launcherDir = fresh('launcher/bin');
    const launcher = path.join(launcherDir, 'julia-launcher');
    writeFileSync(launcher, '#!/bin/sh\nexit 1\n');
    chmodSync(launcher, 0o755);
    symlinkSync(launcher, path.join(launcherDir, 'julia'));
    process.env.PATH = launcherDir;
    const e = startJulia();
    expect(e.code).toBe('JULIA_NOT_FOUND');
    expect(e.message).toContain(`${launcherDir}/julia -> ${launcher}`);
  });

  it('the juliaHome option wins over JULIA_DIR', () => {
    const real = fakeJulia('home-opt', { garbage: true });
    process.env.JULIA_DIR = real;
    const empty = fresh('empty-home');
    const e = startJulia({ juliaHome: empty });
    expect(e.code).toBe('JULIA_NOT_FOUND');
    expect(e.message).toContain(`juliaHome=${empty}`);
  });

  it('libjulia present but no sysimage (explicit path): SYSIMAGE_NOT_FOUND naming it', () => {
    process.env.JULIA_DIR = fakeJulia('no-image', { garbage: true });
    const missing = path.join(dir, 'nowhere/kestrel.so');
    const e = startJulia({ juliaSysimage: missing });
    expect(e.code).toBe('SYSIMAGE_NOT_FOUND');
    expect(e.message).toContain(missing);
    expect(e.message).toContain('sysimage/build.sh');
  });

  it('KESTREL_JULIA_SYSIMAGE pointing nowhere: SYSIMAGE_NOT_FOUND naming it', () => {
    process.env.JULIA_DIR = fakeJulia('no-image-env', { garbage: true });
    const missing = path.join(dir, 'env-nowhere/kestrel.so');
    process.env.KESTREL_JULIA_SYSIMAGE = missing;
    const e = startJulia();
    expect(e.code).toBe('SYSIMAGE_NOT_FOUND');
    expect(e.message).toContain(missing);
  });

  it('a sysimage that is not an ELF object, or has no version stamp: SYSIMAGE_INVALID', () => {
    process.env.JULIA_DIR = fakeJulia('bad-image', { garbage: true });
    const notElf = image('not-elf', '1.10.8', false);
    let e = startJulia({ juliaSysimage: notElf });
    expect(e.code).toBe('SYSIMAGE_INVALID');
    expect(e.message).toContain('not an ELF shared object');
    const unstamped = image('unstamped', null);
    e = startJulia({ juliaSysimage: unstamped });
    expect(e.code).toBe('SYSIMAGE_INVALID');
    expect(e.message).toContain(`${unstamped}.julia-version`);
  });

  it('a libjulia.so.1 that is not a library: JULIA_LOAD_FAILED with the dlopen reason', () => {
    const root = fakeJulia('garbage-lib', { garbage: true });
    process.env.JULIA_DIR = root;
    const e = startJulia({ juliaSysimage: image('img-garbage', '1.10.8') });
    expect(e.code).toBe('JULIA_LOAD_FAILED');
    expect(e.message).toContain(path.join(root, 'lib/libjulia.so.1'));
  });

  it('a shared library without the Julia C API: JULIA_SYMBOL_MISSING listing the symbols', () => {
    process.env.JULIA_DIR = fakeJulia('empty-lib', { empty: true });
    const e = startJulia({ juliaSysimage: image('img-empty', '1.10.8') });
    expect(e.code).toBe('JULIA_SYMBOL_MISSING');
    expect(e.message).toContain('jl_init_with_image');
    expect(e.message).toContain('jl_parse_opts');
  });

  it('a libjulia of another Julia line: JULIA_VERSION_UNSUPPORTED', () => {
    process.env.JULIA_DIR = fakeJulia('julia-1.9', { cSource: FAKE_LIBJULIA_C('1.9.4') });
    const e = startJulia({ juliaSysimage: image('img-19', '1.9.4') });
    expect(e.code).toBe('JULIA_VERSION_UNSUPPORTED');
    expect(e.message).toContain('1.9.4');
  });

  it('a sysimage built by another Julia build: SYSIMAGE_VERSION_MISMATCH instead of an aborting jl_init', () => {
    process.env.JULIA_DIR = fakeJulia('julia-1.10.8', { cSource: FAKE_LIBJULIA_C('1.10.8') });
    const img = image('img-1107', '1.10.7');
    const e = startJulia({ juliaSysimage: img });
    expect(e.code).toBe('SYSIMAGE_VERSION_MISMATCH');
    expect(e.message).toContain('1.10.7');
    expect(e.message).toContain('1.10.8');
  });

  it('invalid strategy parameters are rejected before any Julia is looked for', () => {
    process.env.JULIA_DIR = fresh('params-no-julia');
    const e = startJulia({ params: { ou_window: 2 } });
    expect(e.code).toBe('BAD_STRATEGY_PARAMS');
    expect(e.message).toContain('ou_window');
  });

  it('after julia failures the same addon binary still runs the native engine', () => {
    const engine = new NativeEngine(region, { engine: 'native' });
    engine.start();
    expect(engine.running).toBe(true);
    const seq = region.pushTick(0, { tsNs: 1_700_000_000_000_000_000n, flags: 0, bid: 100, ask: 100.5, bidSize: 1, askSize: 1 });
    expect(seq).toBeGreaterThanOrEqual(0);
    engine.stop();
    expect(engine.running).toBe(false);
  });
});
