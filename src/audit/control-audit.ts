/**
 * Audit trail of operator and risk control actions (kill, resume, clear-halt, flatten, ...), whether
 * they came over ctl.* or the admin HTTP endpoints: every command, applied or refused, becomes one
 * hash-chained audit event (event type `control`), so who cleared a risk or WAL halt, when and why
 * can always be shown. The events share the process's AuditLog (one chain per sink); a command is
 * answered only once its event is durable.
 */
import { ControlCommandSchema, type ControlCommand } from '../contracts/index.js';
import type { Clock } from '../clock/clock.js';
import { AuditLog, pack } from './audit-log.js';
import type { AuditSink } from './sinks.js';

export type ControlSource = 'bus' | 'admin-http';
export type ControlOutcome = 'applied' | 'refused';

export class ControlAudit {
  private constructor(readonly log: AuditLog) {}

  /** Over the process's audit log (the session: orders, risk and control in one chain). */
  static over(log: AuditLog): ControlAudit {
    return new ControlAudit(log);
  }

  /** A log of its own over `sink`, continuing the chain from the sink's last stored event. */
  static async open(sink: AuditSink, service: string, replay: boolean, clock: Clock): Promise<ControlAudit> {
    return new ControlAudit(await AuditLog.open(sink, { service, replay, clock }));
  }

  record(cmd: ControlCommand, source: ControlSource, outcome: ControlOutcome, detail = ''): Promise<void> {
    return this.log.recordDurable('control', `ctl-${cmd.command}-${cmd.tsNs}`, pack(ControlCommandSchema, cmd), {
      source,
      outcome,
      command: cmd.command,
      operator: cmd.operator,
      ...(detail ? { detail } : {}),
    });
  }

  /** Wait for every recorded event to reach the sink. */
  flushed(): Promise<void> {
    return this.log.flush();
  }
}
