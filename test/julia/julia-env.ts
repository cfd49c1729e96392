/**
 * Finds libjulia the way the addon's loader does (addon/src/julia/julia_runtime.cpp): JULIA_DIR,
 * else a `julia` executable on PATH whose installation has lib/libjulia.so.1.10 (Julia 1.10's
 * soname; also lib/libjulia.so, or the older lib/libjulia.so.1). Used to decide whether the
 * Julia-engine tests can run on this machine.
 */
import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './golden.js';

export interface JuliaProbe {
  libjulia?: string;
  /** Why libjulia was not found (when it was not). */
  reason?: string;
}

/** The names the addon tries under <root>/lib, in its order. */
export const LIBJULIA_NAMES = ['libjulia.so.1.10', 'libjulia.so', 'libjulia.so.1'] as const;

function libjuliaUnder(root: string): string | undefined {
  for (const n of LIBJULIA_NAMES) {
    const p = path.join(root, 'lib', n);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export function probeLibjulia(env: NodeJS.ProcessEnv = process.env): JuliaProbe {
  const dir = env.JULIA_DIR;
  if (dir) {
    const lib = libjuliaUnder(dir);
    return lib ? { libjulia: lib } : { reason: `JULIA_DIR=${dir} has no lib/libjulia.so.1.10 (nor libjulia.so)` };
  }
  for (const d of (env.PATH ?? '').split(':')) {
    const exe = path.join(d || '.', 'julia');
    try {
      if (!statSync(exe).isFile()) continue;
      accessSync(exe, constants.X_OK);
    } catch {
      continue;
    }
    const root = path.dirname(path.dirname(realpathSync(exe)));
    const lib = libjuliaUnder(root);
    if (lib) return { libjulia: lib };
  }
  return { reason: 'libjulia not found: JULIA_DIR is unset and no `julia` on PATH has ../lib/libjulia.so.1.10' };
}

/**
 * Why the julia engine cannot start from what is on disk, or undefined when it can: in source mode
 * (KESTREL_JULIA_SOURCE, `npm run julia:parity`) the package folder must hold src/KestrelStrategy.jl;
 * otherwise the sysimage must exist (sysimage/build.sh).
 */
export function juliaImageProblem(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const source = env.KESTREL_JULIA_SOURCE;
  if (source) {
    return existsSync(path.join(source, 'src/KestrelStrategy.jl'))
      ? undefined
      : `KESTREL_JULIA_SOURCE=${source} has no src/KestrelStrategy.jl`;
  }
  const image = defaultSysimage(env);
  return existsSync(image) ? undefined : `no sysimage at ${image}: run sysimage/build.sh (or set KESTREL_JULIA_SOURCE=julia for source mode)`;
}

/** The sysimage the addon would pick by default (explicit env first). */
export function defaultSysimage(env: NodeJS.ProcessEnv = process.env): string {
  return env.KESTREL_JULIA_SYSIMAGE || path.join(repoRoot, 'sysimage/build/kestrel.so');
}
