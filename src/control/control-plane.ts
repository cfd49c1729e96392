/**
 * Emergency controls over the bus (SPEC "Emergency Controls"): ControlCommand on ctl.*, in the
 * plane's namespace (a replay stack's commands are replay.ctl.* and never reach a live executor).
 *   ctl.kill     {command:'kill', haltCause?}           global kill switch (refuse signals, cancel open orders);
 *                                                      haltCause 'risk' marks a kill from the risk side
 *   ctl.resume   {command:'resume'}                    release an operator kill (never a risk or WAL halt)
 *   ctl.resume   {command:'clear_halt', haltCause}     explicitly clear a risk or WAL halt (audited)
 *   ctl.pause    {command:'pause_venue', venue}        stop routing to one venue
 *   ctl.resume   {command:'resume_venue', venue}       route to it again
 *   ctl.flatten  {command:'flatten', symbol?}          cancel open orders and close every position (or one symbol's)
 *   ctl.pause    {command:'circuit_open'|'circuit_close'|'circuit_auto', venue}  breaker manual override
 *   ctl.risk     {command:'reset_drawdown'}            re-arm trading after a total-drawdown breach (risk gateway)
 * A request (with reply subject) gets the command echoed back once applied, or an error in `reason`.
 * Who may publish which ctl.* subject is enforced by NATS permissions (deploy/nats/nats-server.conf:
 * only the operator identity may publish ctl.resume, the risk gateway ctl.kill/flatten/pause/risk);
 * every command, applied or refused, is written to the audit chain when an audit is given.
 */
import type { Clock } from '../clock/clock.js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ControlCommandSchema, patterns, subjects, type ControlCommand, type ControlFamily, type Namespace } from '../contracts/index.js';
import type { Bus, Subscription } from '../bus/bus.js';
import type { ControlAudit, ControlSource } from '../audit/control-audit.js';
import { isHaltCause, type HaltCause } from '../execution/executor.js';
import { createLogger } from '../observability/logger.js';
import { KestrelError } from '../contracts/errors.js';

/** What the control plane drives; the Executor implements it. */
export interface ControlTarget {
  kill(reason: string, cause?: HaltCause): Promise<void>;
  /** Throws while a risk or WAL halt holds (those need clearHalt). */
  resume(): void;
  clearHalt(cause: HaltCause): void;
  pauseVenue(venue: string): void;
  resumeVenue(venue: string): void;
  flatten(reason: string, symbol?: string): Promise<string[]>;
  readonly breakers: { get(venue: string): { setOverride(s: 'OPEN' | 'CLOSED' | undefined): void } };
}

export class ControlCommandError extends KestrelError {
  override readonly name = 'ControlCommandError';
  constructor(message: string, options?: ErrorOptions) {
    super('CONTROL_COMMAND_INVALID', message, options);
  }
}

export interface ControlPlaneOptions {
  /** Audit trail of every command (applied or refused). */
  audit?: ControlAudit;
}

export class ControlPlane {
  private sub: Subscription | undefined;
  private readonly log = createLogger('control');
  readonly applied: ControlCommand[] = [];

  constructor(
    private readonly bus: Bus,
    private readonly target: ControlTarget,
    private readonly namespace: Namespace,
    private readonly opts: ControlPlaneOptions = {},
  ) {}

  start(): void {
    this.sub = this.bus.subscribe(patterns.controlAll(this.namespace), async (m) => {
      if (m.subject === subjects.control('risk', this.namespace)) return; // the risk gateway's, not the executor's
      let cmd: ControlCommand;
      try {
        cmd = fromBinary(ControlCommandSchema, m.data);
      } catch (err) {
        this.log.warn({ subject: m.subject }, 'malformed control command dropped');
        if (m.reply) m.respond(toBinary(ControlCommandSchema, create(ControlCommandSchema, { command: 'error', reason: String(err) })));
        return;
      }
      try {
        await this.submit(cmd, 'bus');
        if (m.reply) m.respond(toBinary(ControlCommandSchema, cmd));
      } catch (err) {
        if (m.reply)
          m.respond(toBinary(ControlCommandSchema, create(ControlCommandSchema, { ...cmd, command: 'error', reason: String(err) })));
      }
    });
  }

