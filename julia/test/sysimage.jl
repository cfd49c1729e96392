# The sysimage precompile script runs.

@testset "the sysimage precompile script runs (in its own module)" begin
    script = normpath(joinpath(REPO_ROOT, "sysimage", "precompile_execution.jl"))
    m = Module(:PrecompileScriptCheck)
    @test (Base.include(m, script); true)
end
