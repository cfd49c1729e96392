#!/usr/bin/env node
/**
 * kestrel: the one command-line entry point. `start` runs the default paper session on bundled real
 * data with embedded defaults; other subcommands run backtests, check config, or run one service.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Bus } from '../bus/bus.js';
import { InProcessBus } from '../bus/in-process-bus.js';
import { NatsBus } from '../bus/nats-bus.js';
import { ConfigError, loadConfig, projectRoot, type Config } from '../config/index.js';
import { setLogLevel } from '../observability/logger.js';
import { runPaperSession, type SessionSummary } from '../session/paper-session.js';
import { formatFlags, parseFlags, setToOverride, UsageError, type FlagSpec, type FlagValues } from './args.js';

const commonFlags: FlagSpec[] = [
  { name: 'config', kind: 'string', metavar: 'FILE', help: 'YAML overlay merged over config/default.yaml' },
  { name: 'set', kind: 'repeat', metavar: 'KEY=VALUE', help: 'override one key, e.g. --set strategy.kelly_fraction=0.1' },
  { name: 'help', kind: 'boolean', help: 'show help for this command' },
];

const sessionFlags: FlagSpec[] = [
  ...commonFlags,
  { name: 'max-ticks', kind: 'integer', metavar: 'N', help: 'stop after N ticks (0 = whole recording)' },
  { name: 'bus', kind: 'string', metavar: 'KIND', help: 'in-process (default) or nats' },
  { name: 'json', kind: 'boolean', help: 'print the summary as JSON' },
];

interface Command {
  summary: string;
  flags: FlagSpec[];
  run(flags: FlagValues, positionals: string[]): Promise<number>;
}

const commands: Record<string, Command> = {
  start: {
    summary: 'run the default paper-trading session on bundled real data and print its summary',
    flags: sessionFlags,
    run: (flags) => runSession(flags, {}),
  },
  backtest: {
    summary: 'deterministic backtest (instant pace, replay namespace); prints the decision digest',
    flags: sessionFlags,
    run: (flags) => runSession(flags, { session: { mode: 'backtest', pace: 'instant' }, bus: { namespace: 'replay' } }),
  },
  config: {
    summary: 'validate the configuration and print the effective result (config check|print)',
    flags: commonFlags,
    run: async (flags, positionals) => {
      const sub = positionals[0] ?? 'check';
      if (sub !== 'check' && sub !== 'print') throw new UsageError(`unknown config subcommand '${sub}' (use check or print)`);
      const config = configFrom(flags, {});
      if (sub === 'print') process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
      else process.stdout.write(`config ok (version ${config.version})\n`);
      return 0;
    },
  },
  version: {
    summary: 'print the version',
    flags: [],
    run: async () => {
      const pkg = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string };
      process.stdout.write(`kestrel ${pkg.version}\n`);
      return 0;
    },
  },
};

function configFrom(flags: FlagValues, preset: Record<string, unknown>): Config {
  const sets = (flags.set as string[] | undefined) ?? [];
  const overrides: Record<string, unknown> = { ...preset };
  const fromSet = setToOverride(sets, (raw) => parseYaml(raw) as unknown);
  const merged = mergeShallowDeep(overrides, fromSet);
  if (typeof flags['max-ticks'] === 'number') merged.session = { ...(merged.session as object), max_ticks: flags['max-ticks'] };
  if (typeof flags.bus === 'string') merged.bus = { ...(merged.bus as object), kind: flags.bus };
  return loadConfig({ ...(typeof flags.config === 'string' ? { file: flags.config } : {}), overrides: merged });
}

function mergeShallowDeep(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = prev && typeof prev === 'object' && v && typeof v === 'object' ? mergeShallowDeep(prev as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

async function makeBus(config: Config): Promise<Bus> {
  if (config.bus.kind === 'nats') return NatsBus.connect({ servers: config.bus.nats_url, name: 'kestrel-session' });
  return new InProcessBus();
}

async function runSession(flags: FlagValues, preset: Record<string, unknown>): Promise<number> {
  const config = configFrom(flags, preset);
  setLogLevel(config.logging.level);
  const bus = await makeBus(config);
  let summary: SessionSummary;
  try {
    summary = await runPaperSession(config, bus);
  } finally {
    await bus.close();
  }
  if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else process.stdout.write(formatSummary(config, summary));
  return 0;
}

function formatSummary(config: Config, s: SessionSummary): string {
  const f = (x: number, d = 2) => x.toFixed(d);
  return [
    `kestrel ${config.session.mode} session (${config.session.venues.join(',')} ${config.session.symbols.join(',')}, engine ${config.strategy.engine}, config ${config.version})`,
    `  ticks          ${s.ticks}`,
    `  signals        ${s.signals}`,
    `  fills          ${s.fills}`,
    `  position       ${f(s.position, 5)} @ ${f(s.avgPrice)}`,
    `  realized PnL   ${f(s.realizedPnl)}`,
    `  unrealized PnL ${f(s.unrealizedPnl)} (mark ${f(s.lastMid)})`,
    `  fees           ${f(s.fees)}`,
    `  net PnL        ${f(s.realizedPnl + s.unrealizedPnl - s.fees)}`,
    `  accuracy       ROC AUC ${s.accuracy.rocAuc?.toFixed(3) ?? 'n/a'}, hit rate ${s.accuracy.hitRate?.toFixed(3) ?? 'n/a'} over ${s.accuracy.scored} scored signals`,
    `  digest         ${s.digest}`,
    `  wall time      ${f(s.wallMs / 1000, 2)} s`,
    '',
  ].join('\n');
}

function usage(): string {
  const names = Object.keys(commands);
  return [
    'usage: kestrel <command> [options]',
    '',
    'commands:',
    ...names.map((n) => `  ${n.padEnd(12)}${commands[n]!.summary}`),
    '',
    'Run `kestrel <command> --help` for the options of a command.',
    '',
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  if (name === '--version') return commands.version!.run({}, []);
  const cmd = commands[name];
  if (!cmd) throw new UsageError(`unknown command '${name}' (run kestrel --help)`);
  const { flags, positionals } = parseFlags(rest, cmd.flags);
  if (flags.help) {
    process.stdout.write(`usage: kestrel ${name} [options]\n\n${cmd.summary}\n\noptions:\n${formatFlags(cmd.flags)}\n`);
    return 0;
  }
  return cmd.run(flags, positionals);
}

// Through the npm bin symlink argv[1] is the link, so compare real paths.
const invokedDirectly =
  process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof UsageError || err instanceof ConfigError) {
        process.stderr.write(`kestrel: ${err.message}\n`);
        process.exitCode = 2;
      } else {
        process.stderr.write(`kestrel: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        process.exitCode = 1;
      }
    },
  );
}
