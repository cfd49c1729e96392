/**
 * One way to start a process and one way to read its arguments: every runnable module goes through
 * runAsEntryPoint (src/cli/entry.ts) and parses with parseFlags + a FlagSpec list; each service's
 * --help is generated from its list (src/cli/services.ts), and a bad flag is one line, exit 2.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatHelp } from '../../src/cli/args.js';
import { services } from '../../src/cli/main.js';
import { privateVenuesService } from '../../src/cli/services.js';

const root = path.resolve(import.meta.dirname, '../..');

function node(file: string, ...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, file), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, KESTREL_LOG_LEVEL: 'silent' },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts'))
    .map((d) => path.relative(root, path.join(d.parentPath, d.name)));
}

/** Code only: comments may name what they replaced. */
const code = (file: string) =>
  readFileSync(path.join(root, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');

describe('entry points', () => {
  const files = sourceFiles(path.join(root, 'src'));

  it('reads process.argv only in src/cli/entry.ts and src/cli/main.ts, and never parses it by hand', () => {
    expect(files.length).toBeGreaterThan(50);
    const offenders: string[] = [];
    for (const f of files) {
      const text = code(f);
      if (/process\.argv\b/.test(text) && f !== 'src/cli/entry.ts' && f !== 'src/cli/main.ts') offenders.push(`${f}: process.argv`);
      if (/\bparseArgs\b/.test(text) && /'node:util'/.test(text)) offenders.push(`${f}: node:util parseArgs`);
      if (/argv\.indexOf\(\s*'--/.test(text)) offenders.push(`${f}: argv.indexOf('--…')`);
      if (/\bmain\(\)\.catch\(/.test(text)) offenders.push(`${f}: main().catch`);
    }
    expect(offenders).toEqual([]);
  });

  it('starts every service module through runAsEntryPoint', () => {
    for (const f of [
      'src/cli/main.ts',
      'src/execution/main.ts',
      'src/risk/main.ts',
      'src/simulators/main.ts',
      'src/simulators/private/main.ts',
      'src/ingestion/main.ts',
      'src/engine/main.ts',
      'src/venues/gateway-main.ts',
      'src/positions/main.ts',
      'src/audit/main.ts',
      'src/record/main.ts',
    ])
      expect(code(f), f).toMatch(/^runAsEntryPoint\(import\.meta\.url, /m);
  });

  it.each(['executor', 'risk', 'simulators', 'gateway', 'positions', 'audit', 'recorder', 'md', 'engine'])(
    'kestrel run %s --help prints the options generated from its flag list, exit 0',
    (name) => {
      const r = node('src/cli/main.ts', 'run', name, '--help');
      expect(r.code, r.stderr).toBe(0);
      const spec = services[name]!.spec;
      expect(r.stdout).toBe(formatHelp(spec.usage, spec.summary, spec.flags));
      expect(r.stdout).toContain(name === 'simulators' ? '--venues LIST' : '--config FILE');
    },
  );

  it('kestrel run --help lists the services', () => {
    const r = node('src/cli/main.ts', 'run', '--help');
    expect(r.code, r.stderr).toBe(0);
    for (const name of Object.keys(services)) expect(r.stdout).toContain(`  ${name}`);
  });

  it('a service started directly answers --help the same way', () => {
    const r = node('src/simulators/private/main.ts', '--help');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(formatHelp(privateVenuesService.usage, privateVenuesService.summary, privateVenuesService.flags));
    expect(r.stdout).toContain('--no-rate-limit');
  });

  it('an unknown flag of a service is one line and exit 2, through kestrel run and directly', () => {
    const viaCli = node('src/cli/main.ts', 'run', 'executor', '--confg', 'x.json');
    expect(viaCli.code).toBe(2);
    expect(viaCli.stderr).toBe('kestrel: unknown option --confg\n');
    const direct = node('src/risk/main.ts', '--confg', 'x.json');
    expect(direct.code).toBe(2);
    expect(direct.stderr).toBe('risk gateway failed: UsageError: unknown option --confg\n');
  });

  it('a service without its required --venue is one line and exit 2', () => {
    const r = node('src/cli/main.ts', 'run', 'gateway');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('kestrel: --venue is required (kestrel run gateway --venue VENUE [--config FILE.yaml])\n');
  });
});
