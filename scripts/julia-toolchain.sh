#!/usr/bin/env bash
# Puts a working Julia 1.10 at hand and prints the environment to use it:
#
#   eval "$(bash scripts/julia-toolchain.sh)"
#
# 1. A `julia` 1.10 already on PATH that starts is used as it is (a developer's juliaup, the Docker
#    stage's official binaries).
# 2. Otherwise the shared offline toolchain is installed (../shared/toolchains/julia/install.sh, or
#    KESTREL_JULIA_TOOLCHAIN=<its directory>). Its base system image (lib/julia/sys.so) was compiled
#    for one CPU (rocketlake); on a CPU that lacks one of that target's features Julia refuses to
#    start ("Unable to find compatible target in cached code image"). Then the base image is rebuilt
#    from the installation's own Base sources for KESTREL_JULIA_BASE_CPU_TARGET (default haswell =
#    x86-64-v3, generic on older CPUs), about 15 minutes of one core, and the result is kept in
#    KESTREL_JULIA_CACHE (default /var/cache/kestrel-julia) under the toolchain tarball's sha256 and
#    the target, so later runs on any machine sharing that folder take seconds.
#
# Progress goes to stderr; stdout carries only the `export` lines. Exit status: 0 with a Julia that
# starts, non-zero otherwise (with the reason).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { echo "julia-toolchain: $*" >&2; }
die() { log "$*"; exit 1; }

# The same smoke test install.sh runs: Base, the stdlibs' compiled code and BLAS all load.
readonly SMOKE='VERSION >= v"1.10" && VERSION < v"1.11" || error("need Julia 1.10, got $(VERSION)"); using LinearAlgebra; BLAS.get_config(); print(VERSION)'
readonly REJECTED='Unable to find compatible target in cached code image'

# --- 1. a Julia 1.10 already on PATH ----------------------------------------------------------------
if [[ "${KESTREL_JULIA_IGNORE_PATH:-0}" != 1 ]] && exe="$(command -v julia 2>/dev/null)"; then
  if version="$("$exe" --startup-file=no -e "$SMOKE" 2>/dev/null)"; then
    root="$(dirname "$(dirname "$(readlink -f "$exe")")")"
    # A launcher (juliaup) resolves to no installation; ask Julia itself where it lives.
    if [[ ! -x "$root/bin/julia" ]]; then root="$(dirname "$("$exe" --startup-file=no -e 'print(Sys.BINDIR)')")"; fi
    log "using Julia $version on PATH ($exe, installation $root)"
    printf 'export JULIA_DIR="%s"\n' "$root"
    printf 'export PATH="%s:$PATH"\n' "$root/bin"
    exit 0
  fi
  log "ignoring $exe on PATH: not a Julia 1.10 that starts"
fi

# --- 2. the shared toolchain --------------------------------------------------------------------------
toolchain="${KESTREL_JULIA_TOOLCHAIN:-${KESTREL_SHARED_DIR:-$repo/../shared}/toolchains/julia}"
[[ -f "$toolchain/install.sh" ]] || die "no julia 1.10 on PATH and no toolchain at $toolchain (install.sh missing)"
prefix="${KESTREL_JULIA_PREFIX:-/opt/kestrel-julia}"
export KESTREL_JULIA_PREFIX="$prefix"
J="$prefix/julia"
tarball="$(ls "$toolchain"/julia-1.10.*-linux-x86_64*.tar.* 2>/dev/null | head -n 1)"
[[ -n "$tarball" ]] || die "no Julia tarball in $toolchain"

starts() { "$J/bin/julia" --startup-file=no -e "$SMOKE" >/dev/null 2>"$1"; }

install_log="$(mktemp)"
check_log="$(mktemp)"
trap 'rm -f "$install_log" "$check_log"' EXIT
# install.sh is idempotent (a stamp skips unpacking) and exits 1 when the Julia it unpacked does not
# start; whether that is the known target rejection is decided below, by running Julia ourselves.
install_ok=1
bash "$toolchain/install.sh" >"$install_log" 2>&1 || install_ok=0
if [[ $install_ok == 1 ]]; then
  log "shared toolchain installed in $prefix"
