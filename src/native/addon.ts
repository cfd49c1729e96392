/**
 * Loads the compiled addon through node-gyp-build (build/Release from cmake-js, or prebuilds/ from
 * prebuildify) and types its raw surface. Everything else in src/native/ wraps these.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeEngineError, NativeError } from './errors.js';

export interface RawRingCounters {
  head: number;
  tail: number;
  occupancy: number;
  drops: number;
  consumed: number;
  lagNs: number;
  capacity: number;
}

export interface RawRegion {
  readonly symbols: number;
  readonly name: string;
  readonly size: number;
  readonly owner: boolean;
  readonly tickCapacity: number;
  readonly signalCapacity: number;
  buffer(): ArrayBuffer;
  pushTick(
    ring: number,
    tsNs: bigint | number,
    flags: number,
    bid: number,
    ask: number,
    bidSize: number,
    askSize: number,
    venueId?: number,
  ): number;
  pushBatch(ring: number, records: Uint8Array, count: number): number;
  popTicks(ring: number, out: Uint8Array, max: number): { delivered: number; missed: number };
  drainSignals(out: Uint8Array, max?: number): { count: number; missed: number };
  counters(): {
    ticks: Array<RawRingCounters & { symbol: string }>;
    signals: RawRingCounters;
    engineRunning: boolean;
  };
  symbolName(ring: number): string;
  unlink(): void;
  close(): void;
}

export interface RawEngineStats {
  ticks: number;
  missed: number;
  signals: number;
  batches: number;
  maxBatch: number;
  sleeps: number;
  notifies: number;
  busyNs: number;
  /** Parameter commands the engine thread applied between ticks (updateParams). */
  paramsApplied: number;
  paramsRefused: number;
  /**
   * The strategy runtime's own counters, sampled by the engine thread at start and whenever it goes
   * to sleep (never per tick): the Julia engine's GC pauses and bytes allocated since Julia started.
   * `runtimeSamples` is 0 for an engine without a runtime (native).
   */
  runtimeSamples: number;
  runtimeGcCollections: number;
  runtimeAllocatedBytes: number;
}

export interface RawEngine {
  start(): void;
  stop(): void;
  stats(): RawEngineStats;
  updateParams(params: object): void;
  params(): Record<string, number>;
  lastError(): { code: string; message: string; detail?: string } | null;
  readonly running: boolean;
}

export interface RawReplayResult {
  signals: Uint8Array;
  signalCount: number;
  features: Float64Array;
  featureRows: number;
  featureColumns: string[];
  skipped: number;
  resets: number;
}

export interface RawOuFit {
  valid: boolean;
  kappa: number;
  mu: number;
  sigma: number;
  halfLife: number;
  sigmaEq: number;
}

export interface NativeAddon {
  Region: new (mode: 'create' | 'attach', arg: unknown) => RawRegion;
  Engine: new (region: RawRegion, options: object, onSignals?: () => void) => RawEngine;
  replay(records: Uint8Array, count: number, options: object): RawReplayResult;
  fitOu(samples: Float64Array, dtSeconds: number): RawOuFit;
  layout(): Record<string, number | bigint>;
  monotonicNs(): bigint;
  juliaRuntimeInfo(): JuliaRuntimeInfo | null;
  /** Hands the addon the JS error classes it constructs and throws itself (see addon.cpp throw_coded). */
  setErrorClasses(classes: { NativeError: typeof NativeError; NativeEngineError: typeof NativeEngineError }): void;
}

/** What this process's embedded Julia was loaded from (null before a julia engine started). */
export interface JuliaRuntimeInfo {
  mode: 'sysimage' | 'source';
  libjulia: string;
  /** kestrel.so in sysimage mode; Julia's own lib/julia/sys.so in source mode. */
  image: string;
  /** Source mode: the package folder loaded; '' in sysimage mode. */
  source: string;
  version: string;
  /** KESTREL_JULIA_TRACE_COMPILE as passed to --trace-compile; '' when off. */
  traceCompile: string;
}

/** The repository root: the nearest ancestor with package.json (works from src/ and dist/src/). */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'addon'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new NativeError('ADDON_NOT_BUILT', 'cannot find the kestrel package root');
    dir = up;
  }
}

let cached: NativeAddon | undefined;

export function loadAddon(): NativeAddon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const load = require('node-gyp-build') as (dir: string) => unknown;
  // KESTREL_ADDON_PATH: load one specific .node (e.g. the ASan build in build-asan/, docs/ADDON.md).
  const explicit = process.env['KESTREL_ADDON_PATH'];
  try {
    cached = (explicit ? require(path.resolve(explicit)) : load(packageRoot())) as NativeAddon;
  } catch (e) {
    throw new NativeError('ADDON_NOT_BUILT', `kestrel addon not found (run \`npm run build:addon\`): ${(e as Error).message}`, {
      cause: e,
    });
  }
  cached.setErrorClasses({ NativeError, NativeEngineError });
  return cached;
}