  /**
   * Apply one command from any source (bus or admin HTTP) and audit it; rethrows a refusal after
   * auditing it. The audit is written before the caller hears the outcome.
   */
  async submit(cmd: ControlCommand, source: ControlSource): Promise<void> {
    try {
      await this.apply(cmd);
    } catch (err) {
      this.log.warn({ cmd: cmd.command, source, err: String(err) }, 'control command refused');
      await this.opts.audit?.record(cmd, source, 'refused', err instanceof Error ? err.message : String(err));
      throw err;
    }
    this.applied.push(cmd);
    await this.opts.audit?.record(cmd, source, 'applied');
  }

  stop(): void {
    this.sub?.unsubscribe();
  }

  async apply(cmd: ControlCommand): Promise<void> {
    const t = this.target;
    const needVenue = (): string => {
      if (!cmd.venue) throw new ControlCommandError(`${cmd.command} needs a venue`);
      return cmd.venue;
    };
    this.log.warn({ command: cmd.command, venue: cmd.venue, operator: cmd.operator, reason: cmd.reason }, 'control command');
    switch (cmd.command) {
      case 'kill': {
        // Only 'risk' is accepted from the wire: 'wal' is the executor's own finding, and an empty
        // cause is an operator kill.
        if (cmd.haltCause && cmd.haltCause !== 'risk')
          throw new ControlCommandError(`kill haltCause must be empty or risk, got ${JSON.stringify(cmd.haltCause)}`);
        return t.kill(cmd.reason || 'ctl.kill', cmd.haltCause === 'risk' ? 'risk' : 'operator');
      }
      case 'resume':
        return t.resume();
      case 'clear_halt': {
        if (!isHaltCause(cmd.haltCause))
          throw new ControlCommandError(`clear_halt needs haltCause risk, wal or operator (got ${JSON.stringify(cmd.haltCause)})`);
        if (!cmd.operator || !cmd.reason)
          throw new ControlCommandError('clear_halt needs operator and reason (they go to the audit trail)');
        return t.clearHalt(cmd.haltCause);
      }
      case 'pause_venue':
        return t.pauseVenue(needVenue());
      case 'resume_venue':
        return t.resumeVenue(needVenue());
      case 'flatten':
        await t.flatten(cmd.reason || 'ctl.flatten', cmd.symbol || undefined);
        return;
      case 'circuit_open':
        return t.breakers.get(needVenue()).setOverride('OPEN');
      case 'circuit_close':
        return t.breakers.get(needVenue()).setOverride('CLOSED');
      case 'circuit_auto':
        return t.breakers.get(needVenue()).setOverride(undefined);
      default:
        throw new ControlCommandError(`unknown control command ${JSON.stringify(cmd.command)}`);
    }
  }
}

/** Subject family of a command. */
function controlFamily(command: string): ControlFamily {
  if (command === 'kill') return 'kill';
  if (command === 'flatten') return 'flatten';
  if (command === 'resume' || command === 'resume_venue' || command === 'clear_halt') return 'resume';
  if (command === 'reset_drawdown') return 'risk';
  return 'pause';
}

/** Subject for a command in a namespace (kill/resume/pause/flatten/risk families). */
export function controlSubject(command: string, namespace: Namespace): string {
  return subjects.control(controlFamily(command), namespace);
}

/** Send a command and wait for the applier's echo. */
export async function sendControl(
  bus: Bus,
  namespace: Namespace,
  cmd: { command: string; venue?: string; symbol?: string; reason?: string; operator?: string; haltCause?: string },
  clock: Clock,
  timeoutMs = 2000,
): Promise<ControlCommand> {
  const msg = create(ControlCommandSchema, { ...cmd, tsNs: clock.nowNs() });
  const r = await bus.request(controlSubject(cmd.command, namespace), toBinary(ControlCommandSchema, msg), { timeoutMs });
  const echo = fromBinary(ControlCommandSchema, r.data);
  if (echo.command === 'error') throw new ControlCommandError(echo.reason);
  return echo;
}
