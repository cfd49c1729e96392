# Regime detection and the entry gate (docs/STRATEGY.md "Regime").

@testset "regime detection (docs/STRATEGY.md \"Regime\")" begin
    p = KS.params_with([:ou_window => 100.0, :vr_lag => 10.0, :vr_trend => 1.5, :vol_ratio_threshold => 2.0])
    rng = Xoshiro(7)
    # mean-reverting: AR(1) levels with b = 0.8 around 30000 -> VR well below 1, slope < 1
    x = 0.0
    mr = Float64[]
    for _ in 1:600
        x = 0.8 * x + randn(rng)
        push!(mr, 30000.0 + x)
    end
    e, reg = regime_after(mr, p)
    @test all(==(KS.kRegimeUnknown), reg[1:99])          # not warm before the window is full
    @test reg[end] == KS.kRegimeMeanReverting
    @test e.states[1].ou.vr < 1.0
    # momentum: increments with autocorrelation 0.8 -> VR(10) far above 1.5
    d = 0.0; lvl = 30000.0
    mom = Float64[]
    for _ in 1:600
        d = 0.8 * d + randn(rng)
        lvl += d
        push!(mom, lvl)
    end
    e, reg = regime_after(mom, p)
    @test reg[end] == KS.kRegimeTrending
    @test e.states[1].ou.vr > 1.5
    # a volatility burst after a calm mean-reverting stretch: short EWMA vol jumps over 2x the long one
    burst = vcat(mr, [30000.0 + 25.0 * randn(rng) for _ in 1:20])
    _, reg = regime_after(burst, p)
    @test reg[end] == KS.kRegimeHighVol
    # the rolling sums equal a fresh computation over the window (within rounding)
    e, _ = regime_after(mom[1:437], p)       # not at a window turn, so the sums are rolled, not rebuilt
    ou = e.states[1].ou
    w = [KS.ou_at(ou.buf, ou.head, i) for i in 0:length(ou.buf)-1]
    d1 = diff(w); dk = w[11:end] .- w[1:end-10]
    @test isapprox(ou.vr_s2, sum(d1 .^ 2); rtol = 1e-12) && isapprox(ou.vr_k2, sum(dk .^ 2); rtol = 1e-12)
    v1 = sum((d1 .- sum(d1) / length(d1)) .^ 2) / (length(d1) - 1)
    vk = sum((dk .- sum(dk) / length(dk)) .^ 2) / (length(dk) - 1)
    @test isapprox(ou.vr, vk / (10 * v1); rtol = 1e-10)
    # a reset forgets the window: UNKNOWN again until it refills
    s = e.states[1]
    KS.reset!(s)
    @test s.regime == KS.kRegimeUnknown && isnan(s.ou.vr) && s.ou.vr_s2 == 0.0
    # type-stable classification
    @inferred KS.classify_regime(s, p)
    @inferred KS.variance_ratio(s.ou)
    # parameters are validated like the native engine's
    @test_throws KS.ParamError KS.params_with([:ou_window => 100.0, :vr_lag => 99.0])
    @test_throws KS.ParamError KS.params_with([:vr_trend => 0.0])
    @test_throws KS.ParamError KS.params_with([:vol_long_lambda => 1.0])
    @test_throws KS.ParamError KS.params_with([:trend_entries => 2.0])
end

@testset "regime gate: no entries while TRENDING or HIGH_VOL unless trend_entries" begin
    # a momentum path has large z-scores against its (poor) OU fit; the gate must hold them all back
    base = [:ou_window => 100.0, :z_entry => 1.0, :min_confidence => 0.0, :cooldown_ns => 0.0,
            :half_life_min_s => 0.0, :half_life_max_s => 1e9, :max_spread_bps => 1e9, :min_size => 0.0]
    rng = Xoshiro(11)
    d = 0.0; lvl = 30000.0
    mids = Float64[]
    for _ in 1:1500
        d = 0.7 * d + randn(rng)
        lvl += d
        push!(mids, lvl)
    end
    ticks = regime_quotes(mids)
    gated, _ = KS.backtest(ticks, KS.params_with(base))
    open_, _ = KS.backtest(ticks, KS.params_with(vcat(base, [:trend_entries => 1.0])))
    @test all(s -> s.record.regime in (KS.kRegimeMeanReverting, KS.kRegimeUnknown), gated)
    @test any(s -> s.record.regime in (KS.kRegimeTrending, KS.kRegimeHighVol), open_)
    @test length(open_) > length(gated)
end
