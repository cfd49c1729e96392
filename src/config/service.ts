/**
 * Configuration service: versioned, validated-before-apply, atomic hot reload with rollback and a
 * change trail. A new config becomes visible to every listener in one synchronous swap, so no reader
 * ever sees half of an update; it is announced on config.reload and config.{section} for other
 * processes, in the bus namespace the service started with (a replay session never reconfigures live).
 */
import type { Bus } from '../bus/bus.js';
import type { Clock } from '../clock/clock.js';
import { subjects, type Namespace } from '../contracts/subjects.js';
import { ConfigError, validateConfig } from './load.js';
import type { Config } from './schema.js';

export type ConfigListener = (next: Config, prev: Config) => void;

export interface ConfigChange {
  from: string;
  to: string;
  sections: string[];
  /** When the change was applied, by the service's clock. */
  atNs: bigint;
  kind: 'apply' | 'rollback';
}

function semver(v: string): [number, number, number] {
  const [a, b, c] = v.split('.').map(Number);
  return [a ?? 0, b ?? 0, c ?? 0];
}

export function compareVersions(a: string, b: string): number {
  const x = semver(a);
  const y = semver(b);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

const encoder = new TextEncoder();

export class ConfigService {
  private current: Config;
  private readonly history: Config[] = [];
  private readonly listeners = new Set<ConfigListener>();
  readonly changes: ConfigChange[] = [];
  /** Fixed at start: an update that changes bus.namespace must not move announcements to another stack. */
  private readonly ns: Namespace;

  constructor(
    initial: Config,
    private readonly clock: Clock,
    private readonly bus?: Bus,
    private readonly maxHistory = 32,
  ) {
    this.current = initial;
    this.ns = initial.bus.namespace;
  }

  get config(): Config {
    return this.current;
  }

  onChange(listener: ConfigListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Validates `candidate` fully before anything changes; refuses a version that does not increase. */
  apply(candidate: unknown): Config {
    if (typeof candidate !== 'object' || candidate === null) throw new ConfigError('config error: update must be a mapping');
    const next = validateConfig(candidate as Record<string, unknown>);
    if (compareVersions(next.version, this.current.version) <= 0) {
      throw new ConfigError(
        `config error: version: update ${next.version} must be newer than the running ${this.current.version}`,
        'version',
      );
    }
    this.history.push(this.current);
    this.swap(next, 'apply');
    if (this.history.length > this.maxHistory) this.history.shift();
    return next;
  }

  /** Returns to the previous applied config (the running version number goes back too). */
  rollback(): Config {
    const prev = this.history.pop();
    if (!prev) throw new ConfigError('config error: nothing to roll back to');
    this.swap(prev, 'rollback');
    return prev;
  }

  private swap(next: Config, kind: ConfigChange['kind']): void {
    const prev = this.current;
    this.current = next;
    const sections = (Object.keys(next) as Array<keyof Config>).filter(
      (k) => k !== 'version' && JSON.stringify(next[k]) !== JSON.stringify(prev[k]),
    );
    this.changes.push({ from: prev.version, to: next.version, sections, atNs: this.clock.nowNs(), kind });
    for (const l of this.listeners) l(next, prev);
    if (this.bus) {
      for (const s of sections) this.bus.publish(subjects.config(s, this.ns), encoder.encode(JSON.stringify(next[s])));
      this.bus.publish(subjects.configReload(this.ns), encoder.encode(JSON.stringify({ version: next.version, kind, sections })));
    }
  }
}
