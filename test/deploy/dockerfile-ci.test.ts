/**
 * The Docker build cannot run here (no image registry is reachable), so this checks statically
 * that its Julia, sysimage and test stages run the commands .ci/run runs, and that it installs the
 * Julia version of the project's toolchain (../shared/toolchains/julia).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
const ciRun = fs.readFileSync(path.join(root, '.ci/run'), 'utf8');

/** Shell commands, one per `&&`/`;` part, without leading VAR=value assignments or `bash `. */
function commands(shell: string): string[] {
  // Split on && and ; outside quotes (Pkg.test's -e argument has a ';').
  const parts: string[] = [];
  let cur = '';
  let quote = '';
  for (let i = 0; i < shell.length; i++) {
    const ch = shell[i]!;
    if (quote) {
      if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === ';' || (ch === '&' && shell[i + 1] === '&')) {
      parts.push(cur);
      cur = '';
      if (ch === '&') i++;
      continue;
    }
    cur += ch;
  }
  parts.push(cur);
  return parts
    .map((c) => c.trim().replace(/^(?:[A-Z_][A-Z0-9_]*=(?:"[^"]*"|'[^']*'|\S*)\s+)+/, '').replace(/^bash\s+/, ''))
    .filter((c) => c !== '');
}

/** RUN commands of each Dockerfile stage (continuations joined, comments dropped). */
export function dockerRuns(text: string): Map<string, string[]> {
  const lines = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const stages = new Map<string, string[]>();
  let stage = '';
  for (const l of lines) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(l);
    if (from) {
      stage = from[1] ?? `stage${stages.size}`;
      stages.set(stage, []);
    } else if (/^RUN\s/i.test(l)) {
      stages.get(stage)!.push(...commands(l.replace(/^RUN\s+/i, '')));
    }
  }
  return stages;
}

/** Commands of .ci/run (comments, `step` banners and shell control lines dropped). */
function ciCommands(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('step '))
    .flatMap(commands);
}

const ci = ciCommands(ciRun);
const runs = dockerRuns(dockerfile);
const stageOf = (name: string) => {
  const s = runs.get(name);
  if (!s) throw new Error(`Dockerfile has no stage ${name}`);
  return s;
};

describe('Dockerfile and .ci/run run the same Julia, sysimage and test commands', () => {
  const pkgTest = "julia --startup-file=no --project=julia -e 'using Pkg; Pkg.test()'";

  it('the commands this test relies on are in .ci/run', () => {
    for (const c of ['npm run check:julia', pkgTest, 'sysimage/build.sh', 'npm test']) expect(ci).toContain(c);
    expect(ciRun).toMatch(/^export KESTREL_REQUIRE_JULIA=1$/m);
  });

  it('test stage: the syntax gate, Pkg.test() of julia/ and the suite, Julia required, in .ci/run order', () => {
    const test = stageOf('test');
    const order = (list: string[]) => ['npm run check:julia', pkgTest, 'npm test'].map((c) => list.indexOf(c));
    expect(order(test).every((i) => i >= 0), `test stage runs: ${test.join(' | ')}`).toBe(true);
    expect(order(test)).toEqual([...order(test)].sort((a, b) => a - b));
    expect(order(ci)).toEqual([...order(ci)].sort((a, b) => a - b));
    expect(dockerfile).toMatch(/ENV KESTREL_REQUIRE_JULIA=1/);
    // Every vitest/Julia test command of the test stage is one .ci/run also runs.
    for (const c of test.filter((c) => /vitest|npm test|Pkg\.test|check:julia/.test(c))) expect(ci).toContain(c);
  });

  it('sysimage: built by sysimage/build.sh in the builder, before the tests, as in .ci/run', () => {
    expect(stageOf('builder')).toContain('sysimage/build.sh');
    expect(ci.indexOf('sysimage/build.sh')).toBeLessThan(ci.indexOf('npm test'));
    expect(ci.indexOf(pkgTest)).toBeLessThan(ci.indexOf('sysimage/build.sh'));
  });

  it('julia stage: checks the libjulia name the addon loads (Julia 1.10 installs libjulia.so.1.10)', () => {
    const julia = stageOf('julia');
    expect(julia).toContain('test -f /opt/julia/lib/libjulia.so.1.10');
    const cpp = fs.readFileSync(path.join(root, 'addon/src/julia/julia_runtime.cpp'), 'utf8');
    expect(cpp).toMatch(/kLibjuliaNames\[\] = \{"libjulia\.so\.1\.10"/);
  });

  it("the Dockerfile's Julia version is the toolchain's", () => {
    const docker = /^ARG JULIA_VERSION=(\S+)$/m.exec(dockerfile)?.[1];
    const shared = process.env.KESTREL_SHARED_DIR ?? path.resolve(root, '../shared');
    const dir = path.join(shared, 'toolchains/julia');
    const tarballs = fs.readdirSync(dir).filter((f) => /^julia-\d+\.\d+\.\d+-linux-x86_64.*\.tar\./.test(f));
    expect(tarballs).toHaveLength(1);
    const toolchain = /^julia-(\d+\.\d+\.\d+)-/.exec(tarballs[0]!)![1];
    expect(docker).toBe(toolchain);
    expect(toolchain).toBe('1.10.8');
  });
});
