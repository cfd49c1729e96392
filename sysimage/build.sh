#!/usr/bin/env bash
# Builds sysimage/build/kestrel.so (+ kestrel.so.julia-version) from julia/ with PackageCompiler.
# Needs Julia 1.10 (`julia` on PATH, or JULIA=/path/to/bin/julia, or JULIA_DIR=/path/to/julia-1.10.x),
# a C compiler (PackageCompiler links the image) and, the first time, network access to the Julia
# package servers for PackageCompiler itself. Arguments are passed to build.jl (optional output path).
# KESTREL_SYSIMAGE_CACHE=<dir> keeps built images there and reuses one built from the same inputs.
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
build() { "$julia_bin" --startup-file=no --threads=1 --project="$here" "$here/build.jl" "$@"; }
# KESTREL_SYSIMAGE_CACHE=<dir> (CI): reuse an image built from the same inputs. The key covers what
# the image is made of: julia/ and sysimage/ sources, the Julia version, the base image it extends,
# the CPU target (and the CPU itself when the target is "native").
if [[ -z "${KESTREL_SYSIMAGE_CACHE:-}" ]]; then
  build "$@"
  exit
fi
out="$(realpath -m "${1:-$here/build/kestrel.so}")"
target="${KESTREL_SYSIMAGE_CPU_TARGET:-default-app}"
base_info="$("$julia_bin" --startup-file=no -e 'print(Sys.CPU_NAME, "\n", unsafe_string(Base.JLOptions().image_file))')"
cpu="$(sed -n 1p <<<"$base_info")"
base_image="$(sed -n 2p <<<"$base_info")"
[[ "$target" == *native* ]] || cpu=any
key="$(
  {
    echo "julia $version target $target cpu $cpu"
    sha256sum "$base_image" | cut -d' ' -f1
    cd "$here/.."
    find julia/Project.toml julia/src sysimage/Project.toml sysimage/build.sh sysimage/build.jl \
      sysimage/precompile_execution.jl -type f -print0 | sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-24
)"
cached="$KESTREL_SYSIMAGE_CACHE/kestrel-$key.so"
mkdir -p "$KESTREL_SYSIMAGE_CACHE" "$(dirname "$out")"
if [[ -f "$cached" && -f "$cached.julia-version" ]]; then
  echo "sysimage/build.sh: cached image $cached (same sources, Julia $version, target $target)" >&2
else
  build "$out"
  cp -f "$out" "$cached.tmp" && mv -f "$cached.tmp" "$cached"  # atomic for concurrent runs
  cp -f "$out.julia-version" "$cached.julia-version"
  exit 0
fi
rm -f "$out.julia-version"  # the stamp goes last: never beside a half-copied image
cp -f "$cached" "$out.tmp" && mv -f "$out.tmp" "$out"
cp -f "$cached.julia-version" "$out.julia-version"
