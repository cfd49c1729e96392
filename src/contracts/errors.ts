/**
 * The root of every error Kestrel throws on purpose. `code` is stable and machine-readable (logs,
 * metrics, the CLI's one-line errors, tests); `message` is for people; `cause` keeps the error that
 * led to this one (`new XError(..., { cause: e })`) instead of folding its text into the message.
 * Each subsystem's errors extend it (BusError, ConfigError, NativeError, DataError, ...); programmer
 * misuse stays a TypeError/RangeError.
 */
export class KestrelError extends Error {
  override readonly name: string = 'KestrelError';
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** True for any error Kestrel raised on purpose (as opposed to a bug or a library failure). */
export function isKestrelError(e: unknown): e is KestrelError {
  return e instanceof KestrelError;
}
