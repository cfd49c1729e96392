import { KestrelError } from '../contracts/errors.js';
/** Typed errors of the native layer. Every addon error carries one of these codes. */
export type NativeErrorCode =
  | 'ADDON_NOT_BUILT'
  | 'BAD_ARGUMENT'
  | 'BAD_RING'
  | 'BAD_REGION_NAME'
  | 'BAD_REGION_OPTIONS'
  | 'REGION_EXISTS'
  | 'REGION_NOT_FOUND'
  | 'REGION_CREATE_FAILED'
  | 'REGION_ATTACH_FAILED'
  | 'REGION_LAYOUT_MISMATCH'
  | 'REGION_CLOSED'
  | 'BAD_ENGINE'
  | 'BAD_ENGINE_OPTIONS'
  | 'BAD_STRATEGY_PARAMS'
  | 'ENGINE_ALREADY_RUNNING'
  | 'ENGINE_START_FAILED'
  | 'ENGINE_STRATEGY_FAILED'
  | 'JULIA_STRATEGY_FAILED'
  // julia engine (addon/src/julia/): not linked in, or the runtime could not be found/started
  | 'JULIA_NOT_LINKED'
  | 'JULIA_NOT_FOUND'
  | 'JULIA_LOAD_FAILED'
  | 'JULIA_SYMBOL_MISSING'
  | 'JULIA_VERSION_UNSUPPORTED'
  | 'SYSIMAGE_NOT_FOUND'
  | 'SYSIMAGE_INVALID'
  | 'SYSIMAGE_VERSION_MISMATCH'
  | 'JULIA_INIT_FAILED'
  | 'JULIA_ENTRYPOINT_MISSING'
  | 'JULIA_WRONG_THREAD'
  | 'JULIA_SOURCE_NOT_FOUND'
  // updateParams on a running engine: a state-shaping parameter, or the command queue is full
  | 'PARAM_NOT_LIVE'
  | 'PARAM_QUEUE_FULL';

export class NativeError extends KestrelError {
  override readonly name: string = 'NativeError';
  constructor(
    override readonly code: NativeErrorCode | (string & {}),
    message: string,
    /** `detail`: longer diagnostics that do not belong in the one-line message (e.g. a Julia stack trace). */
    options?: ErrorOptions & { detail?: string },
  ) {
    super(code, message, options);
    this.detail = options?.detail;
  }
  readonly detail: string | undefined;
}

/** Engine start failures (including every julia engine failure) are NativeEngineErrors. */
export class NativeEngineError extends NativeError {
  override readonly name: string = 'NativeEngineError';
}

/**
 * The Julia strategy threw while ticks flowed (code JULIA_STRATEGY_FAILED). Julia caught the
 * exception inside the entry point (nothing crossed into C), the engine thread ended cleanly, and
 * this error carries Julia's own message and the Julia stack trace captured where it was caught.
 */
export class JuliaStrategyError extends NativeEngineError {
  override readonly name = 'JuliaStrategyError';
  override readonly code = 'JULIA_STRATEGY_FAILED' as const;
  /** `sprint(showerror, e)` inside Julia. */
  readonly juliaMessage: string;
  /** The Julia stack trace of the exception (`[1] fn(args) @ Module file.jl:line` frames). */
  readonly juliaStacktrace: string;
  constructor(message: string, detail: string | undefined) {
    super('JULIA_STRATEGY_FAILED', message, { detail });
    // addon/src/julia/julia_strategy.cpp: "JULIA_STRATEGY_FAILED: julia strategy failed in <entry> (...): <Julia's message>"
    const m = /^(?:JULIA_STRATEGY_FAILED: )?julia strategy failed in \w+ \([^)]*\): ([\s\S]*)$/.exec(message);
    this.juliaMessage = m?.[1] ?? message;
    this.juliaStacktrace = detail ?? '';
  }
}

/** The typed error for an engine failure reported by the addon ({code, message, detail}). */
export function engineFailure(e: { code: string; message: string; detail?: string }): NativeEngineError {
  return e.code === 'JULIA_STRATEGY_FAILED'
    ? new JuliaStrategyError(e.message, e.detail)
    : new NativeEngineError(e.code, e.message, { detail: e.detail });
}
