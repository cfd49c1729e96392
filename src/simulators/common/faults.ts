import { KestrelError } from '../../contracts/errors.js';
/** Fault injection commands understood by every venue simulator. */

export type FaultKind = 'drop' | 'gap' | 'badChecksum' | 'crossed' | 'stale' | 'skew' | 'slow' | 'stall';

export const FAULT_KINDS: readonly FaultKind[] = ['drop', 'gap', 'badChecksum', 'crossed', 'stale', 'skew', 'slow', 'stall'];

export interface Fault {
  kind: FaultKind;
  /** gap/badChecksum/crossed/stale/skew: how many book (or timestamped) messages to affect. Default 1. */
  count?: number;
  /** stale: timestamps moved this far into the past; skew: into the future. Default 5000 ms. */
  offsetMs?: number;
  /** slow: extra delay added to every outgoing message. Default 200 ms. */
  delayMs?: number;
  /** slow/stall: how long the condition lasts. Default 2000 ms. */
  durationMs?: number;
}

export class FaultError extends KestrelError {
  override readonly name = 'FaultError';
  constructor(message: string, options?: ErrorOptions) {
    super('FAULT_INVALID', message, options);
  }
}

/** Validates an untrusted fault command (HTTP control endpoint). */
export function parseFault(v: unknown): Fault {
  if (typeof v !== 'object' || v === null) throw new FaultError('fault must be an object');
  const o = v as Record<string, unknown>;
  if (typeof o.kind !== 'string' || !(FAULT_KINDS as readonly string[]).includes(o.kind)) {
    throw new FaultError(`unknown fault kind: ${JSON.stringify(o.kind)}; expected one of ${FAULT_KINDS.join(', ')}`);
  }
  const f: Fault = { kind: o.kind as FaultKind };
  for (const k of ['count', 'offsetMs', 'delayMs', 'durationMs'] as const) {
    const x = o[k];
    if (x === undefined) continue;
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0 || x > 3_600_000)
      throw new FaultError(`${k} must be a number in [0, 3600000]`);
    f[k] = x;
  }
  return f;
}
