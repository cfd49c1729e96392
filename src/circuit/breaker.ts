/**
 * Per-venue circuit breakers (SPEC §9): CLOSED → OPEN after `errorThreshold` consecutive failures;
 * OPEN → HALF_OPEN after `timeoutMs`; HALF_OPEN lets `halfOpenRequests` trial requests through and
 * closes after that many successes, reopening on the first failure. A manual override pins a state
 * until cleared. Transitions are published as CircuitState on circuit.{venue} in the owner's namespace.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { CircuitStateSchema, subjects, type Namespace } from '../contracts/index.js';
import type { Bus } from '../bus/bus.js';
import type { Clock } from '../clock/clock.js';

export type BreakerStateName = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

export interface BreakerSettings {
  errorThreshold: number;
  timeoutMs: number;
  halfOpenRequests: number;
}

export interface BreakerConfig {
  default: BreakerSettings;
  perVenue?: Record<string, Partial<BreakerSettings>>;
}

/** SPEC defaults. */
export const DEFAULT_BREAKER: BreakerSettings = { errorThreshold: 5, timeoutMs: 60_000, halfOpenRequests: 3 };

export class CircuitBreaker {
  private _state: BreakerStateName = 'CLOSED';
  private failures = 0;
  private openedAtNs = 0n;
  private trials = 0;
  private successes = 0;
  private override: BreakerStateName | undefined;

  constructor(
    readonly venue: string,
    readonly settings: BreakerSettings,
    private readonly clock: Clock,
    private readonly onTransition: (b: CircuitBreaker) => void,
  ) {}

  get state(): BreakerStateName {
    if (this.override) return this.override;
    if (this._state === 'OPEN' && this.clock.nowNs() - this.openedAtNs >= BigInt(Math.round(this.settings.timeoutMs * 1e6)))
      this.to('HALF_OPEN');
    return this._state;
  }

  get failureCount(): number {
    return this.failures;
  }

  get manual(): boolean {
    return this.override !== undefined;
  }

  /** May a request go to this venue now? In HALF_OPEN each true consumes one trial slot. */
  allow(): boolean {
    const s = this.state;
    if (s === 'CLOSED') return true;
    if (s === 'OPEN') return false;
    if (this.override) return true;
    if (this.trials >= this.settings.halfOpenRequests) return false;
    this.trials++;
    return true;
  }

  /** Non-consuming check, for routing decisions that may not send. */
  wouldAllow(): boolean {
    const s = this.state;
    return s === 'CLOSED' || (s === 'HALF_OPEN' && (this.override !== undefined || this.trials < this.settings.halfOpenRequests));
  }

  onSuccess(): void {
    this.failures = 0;
    if (this._state === 'HALF_OPEN' && ++this.successes >= this.settings.halfOpenRequests) this.to('CLOSED');
  }

  onFailure(): void {
    this.failures++;
    if (this._state === 'HALF_OPEN') this.to('OPEN');
    else if (this._state === 'CLOSED' && this.failures >= this.settings.errorThreshold) this.to('OPEN');
  }

  /** Manual override: pin OPEN or CLOSED; `undefined` returns to automatic operation. */
  setOverride(state: 'OPEN' | 'CLOSED' | undefined): void {
    this.override = state;
    if (state === 'CLOSED') {
      this._state = 'CLOSED';
      this.failures = 0;
    }
    this.onTransition(this);
  }

  private to(s: BreakerStateName): void {
    if (s === this._state) return;
    this._state = s;
    if (s === 'OPEN') this.openedAtNs = this.clock.nowNs();
    this.trials = 0;
    this.successes = 0;
    if (s === 'CLOSED') this.failures = 0;
    this.onTransition(this);
  }
}

export class CircuitBreakerRegistry {
  private readonly breakers = new Map<string, CircuitBreaker>();

  constructor(
    private readonly config: BreakerConfig = { default: DEFAULT_BREAKER },
    private readonly publishTo: { bus: Bus; namespace: Namespace } | undefined,
    private readonly clock: Clock,
  ) {}

  get(venue: string): CircuitBreaker {
    let b = this.breakers.get(venue);
    if (!b) {
      const settings = { ...this.config.default, ...(this.config.perVenue?.[venue] ?? {}) };
      b = new CircuitBreaker(venue, settings, this.clock, (x) => this.publish(x));
      this.breakers.set(venue, b);
    }
    return b;
  }

  all(): CircuitBreaker[] {
    return [...this.breakers.values()];
  }

  private publish(b: CircuitBreaker): void {
    if (!this.publishTo) return;
    const msg = create(CircuitStateSchema, {
      venue: b.venue,
      state: b.state,
      failures: b.failureCount,
      tsNs: this.clock.nowNs(),
      manualOverride: b.manual,
    });
    try {
      this.publishTo.bus.publish(subjects.circuit(b.venue, this.publishTo.namespace), toBinary(CircuitStateSchema, msg));
    } catch {
      // A closed bus at shutdown must not break the breaker's own state machine.
    }
  }
}
