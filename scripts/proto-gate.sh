#!/usr/bin/env bash
# Protobuf gates: buf lint, and buf breaking against the main branch's proto (on main itself, against
# the previous commit), so a wire-incompatible change to a published message cannot land unnoticed.
set -euo pipefail
cd "$(dirname "$0")/.."
npx buf lint proto
branch=$(git rev-parse --abbrev-ref HEAD 2>/dev/null || echo HEAD)
if [ "$branch" != main ] && git rev-parse --verify -q main >/dev/null; then
  against="main"
elif git rev-parse --verify -q HEAD~1 >/dev/null; then
  against="HEAD~1"
else
  echo "proto-gate: no earlier commit to compare with (shallow clone): buf breaking skipped" >&2
  exit 0
fi
git ls-tree -d "$against" proto >/dev/null 2>&1 || { echo "proto-gate: $against has no proto/: buf breaking skipped" >&2; exit 0; }
npx buf breaking proto --against ".git#ref=$(git rev-parse "$against"),subdir=proto"
echo "proto-gate: buf lint ok, no breaking change against $against"
