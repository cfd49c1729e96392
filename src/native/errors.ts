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
  // updateParams on a running engine: a state-shaping parameter, or the command queue is full
  | 'PARAM_NOT_LIVE'
  | 'PARAM_QUEUE_FULL';

export class NativeError extends Error {
  override readonly name: string = 'NativeError';
  constructor(
    readonly code: NativeErrorCode | (string & {}),
    message: string,
  ) {
    super(message);
  }
}

/** Engine start failures (including every julia engine failure) are NativeEngineErrors. */
export class NativeEngineError extends NativeError {
  override readonly name = 'NativeEngineError';
}

const ENGINE_CODES = new Set<string>([
  'BAD_ENGINE',
  'BAD_ENGINE_OPTIONS',
  'BAD_STRATEGY_PARAMS',
  'ENGINE_ALREADY_RUNNING',
  'ENGINE_START_FAILED',
  'ENGINE_STRATEGY_FAILED',
  'PARAM_NOT_LIVE',
  'PARAM_QUEUE_FULL',
]);

/** Re-throw an addon error as a typed NativeError (other errors pass through unchanged). */
export function wrapNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw toNativeError(e);
  }
}

export function toNativeError(e: unknown): unknown {
  if (e instanceof NativeError) return e;
  if (e instanceof Error && typeof (e as { code?: unknown }).code === 'string') {
    const code = (e as unknown as { code: string }).code;
    return ENGINE_CODES.has(code) || code.startsWith('JULIA') || code.startsWith('SYSIMAGE')
      ? new NativeEngineError(code, e.message)
      : new NativeError(code, e.message);
  }
  return e;
}
