/**
 * Real headless Chromium for page tests: Debian's `chromium` (installed by scripts/chromium.sh,
 * which `npm test` and .ci/run call), driven by playwright-core with the system executable.
 * Missing Chromium is a failure, not a skip: the report test must run in CI.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.KESTREL_CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: run scripts/chromium.sh (root, apt) or set KESTREL_CHROMIUM`);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}
