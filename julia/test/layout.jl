# Layout agreement with addon/include/kestrel/layout.h and determinism of the setup.

@testset "layout agrees with layout.h constants" begin
    @test isbitstype(KS.TickEntry) && isbitstype(KS.SignalRecord)
    @test sizeof(KS.TickEntry) == KS.kTickEntrySize == 64
    @test sizeof(KS.SignalRecord) == KS.kSignalRecordSize == 128
    tick_offsets = [KS.kTickTsOffset, KS.kTickVenueOffset, KS.kTickSymbolOffset, KS.kTickFlagsOffset,
                    KS.kTickBidOffset, KS.kTickAskOffset, KS.kTickBidSizeOffset, KS.kTickAskSizeOffset,
                    KS.kTickSequenceOffset, KS.kTickPushNsOffset]
    @test [Int(fieldoffset(KS.TickEntry, i)) for i in 1:fieldcount(KS.TickEntry)] == tick_offsets
    sig_offsets = [KS.kSigSequenceOffset, KS.kSigTraceHiOffset, KS.kSigTraceLoOffset, KS.kSigStrategyOffset,
                   KS.kSigSymbolOffset, KS.kSigVenueOffset, KS.kSigSideOffset, KS.kSigUrgencyOffset,
                   KS.kSigEngineOffset, KS.kSigRegimeOffset, KS.kSigTtlOffset, KS.kSigSizeOffset, KS.kSigConfidenceOffset,
                   KS.kSigMaxSlippageOffset, KS.kSigMinFillOffset, KS.kSigRefPriceOffset, KS.kSigZscoreOffset,
                   KS.kSigSourceSeqOffset, KS.kSigTickTsOffset, KS.kSigTickPushNsOffset,
                   KS.kSigEnginePopNsOffset, KS.kSigSignalNsOffset]
    @test [Int(fieldoffset(KS.SignalRecord, i)) for i in 1:fieldcount(KS.SignalRecord)] == sig_offsets
    @test KS.kResetMask == KS.kFlagGap | KS.kFlagResync
    @test KS.kTaintMask == KS.kFlagCrossed | KS.kFlagStale | KS.kFlagSkew
end

@testset "determinism setup" begin
    @test BLAS.get_num_threads() == 1
    a = KS.Engine(KS.default_params(), 1); b = KS.Engine(KS.default_params(), 1)
    @test rand(a.rng, UInt64, 4) == rand(b.rng, UInt64, 4)
end
