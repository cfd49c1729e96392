# Tick classification and the shared golden vectors (test/golden/): features and signals.

@testset "classification: tainted ticks are skipped, GAP resets" begin
    p = FAST
    s = KS.SymbolState(p)
    t0 = Int64(1_000_000_000)
    KS.on_tick!(s, p, KS.quote_tick(t0, 99.0, 101.0, 1.0, 2.0), UInt64(0), 0x0000)
    @test s.q.mid == 100.0 && s.q.has_prev
    for bad in (KS.quote_tick(t0 + 1, 101.0, 100.0, 1.0, 1.0),                     # crossed values
                KS.quote_tick(t0 + 1, 99.0, 101.0, 1.0, 1.0; flags = KS.kFlagStale),
                KS.quote_tick(t0 + 1, 99.0, 101.0, 1.0, 1.0; flags = KS.kFlagSkew),
                KS.quote_tick(t0 - 1, 99.0, 101.0, 1.0, 1.0),                       # out of order
                KS.quote_tick(t0 + 1, NaN, 101.0, 1.0, 1.0),
                KS.quote_tick(t0 + 1, 99.0, 101.0, -1.0, 1.0),
                KS.trade_tick(t0 + 1, 100.0, 0.0),
                KS.trade_tick(t0 + 1, -3.0, 1.0),
                KS.quote_tick(-5, 99.0, 101.0, 1.0, 1.0))
        before = s.skipped
        KS.on_tick!(s, p, bad, UInt64(1), 0x0000)
        @test s.skipped == before + 1
        @test s.q.mid == 100.0
    end
    KS.on_tick!(s, p, KS.quote_tick(t0 + 2, 99.0, 101.0, 1.0, 1.0; flags = KS.kFlagGap), UInt64(2), 0x0000)
    @test !s.q.has_prev && s.ou.count == 0 && !s.ou.fit.valid && isnan(s.ou.zscore) && s.resets == 1
    KS.on_tick!(s, p, KS.quote_tick(t0 + 3, 99.0, 101.0, 1.0, 1.0), UInt64(3), 0x0000)
    @test s.q.has_prev
    KS.on_tick!(s, p, KS.trade_tick(t0 + 4, 100.0, 1.0; buyer_aggressor = true), UInt64(4), 0x0000)
    @test s.vpin.has_bar
    KS.on_tick!(s, p, KS.quote_tick(t0 + 5, 99.0, 101.0, 1.0, 1.0; flags = KS.kFlagResync), UInt64(5), 0x0000)
    @test !s.q.has_prev && !s.vpin.has_bar && s.resets == 2
end

@testset "golden vectors (test/golden/)" begin
    cases = golden_cases()
    @test !isempty(cases)   # the golden files are part of the repository; none found is a failure
    for name in cases
        @testset "$(name)" begin
            p = KS.params_with(read_params(name))
            ticks = read_ticks(name)
            want_features = read_features(name)
            want_signals = read_signals(name)
            wanted = Set(first.(want_features))
            signals, feats = KS.backtest(ticks, p; record_features = i -> i in wanted)
            got = Dict(i => f for (i, f) in feats)
            # features
            bad = 0
            for (idx, want) in want_features
                f = get(got, idx, nothing)
                if f === nothing
                    bad += 1
                    bad <= 5 && @error "no features recorded for $(name) at tick $(idx)"
                    continue
                end
                have = Float64[f.mid, f.spread, f.spread_bps, f.microprice, f.ofi, f.ofi_norm, f.ewma_var, f.vpin,
                               Float64(f.n_buckets), f.ou_valid ? 1.0 : 0.0, f.kappa, f.mu, f.sigma, f.half_life, f.zscore,
                               f.ou_b, f.vr, f.vol_ratio, Float64(f.regime)]
                for (c, col) in enumerate(FEATURE_COLUMNS)
                    if !close_enough(have[c], want[c])
                        bad += 1
                        bad <= 5 && @error "feature mismatch in $(name) at tick $(idx), column $(col): julia $(have[c]), golden $(want[c])"
                    end
                end
            end
            @test bad == 0
            # signals: the same ticks emit, with the same fields
            @test [s.index for s in signals] == [w.index for w in want_signals]
            for (s, w) in zip(signals, want_signals)
                r = s.record
                @test r.side == w.side
                @test r.urgency == w.urgency
                @test r.ttl_ms == w.ttl_ms
                @test r.trace_hi == w.trace_hi
                @test r.trace_lo == w.trace_lo
                @test r.regime == w.regime
                @test close_enough(r.size, w.size)
                @test close_enough(r.confidence, w.confidence)
                @test close_enough(r.zscore, w.zscore)
                @test close_enough(r.ref_price, w.ref_price)
                @test close_enough(r.min_fill_qty, w.min_fill_qty)
                @test close_enough(r.max_slippage_bps, w.max_slippage_bps)
            end
        end
    end
end

# Quotes on the 100 ms grid around `mids` (spread 0.1), one per grid step.
regime_quotes(mids) = [KS.quote_tick(Int64(i) * 100_000_000 + 50_000_000, m - 0.05, m + 0.05, 1.0, 1.0)
                       for (i, m) in enumerate(mids)]

function regime_after(mids, p)
    e = KS.Engine(p, 1)
    regimes = UInt8[]
    for (k, t) in enumerate(regime_quotes(mids))
        KS.engine_tick!(e, t, 0, UInt64(k - 1))
        push!(regimes, KS.features(e, 0).regime)
    end
    return e, regimes
end
