# The hot path: type-stable, zero allocations after warm-up.

@testset "hot path is type-stable and allocates nothing after warm-up" begin
    s = KS.SymbolState(FAST)
    @inferred KS.on_tick!(s, FAST, KS.quote_tick(Int64(1_000_000_000), 99.0, 101.0, 1.0, 1.0), UInt64(0), 0x0000)
    @inferred KS.on_tick!(s, FAST, KS.trade_tick(Int64(1_000_000_001), 100.0, 1.0), UInt64(1), 0x0000)
    @inferred KS.engine_tick!(KS.Engine(FAST, 1), KS.quote_tick(Int64(5), 99.0, 101.0, 1.0, 1.0), 0, UInt64(0))
    @inferred KS.fit_ou(collect(1.0:0.5:30.0), 0.1)
    ticks = synthetic_ticks(4000)
    bytes, nsig = alloc_engine_run(ticks, FAST)
    @test nsig > 0            # the measured run went through the signal path too
    @test bytes == 0
    @test alloc_fit(collect(range(1.0, 2.0; length = 300)) .+ 0.01 .* sin.(1:300), 0.1) == 0
    @test alloc_close_bar(KS.VPINState(10), FAST) == 0
end
