/**
 * Audit trail of operator and risk control actions (kill, resume, clear-halt, flatten, ...), whether
 * they came over ctl.* or the admin HTTP endpoints: every command, applied or refused, becomes one
 * hash-chained audit event (event type `control`), so who cleared a risk or WAL halt, when and why
 * can always be shown.
 */
import { ControlCommandSchema, type ControlCommand } from '../contracts/index.js';
import type { Clock } from '../clock/clock.js';
import { AuditChain } from './chain.js';
import type { AuditSink } from './sinks.js';

export type ControlSource = 'bus' | 'admin-http';
export type ControlOutcome = 'applied' | 'refused';

export class ControlAudit {
  /** Appends run one after another: the chain order is the file/stream order. */
  private tail: Promise<void> = Promise.resolve();

  private constructor(
    private readonly chain: AuditChain,
    private readonly sink: AuditSink,
    private readonly clock: Clock,
  ) {}

  /** Continue the chain from the sink's last stored event. */
  static async open(sink: AuditSink, service: string, replay: boolean, clock: Clock): Promise<ControlAudit> {
    return new ControlAudit(new AuditChain(service, replay, await sink.head()), sink, clock);
  }

  record(cmd: ControlCommand, source: ControlSource, outcome: ControlOutcome, detail = ''): Promise<void> {
    const event = this.chain.next({
      eventType: 'control',
      traceId: `ctl-${cmd.command}-${cmd.tsNs}`,
      schema: ControlCommandSchema,
      payload: cmd,
      tsNs: this.clock.nowNs(),
      metadata: { source, outcome, ...(detail ? { detail } : {}) },
    });
    const done = this.tail.then(() => this.sink.append(event));
    // A failed append must not wedge later ones; the caller of this record still sees the error.
    this.tail = done.catch(() => undefined);
    return done;
  }

  /** Wait for every recorded event to reach the sink. */
  flushed(): Promise<void> {
    return this.tail;
  }
}
