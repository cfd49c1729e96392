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
  | 'JULIA_WRONG_THREAD';

export class NativeError extends KestrelError {
  override readonly name: string = 'NativeError';
  constructor(
    override readonly code: NativeErrorCode | (string & {}),
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
  }
}

/** Engine start failures (including every julia engine failure) are NativeEngineErrors. */
export class NativeEngineError extends NativeError {
  override readonly name = 'NativeEngineError';
}
