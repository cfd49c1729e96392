#!/usr/bin/env bash
# Make sure Debian's chromium is installed: the HTML backtest report test (test/replay/report/)
# opens reports in a real headless browser through playwright-core, pointed at this executable
# (playwright's own browser download is not used). Idempotent; needs root (apt-get) on a fresh machine.
set -euo pipefail

exe=${KESTREL_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$exe" ]; then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
"$exe" --headless --no-sandbox --version >/dev/null 2>&1 || "$exe" --version >/dev/null
echo "chromium: $("$exe" --version 2>/dev/null | head -n 1) at $exe"
