# KestrelStrategy tests: julia --project=julia -e 'using Pkg; Pkg.test()'
# One file per topic; this file is the include list.
#
# Layout agreement with addon/include/kestrel/layout.h, reference values (REFERENCE_VALUES.md),
# streaming-vs-batch checks of VPIN and the OU sampler, the shared golden vectors (test/golden/),
# zero allocation of the hot path after warm-up, the C entry points, and in-place ring replay.

using Test
using LinearAlgebra: BLAS
using Random: Xoshiro, rand, randn
using KestrelStrategy
const KS = KestrelStrategy

include("golden_io.jl")

include("helpers.jl")

@testset "KestrelStrategy" begin
    include("layout.jl")
    include("kelly.jl")
    include("ou.jl")
    include("vpin.jl")
    include("features.jl")
    include("regime.jl")
    include("hotpath.jl")
    include("entrypoints.jl")
    include("rings.jl")
    include("sysimage.jl")
    @testset "no method ambiguities in KestrelStrategy" begin
        @test isempty(Test.detect_ambiguities(KestrelStrategy))
    end
end
