/**
 * scripts/julia-toolchain.sh, the way CI gets Julia. A stand-in toolchain (its install.sh unpacks a
 * `julia` script that refuses to start, with Julia's own message, until lib/julia/sys.so is the
 * "rebuilt" image) checks the decisions without the 15-minute base-image build: the CPU-target
 * rejection is recognised and repaired from the cache, any other start failure is an error, and a
 * Julia on PATH is used as it is. The last case runs the real toolchain when there is one.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './golden.js';

const script = path.join(repoRoot, 'scripts/julia-toolchain.sh');
const REJECTION =
  'ERROR: Unable to find compatible target in cached code image.\nTarget 0 (rocketlake): Rejecting this target due to use of runtime-disabled features';

describe('scripts/julia-toolchain.sh', () => {
  let dir: string;
  let tarballSha: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kestrel-jltc-'));
    const tc = path.join(dir, 'toolchain');
    mkdirSync(tc);
    writeFileSync(path.join(tc, 'julia-1.10.8-linux-x86_64-debian12.tar.xz'), 'stand-in tarball\n');
    tarballSha = createHash('sha256').update('stand-in tarball\n').digest('hex');
    // The fake julia starts only with the "good" image; FAKE_JULIA_OTHER_ERROR makes it fail otherwise.
    const fakeJulia = `#!/bin/bash
here="$(dirname "$(readlink -f "$0")")"
if [[ -n "\${FAKE_JULIA_OTHER_ERROR:-}" ]]; then echo "ERROR: libLLVM missing" >&2; exit 1; fi
if [[ "$(cat "$here/../lib/julia/sys.so")" != good ]]; then printf '%s\\n' "${REJECTION.replace(/\n/g, '\\n')}" >&2; exit 1; fi
printf 1.10.8
`;
    writeFileSync(
      path.join(tc, 'install.sh'),
      `#!/bin/bash
P="\${KESTREL_JULIA_PREFIX}"
if [[ "\${1:-}" == --env ]]; then echo "export JULIA_DIR=\\"$P/julia\\""; echo "export PATH=\\"$P/julia/bin:\\$PATH\\""; exit 0; fi
if [[ ! -d "$P/julia" ]]; then
  mkdir -p "$P/julia/bin" "$P/julia/lib/julia"
  echo shipped > "$P/julia/lib/julia/sys.so"
  cat > "$P/julia/bin/julia" <<'FAKE'
${fakeJulia}FAKE
  chmod +x "$P/julia/bin/julia"
fi
"$P/julia/bin/julia" -e check >/dev/null || { echo "install.sh: the installed Julia does not start" >&2; exit 1; }
`,
    );
    chmodSync(path.join(tc, 'install.sh'), 0o755);
    mkdirSync(path.join(dir, 'cache'));
    writeFileSync(path.join(dir, 'cache', `sys-v1-${tarballSha.slice(0, 16)}-haswell.so`), 'good');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function run(prefix: string, extra: Record<string, string> = {}) {
    const r = spawnSync('bash', [script], {
      encoding: 'utf8',
      env: {
        PATH: '/usr/bin:/bin',
        KESTREL_JULIA_TOOLCHAIN: path.join(dir, 'toolchain'),
        KESTREL_JULIA_PREFIX: path.join(dir, prefix),
        KESTREL_JULIA_CACHE: path.join(dir, 'cache'),
        KESTREL_JULIA_BASE_CPU_TARGET: 'haswell',
        ...extra,
      },
      timeout: 60_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('repairs the CPU-target rejection from the cache, keeps the shipped image, prints the env', () => {
    const r = run('p1');
    expect(r.stderr).toContain('compiled for another CPU: Target 0 (rocketlake)');
    expect(r.stderr).toContain('found in the cache');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`export JULIA_DIR="${path.join(dir, 'p1/julia')}"`);
    expect(readFileSync(path.join(dir, 'p1/julia/lib/julia/sys.so'), 'utf8')).toBe('good');
    expect(readFileSync(path.join(dir, 'p1/julia/lib/julia/sys.so.orig'), 'utf8')).toBe('shipped\n');
    // Second run: Julia starts, nothing to repair.
    const again = run('p1');
    expect(again.code).toBe(0);
    expect(again.stderr).not.toContain('another CPU');
  });

  it('any other start failure is an error, not a rebuild', () => {
    const r = run('p2', { FAKE_JULIA_OTHER_ERROR: '1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('does not start, and not because of its CPU target');
    expect(r.stderr).toContain('libLLVM missing');
    expect(r.stdout).toBe('');
  });

  it('a Julia 1.10 on PATH is used as it is (the real one, when this machine has it)', (ctx) => {
    let juliaDir: string;
    try {
      juliaDir = path.dirname(
        execFileSync(process.env.JULIA_DIR ? path.join(process.env.JULIA_DIR, 'bin/julia') : 'julia', ['--startup-file=no', '-e', 'print(Sys.BINDIR)'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }),
      );
    } catch {
      if (process.env.KESTREL_REQUIRE_JULIA === '1') throw new Error('KESTREL_REQUIRE_JULIA=1 but no julia runs');
      ctx.skip('no julia on this machine');
      return;
    }
    const r = run('unused', { PATH: `${path.join(juliaDir, 'bin')}:/usr/bin:/bin` });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('on PATH');
    expect(r.stdout).toContain(`export JULIA_DIR="${juliaDir}"`);
  });
});
