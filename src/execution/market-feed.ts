/**
 * Feeds a SnapshotStore from normalized ticks on md.norm.> (the cross-process path; in one process
 * the lead updates the store straight from ingestion). Staleness is measured from local receipt.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { TickSchema, patterns, type Namespace } from '../contracts/index.js';
import type { Bus, Subscription } from '../bus/bus.js';
import { SnapshotStore } from './types.js';
import type { Clock } from '../clock/clock.js';

export class BusMarketFeed {
  private sub: Subscription | undefined;
  malformed = 0;

  constructor(
    private readonly bus: Bus,
    private readonly namespace: Namespace,
    private readonly clock: Clock,
    readonly store: SnapshotStore = new SnapshotStore(),
  ) {}

  start(): this {
    this.sub = this.bus.subscribe(patterns.mdNormAll(this.namespace), (m) => {
      try {
        const t = fromBinary(TickSchema, m.data);
        if (t.bid > 0 && t.ask > 0) this.store.update(t.venue, t.symbol, t.bid, t.ask, t.bidSize, t.askSize, this.clock.nowNs());
      } catch {
        this.malformed++;
      }
    });
    return this;
  }

  stop(): void {
    this.sub?.unsubscribe();
  }
}
