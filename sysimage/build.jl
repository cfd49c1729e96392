# Builds the Kestrel sysimage: Julia's own image plus KestrelStrategy, with the hot functions and
# the @cfunction entry points compiled ahead of time, so the engine thread runs compiled code from
# its first tick (no JIT pause on the trading path).
#
#   sysimage/build.sh                 # same as: julia --startup-file=no --project=sysimage sysimage/build.jl
#   sysimage/build.sh /path/out.so    # another output path
#
# Output (documented in docs/JULIA_EMBEDDING.md; the addon looks there by default):
#   sysimage/build/kestrel.so                  the image (an ELF shared object)
#   sysimage/build/kestrel.so.julia-version    the exact Julia version that built it; the addon
#                                              refuses an image from another build instead of
#                                              letting jl_init abort the Node process
# Environment:
#   KESTREL_SYSIMAGE_CPU_TARGET   LLVM cpu target list; default: PackageCompiler's portable app
#                                 target (runs on any x86-64 from sandybridge); "native" builds
#                                 faster but only runs on CPUs like the build host's.

using Pkg

const HERE = @__DIR__
const PACKAGE_DIR = normpath(joinpath(HERE, "..", "julia"))

Pkg.activate(HERE)
# Julia 1.10 cannot point a dependency at a path from Project.toml; develop writes it into the
# (untracked) Manifest.toml instead.
Pkg.develop(PackageSpec(path = PACKAGE_DIR))
Pkg.instantiate()

using PackageCompiler

function main(args::Vector{String})
    out = abspath(isempty(args) ? joinpath(HERE, "build", "kestrel.so") : args[1])
    mkpath(dirname(out))
    cpu_target = get(ENV, "KESTREL_SYSIMAGE_CPU_TARGET", PackageCompiler.default_app_cpu_target())
    @info "building Kestrel sysimage $(out) (cpu target $(cpu_target), Julia $(VERSION))"
    # Remove a stale stamp first: a failed build must not leave an old stamp beside a new image.
    stamp = out * ".julia-version"
    isfile(stamp) && rm(stamp)
    create_sysimage(
        ["KestrelStrategy"];
        sysimage_path = out,
        project = HERE,
        precompile_execution_file = joinpath(HERE, "precompile_execution.jl"),
        incremental = true,
        cpu_target = cpu_target,
    )
    write(stamp, string(VERSION), "\n")
    @info "sysimage written: $(out) ($(round(filesize(out) / 2^20; digits = 1)) MiB), stamp $(stamp)"
    return nothing
end

main(ARGS)