elif [[ ! -x "$J/bin/julia" ]]; then
  cat "$install_log" >&2
  die "the shared toolchain's install.sh failed before unpacking Julia (its output is above)"
fi

if starts "$check_log"; then
  if [[ $install_ok == 0 ]]; then
    cat "$install_log" >&2
    die "the shared toolchain's install.sh failed although its Julia starts (its output is above)"
  fi
else
  if ! grep -q "$REJECTED" "$check_log"; then
    cat "$install_log" "$check_log" >&2
    die "the installed Julia at $J does not start, and not because of its CPU target (output above)"
  fi
  log "the shipped base system image was compiled for another CPU: $(grep -m1 -o 'Target 0 ([^)]*)' "$check_log" || true)"

  target="${KESTREL_JULIA_BASE_CPU_TARGET:-}"
  if [[ -z "$target" ]]; then
    # haswell is x86-64-v3; every CPU with these flags accepts it.
    target=generic
    if grep -qw avx2 /proc/cpuinfo && grep -qw bmi2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && grep -qw movbe /proc/cpuinfo; then
      target=haswell
    fi
  fi
  tar_sha="$(sha256sum "$tarball" | cut -d' ' -f1)"
  # v1: the build recipe below; bump it when the recipe changes so old entries are not reused.
  key="sys-v1-${tar_sha:0:16}-${target//[^A-Za-z0-9_.-]/_}"
  cache="${KESTREL_JULIA_CACHE:-/var/cache/kestrel-julia}"
  mkdir -p "$cache"
  cached="$cache/$key.so"

  if [[ -f "$cached" ]]; then
    log "base system image for $target found in the cache: $cached"
  else
    log "rebuilding the base system image for CPU target $target from $J/share/julia/base (about 15 min of one core; cached afterwards as $cached)"
    work="$(mktemp -d "$cache/.build.XXXXXX")"
    trap 'rm -f "$install_log" "$check_log"; rm -rf "$work"' EXIT
    t0=$(date +%s)
    # Julia's own two-stage sysimage build (its Makefile's corecompiler.ji then sys-o.a), run
    # with the installed julia binary and the original image only for its runtime: -C picks the
    # target, --sysimage the stage-1 image. The stdlibs' compiled caches are separate files and
    # are not affected.
    (
      cd "$J/share/julia/base"
      "$J/bin/julia" -C "$target" --output-ji "$work/corecompiler.ji" --startup-file=no --warn-overwrite=yes \
        -g1 -O1 compiler/compiler.jl
      JULIA_BINDIR="$J/bin" "$J/bin/julia" -g1 -O1 -C "$target" --output-o "$work/sys-o.a" --startup-file=no \
        --warn-overwrite=yes --sysimage "$work/corecompiler.ji" sysimg.jl ""
    ) >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; die "base system image build failed (log tail above)"; }
    g++ -shared -fPIC -L"$J/lib/julia" -L"$J/lib" -o "$work/sys.so" \
      -Wl,--whole-archive "$work/sys-o.a" -Wl,--no-whole-archive -ljulia-internal -ljulia \
      || die "linking the base system image failed"
    mv -f "$work/sys.so" "$cached.tmp"
    mv -f "$cached.tmp" "$cached"  # atomic: a concurrent or interrupted run never sees half a file
    log "base system image built in $(( $(date +%s) - t0 )) s"
  fi

  [[ -f "$J/lib/julia/sys.so.orig" ]] || cp -p "$J/lib/julia/sys.so" "$J/lib/julia/sys.so.orig"
  cp -f "$cached" "$J/lib/julia/sys.so.new"
  mv -f "$J/lib/julia/sys.so.new" "$J/lib/julia/sys.so"
  starts "$check_log" || { cat "$check_log" >&2; die "Julia still does not start with the rebuilt base image $cached"; }
  log "Julia starts with the base image rebuilt for $target"
fi

log "Julia $("$J/bin/julia" --startup-file=no -e 'print(VERSION)') ready in $J"
bash "$toolchain/install.sh" --env
