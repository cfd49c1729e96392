import type { NormalizedTick } from '../../src/contracts/market.js';
import { normalizedTick } from '../support/factories.js';
import type { TickSink } from '../../src/ingestion/types.js';

/** A valid top-of-book tick (test/support/factories.ts). */
export const tick = normalizedTick;

/** Sink that copies what it receives (ingestion owns the tick object). */
export class CollectingSink implements TickSink {
  readonly name = 'collect';
  readonly ticks: NormalizedTick[] = [];
  push(t: NormalizedTick): void {
    this.ticks.push({ ...t });
  }
}
