import { KestrelError } from '../contracts/errors.js';
/** Minimal, strict argument parser: unknown flags and missing values are typed errors, never ignored. */

export class UsageError extends KestrelError {
  override readonly name: string = 'UsageError';
  constructor(message: string, options?: ErrorOptions) {
    super('USAGE', message, options);
  }
}

export interface FlagSpec {
  readonly name: string;
  readonly kind: 'boolean' | 'string' | 'integer' | 'repeat';
  readonly help: string;
  readonly metavar?: string;
}

export type FlagValues = Record<string, string | boolean | number | string[] | undefined>;

export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[]): { flags: FlagValues; positionals: string[] } {
  const flags: FlagValues = {};
  const positionals: string[] = [];
  const byName = new Map(specs.map((s) => [s.name, s]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown option --${name}`);
    if (spec.kind === 'boolean') {
      if (eq !== -1) throw new UsageError(`option --${name} takes no value`);
      flags[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else value = argv[++i];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`option --${name} needs a value`);
    if (spec.kind === 'integer') {
      if (!/^\d+$/.test(value)) throw new UsageError(`option --${name} needs a non-negative integer, got '${value}'`);
      flags[name] = Number(value);
    } else if (spec.kind === 'repeat') {
      const prev = flags[name];
      flags[name] = Array.isArray(prev) ? [...prev, value] : [value];
    } else flags[name] = value;
  }
  return { flags, positionals };
}

export function formatFlags(specs: readonly FlagSpec[]): string {
  return specs
    .map((s) => {
      const left = `  --${s.name}${s.kind === 'boolean' ? '' : ` ${s.metavar ?? 'VALUE'}`}`;
      return `${left.padEnd(30)}${s.help}`;
    })
    .join('\n');
}

/** The whole `--help` text of a command or service: usage line, summary, its options. */
export function formatHelp(usage: string, summary: string, specs: readonly FlagSpec[]): string {
  return `usage: ${usage}\n\n${summary}\n\noptions:\n${formatFlags(specs)}\n`;
}

/** `--set a.b.c=value` → nested override object; the value is parsed as YAML by the config loader. */
export function setToOverride(assignments: readonly string[], parseValue: (raw: string) => unknown): Record<string, unknown> {
  let out: Record<string, unknown> = {};
  for (const a of assignments) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set needs key.path=value, got '${a}'`);
    const keys = a.slice(0, eq).split('.');
    if (keys.some((k) => k.length === 0)) throw new UsageError(`--set has an empty key segment in '${a}'`);
    let patch: unknown = parseValue(a.slice(eq + 1));
    for (let i = keys.length - 1; i >= 0; i--) patch = { [keys[i]!]: patch };
    out = deepMerge(out, patch as Record<string, unknown>);
  }
  return out;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      prev && typeof prev === 'object' && !Array.isArray(prev) && v && typeof v === 'object' && !Array.isArray(v)
        ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}
