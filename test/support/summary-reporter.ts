/**
 * Prints one plain closing line, `tests: N passed, N failed, N skipped`, after vitest's own report,
 * so that any tool reading the end of the log sees the count without parsing vitest's format.
 *
 * With KESTREL_REQUIRE_JULIA=1 (CI, where Julia is installed) a skipped Julia test fails the run:
 * every test of test/julia/ and every test whose name mentions Julia must have run.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const requireJulia = process.env.KESTREL_REQUIRE_JULIA === '1';
    const skippedJulia: string[] = [];
    for (const m of testModules) {
      const juliaFile = /(^|\/)test\/julia\//.test(m.moduleId);
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else {
          skipped++;
          if (requireJulia && (juliaFile || /julia/i.test(t.fullName))) skippedJulia.push(`${m.moduleId} > ${t.fullName}`);
        }
      }
      if (m.state() === 'failed' && [...m.children.allTests()].length === 0) failed++;
    }
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
    if (skippedJulia.length > 0) {
      process.stdout.write(
        `KESTREL_REQUIRE_JULIA=1 but ${skippedJulia.length} Julia test(s) skipped:\n${skippedJulia.map((n) => `  ${n}\n`).join('')}`,
      );
      process.exitCode = 1;
    }
  }
}
