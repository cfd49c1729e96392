#!/usr/bin/env bash
# clang-format gate for addon/ (style: addon/.clang-format). `--fix` rewrites the files instead.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "clang-format-check: clang-format is not installed (apt-get install clang-format)" >&2; exit 1; }
mapfile -t files < <(git ls-files 'addon/*.cpp' 'addon/*.h')
if [ "${1:-}" = --fix ]; then
  clang-format -i "${files[@]}"
else
  clang-format --dry-run --Werror "${files[@]}"
  echo "clang-format-check: ${#files[@]} files clean"
fi
