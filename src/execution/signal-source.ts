/**
 * SignalSource over the bus (sig.> fallback when the executor is not on the signal ring's node).
 * Decodes the protobuf Signal once at the edge into the plain ExecSignal the executor consumes.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { SignalSchema, patterns, type Namespace } from '../contracts/index.js';
import type { Bus, Subscription } from '../bus/bus.js';
import type { ExecSignal, SignalHandler, SignalSource } from './types.js';

export class BusSignalSource implements SignalSource {
  private sub: Subscription | undefined;
  private readonly handlers: SignalHandler[] = [];
  /** Malformed messages dropped (counted, never thrown into the bus). */
  malformed = 0;

  constructor(
    private readonly bus: Bus,
    private readonly opts: { namespace: Namespace; pattern?: string; queue?: string },
  ) {}

  onSignal(cb: SignalHandler): () => void {
    this.handlers.push(cb);
    if (!this.sub) {
      this.sub = this.bus.subscribe(
        this.opts.pattern ?? patterns.signalsAll(this.opts.namespace),
        (m) => {
          let s: ExecSignal;
          try {
            const p = fromBinary(SignalSchema, m.data);
            s = {
              strategyId: p.strategyId,
              symbol: p.symbol,
              side: p.side,
              size: p.size,
              confidence: p.confidence,
              ttlMs: p.ttlMs,
              maxSlippageBps: p.maxSlippageBps,
              minFillQty: p.minFillQty,
              urgency: p.urgency,
              traceId: p.traceId || (m.headers['trace_id'] ?? ''),
              sourceSequence: p.sourceSequence,
              emitTsNs: p.emitTsNs,
              refPrice: p.refPrice,
              regime: p.regime,
            };
          } catch {
            this.malformed++;
            return;
          }
          for (const h of this.handlers) h(s);
        },
        this.opts.queue ? { queue: this.opts.queue } : {},
      );
    }
    return () => {
      const i = this.handlers.indexOf(cb);
      if (i >= 0) this.handlers.splice(i, 1);
    };
  }

  close(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
  }
}
