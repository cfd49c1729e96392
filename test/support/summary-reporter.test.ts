/**
 * KESTREL_REQUIRE_JULIA=1 (CI) makes a skipped Julia test fail the run: the summary reporter sets
 * the exit status. Runs vitest on a throwaway project holding one skipped Julia test.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
// Inside the repository (.tmp/ is ignored) so the fixture resolves `vitest` from node_modules.
const fixture = path.join(root, '.tmp', `reporter-fixture-${process.pid}`);

function run(env: Record<string, string>, file: string) {
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--root', fixture, file], {
    cwd: fixture,
    encoding: 'utf8',
    env: { ...process.env, KESTREL_REQUIRE_JULIA: '', ...env },
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe('summary reporter with KESTREL_REQUIRE_JULIA', () => {
  beforeAll(() => {
    mkdirSync(path.join(fixture, 'test/julia'), { recursive: true });
    mkdirSync(path.join(fixture, 'test/other'), { recursive: true });
    writeFileSync(
      path.join(fixture, 'vitest.config.ts'),
      `export default { test: { include: ['test/**/*.test.ts'], reporters: ['default', ${JSON.stringify(
        path.join(root, 'test/support/summary-reporter.ts'),
      )}] } };\n`,
    );
    writeFileSync(
      path.join(fixture, 'test/julia/skip.test.ts'),
      "import { it } from 'vitest';\nit('runs', () => {});\nit.skip('a julia case that did not run', () => {});\n",
    );
    writeFileSync(
      path.join(fixture, 'test/other/skip.test.ts'),
      "import { it } from 'vitest';\nit('runs', () => {});\nit.skip('an unrelated skipped case', () => {});\n",
    );
  });
  afterAll(() => rmSync(fixture, { recursive: true, force: true }));

  it('a skipped Julia test fails the run when Julia is required, and names the test', { timeout: 120_000 }, () => {
    const r = run({ KESTREL_REQUIRE_JULIA: '1' }, 'test/julia/skip.test.ts');
    expect(r.out).toContain('KESTREL_REQUIRE_JULIA=1 but 1 Julia test(s) skipped');
    expect(r.out).toContain('a julia case that did not run');
    expect(r.code).toBe(1);
  });

  it('is only a skip without KESTREL_REQUIRE_JULIA, and other skips never fail the run', { timeout: 120_000 }, () => {
    expect(run({}, 'test/julia/skip.test.ts').code).toBe(0);
    expect(run({ KESTREL_REQUIRE_JULIA: '1' }, 'test/other/skip.test.ts').code).toBe(0);
  });
});
