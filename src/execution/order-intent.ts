/**
 * One order the executor is about to create: what the internal create/submit functions take instead
 * of a long list of positional arguments (signal path, flatten, unwind and basket legs alike).
 */
import type { Side } from '../contracts/index.js';
import type { ExecSignal } from './types.js';

export interface OrderIntent {
  venue: string;
  symbol: string;
  side: Side;
  /** Quantity in base units (after precision rounding when it reaches createAndQueue). */
  size: number;
  /** Limit price, on the venue's tick (after the precision guard). */
  price: number;
  /** OrderGroup id for basket legs; '' otherwise. */
  groupId: string;
  /** Trace id carried from the signal; '' for orders outside the signal path. */
  traceId: string;
  /** Who asked: the signal's strategy id, or a tag such as `flatten:<reason>` / `unwind:<group>`. */
  source: string;
  /** The signal the order serves, when it came from the signal path. */
  signal?: ExecSignal | undefined;
  /** Flatten and unwind orders: sent even while the kill switch is engaged. */
  emergency?: boolean;
}

/** An order placed outside the signal path (flatten, unwind, basket legs): precision still applies. */
export interface DirectOrderIntent {
  venue: string;
  symbol: string;
  side: Side;
  size: number;
  /** Reference price for the slippage band; 0 = the venue's market snapshot. */
  refPrice: number;
  slippageBps: number;
  groupId: string;
  /** `flatten:…` and `unwind:…` tags mark emergency orders (they pass the kill switch and rate limit). */
  tag: string;
}
