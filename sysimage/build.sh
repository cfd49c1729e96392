#!/usr/bin/env bash
# Builds sysimage/build/kestrel.so (+ kestrel.so.julia-version) from julia/ with PackageCompiler.
# Needs Julia 1.10 (`julia` on PATH, or JULIA=/path/to/bin/julia, or JULIA_DIR=/path/to/julia-1.10.x),
# a C compiler (PackageCompiler links the image) and, the first time, network access to the Julia
# package servers for PackageCompiler itself. Arguments are passed to build.jl (optional output path).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -n "${JULIA:-}" ]]; then
  julia_bin="$JULIA"
elif [[ -n "${JULIA_DIR:-}" ]]; then
  julia_bin="$JULIA_DIR/bin/julia"
else
  julia_bin="$(command -v julia || true)"
fi
if [[ -z "$julia_bin" || ! -x "$julia_bin" ]]; then
  echo "sysimage/build.sh: no Julia found (set JULIA, JULIA_DIR, or put julia 1.10 on PATH)" >&2
  exit 2
fi
version="$("$julia_bin" --startup-file=no -e 'print(VERSION)')"
case "$version" in
  1.10.*) ;;
  *) echo "sysimage/build.sh: Julia $version found at $julia_bin; Kestrel's embedding supports 1.10.x" >&2; exit 2 ;;
esac
exec "$julia_bin" --startup-file=no --threads=1 --project="$here" "$here/build.jl" "$@"
