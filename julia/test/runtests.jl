# KestrelStrategy tests: julia --project=julia -e 'using Pkg; Pkg.test()'
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

const REPO_ROOT = normpath(joinpath(@__DIR__, "..", ".."))
const SHARED_DIR = get(ENV, "KESTREL_SHARED_DIR", normpath(joinpath(REPO_ROOT, "..", "shared")))

# ---------------------------------------------------------------------------------------------
# helpers (functions, so that @allocated measures compiled code, not top-level evaluation)
# ---------------------------------------------------------------------------------------------

function run_all!(e::KS.Engine, ticks::Vector{KS.TickEntry})
    n = 0
    for i in eachindex(ticks)
        emitted, _ = KS.engine_tick!(e, @inbounds(ticks[i]), 0, UInt64(i - 1))
        n += emitted ? 1 : 0
    end
    return n
end

function alloc_engine_run(ticks::Vector{KS.TickEntry}, p::KS.Params)
    run_all!(KS.Engine(p, 1), ticks)          # warm-up: compile every path
    e = KS.Engine(p, 1)
    bytes = @allocated run_all!(e, ticks)
    return bytes, e.signals
end

function run_cfunction!(fp::Ptr{Cvoid}, h::Int64, ticks::Vector{KS.TickEntry},
                        tick::Base.RefValue{KS.TickEntry}, out::Base.RefValue{KS.SignalRecord})
    n = 0
    for i in eachindex(ticks)
        tick[] = @inbounds ticks[i]
        r = ccall(fp, Int32, (Int64, Ptr{KS.TickEntry}, UInt32, UInt64, Ptr{KS.SignalRecord}),
                  h, tick, UInt32(0), UInt64(i - 1), out)
        n += r == 1 ? 1 : 0
    end
    return n
end

alloc_cfunction(fp, h, ticks, tick, out) = @allocated run_cfunction!(fp, h, ticks, tick, out)

function alloc_fit(buf::Vector{Float64}, dt::Float64)
    KS.fit_ou(buf, 1, dt)
    return @allocated KS.fit_ou(buf, 1, dt)
end

function alloc_close_bar(v::KS.VPINState, p::KS.Params)
    v.has_bar = true; v.bar_first = 100.0; v.bar_last = 100.5; v.bar_vol = 2.75
    KS.close_bar!(v, p)
    v.has_bar = true; v.bar_first = 100.5; v.bar_last = 100.0; v.bar_vol = 1.25
    return @allocated KS.close_bar!(v, p)
end

"""
Synthetic ticks (seeded: the same ticks on every run): an OU mid path (kappa 0.5/s, sigma 1.0)
with a 4-unit shock every 250 quotes (a mean-reversion opportunity), a trade every third quote,
and CROSSED / GAP ticks sprinkled in.
"""
function synthetic_ticks(n::Int; seed::Integer = 20240808)
    rng = Xoshiro(seed)
    ticks = KS.TickEntry[]
    mu = 30000.0; kappa = 0.5; sigma = 1.0; dt = 0.037
    a = exp(-kappa * dt)
    sd = sigma * sqrt((1 - a * a) / (2 * kappa))
    m = mu
    ts = Int64(1_700_000_000_000_000_000)
    for i in 1:n
        ts += 37_000_000
        m = mu + (m - mu) * a + sd * randn(rng)
        i % 250 == 0 && (m += isodd(div(i, 250)) ? 4.0 : -4.0)
        flags = UInt32(0)
        i % 97 == 0 && (flags |= KS.kFlagCrossed)
        i % 1009 == 0 && (flags |= KS.kFlagGap)
        push!(ticks, KS.quote_tick(ts, m - 0.5, m + 0.5, 1.0 + rand(rng), 1.0 + rand(rng); flags = flags))
        if i % 3 == 0
            push!(ticks, KS.trade_tick(ts + 1, m + (rand(rng) - 0.5), 0.25 * rand(rng, 1:4); buyer_aggressor = isodd(i)))
        end
    end
    return ticks
end

# Smaller windows and a lower confidence floor than the defaults, so that a few thousand synthetic
# ticks exercise every branch including signals.
const FAST = KS.params_with([:ou_window => 100.0, :vpin_buckets => 10.0, :min_confidence => 0.05])

# ---------------------------------------------------------------------------------------------

@testset "KestrelStrategy" begin

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

@testset "reference values: Kelly (REFERENCE_VALUES.md)" begin
    @test KS.kelly_discrete(0.6, 1.0) ≈ 0.20 atol=1e-12
    @test KS.kelly_growth(0.6, 1.0, 0.2) ≈ 0.0201355 atol=5e-8
    @test KS.kelly_discrete(0.7, 1.0) ≈ 0.40 atol=1e-12
    @test KS.kelly_discrete(0.095156, 10.0) ≈ 0.0046716 atol=5e-8
    f, g = KS.kelly_continuous(0.11, 0.06, 0.15)
    @test f ≈ 2.2222 atol=5e-5
    @test g ≈ 0.115556 atol=5e-7
end

@testset "normal CDF / erfc" begin
    @test KS.normal_cdf(0.0) == 0.5
    @test KS.normal_cdf(1.644854) ≈ 0.95 atol=1e-6
    @test KS.normal_cdf(2.326348) ≈ 0.99 atol=1e-6
    @test KS.normal_cdf(-1.959964) ≈ 0.025 atol=1e-6
    @test KS.erfc_libm(0.5) ≈ 0.4795001221869535 rtol=1e-15
end

@testset "reference values: OU on the sitmo path" begin
    csv = joinpath(SHARED_DIR, "data", "reference", "ou_sitmo_example.csv")
    if !isfile(csv)
        error("reference data missing: $(csv) (set KESTREL_SHARED_DIR to the shared/ directory)")
    end
    t = read_csv(csv)
    S = [parse_float(r[column(t, "S")]) for r in t.rows]
    @test length(S) == 21
    fit = KS.fit_ou(S, 0.25)
    @test fit.valid
    @test fit.kappa ≈ 3.128732 atol=5e-7
    @test fit.mu ≈ 0.907488 atol=5e-7
    @test fit.sigma ≈ 0.583076 atol=5e-7
    @test fit.half_life ≈ log(2) / fit.kappa
    kappa, mu, sigma = KS.ou_mle(S, 0.25)
    @test kappa ≈ 3.128732 atol=5e-7
    @test mu ≈ 0.907488 atol=5e-7
    @test sigma ≈ 0.553155 atol=5e-7
end

@testset "OU fit rejects non-mean-reverting windows" begin
    @test !KS.fit_ou([1.1^i for i in 1:21], 0.25).valid          # explosive: b = 1.1 > 1
    @test !KS.fit_ou(fill(3.0, 21), 0.25).valid                   # den == 0
    @test !KS.fit_ou([isodd(i) ? 1.0 : -1.0 for i in 1:21], 0.25).valid  # b < 0
end

@testset "OU sampler equals the grid definition" begin
    p = KS.params_with([:ou_window => 40.0, :ou_dt_ns => 100_000_000.0])
    rng = Xoshiro(11)
    s = KS.SymbolState(p)
    ts = Int64(5_000_000_000); mid = 100.0
    quotes = Tuple{Int64,Float64}[]
    for _ in 1:400
        ts += rand(rng, 1:260) * 1_000_000
        mid += 0.01 * randn(rng)
        bid = mid - 0.005; ask = mid + 0.005
        push!(quotes, (ts, (bid + ask) * 0.5))    # the mid exactly as the strategy computes it
        KS.on_tick!(s, p, KS.quote_tick(ts, bid, ask, 1.0, 1.0), UInt64(0), 0x0000)
    end
    # Independent definition: the sample at grid point g is the mid of the last quote before g.
    samples = Float64[]
    g = (div(quotes[1][1], p.ou_dt_ns) + 1) * p.ou_dt_ns
    k = 1
    while g <= quotes[end][1]
        while k < length(quotes) && quotes[k+1][1] < g
            k += 1
        end
        push!(samples, quotes[k][2])
        g += p.ou_dt_ns
    end
    window = samples[end-p.ou_window+1:end]
    @test s.ou.count == p.ou_window
    got = [KS.ou_at(s.ou.buf, s.ou.head, i) for i in 0:p.ou_window-1]
    @test got == window
    @test isequal(s.ou.fit, KS.fit_ou(window, 0.1))
end

@testset "VPIN streaming equals the batch bucket definition" begin
    n = 4
    p = KS.params_with([:vpin_buckets => Float64(n), :vpin_bucket_volume => 1.0, :vpin_bar_ns => 1.0e9])
    v = KS.VPINState(n)
    rng = Xoshiro(5)
    bars = Tuple{Float64,Float64,Float64}[]   # (first, last, volume) of each closed bar
    price = 100.0
    for b in 1:60
        bar_first = price; vol = 0.0
        for j in 1:rand(rng, 1:4)
            price += 0.5 * rand(rng, -2:2)
            q = 0.25 * rand(rng, 1:6)      # quarter units: bucket arithmetic stays exact
            KS.vpin_trade!(v, p, price, q, Int64(b) * 1_000_000_000 + j)
            j == 1 && (bar_first = price)
            vol += q
        end
        push!(bars, (bar_first, price, vol))
    end
    KS.vpin_trade!(v, p, price, 0.25, Int64(61) * 1_000_000_000)   # closes bar 60
    # batch: two-pass expanding sd, then split each bar's volume over [j, j+1) volume buckets
    dps = [l - f for (f, l, _) in bars]
    buy = Float64[]; sell = Float64[]
    cum = 0.0
    for (k, (f, l, vol)) in enumerate(bars)
        m = sum(dps[1:k]) / k
        sd = k >= 2 ? sqrt(sum((dps[1:k] .- m) .^ 2) / (k - 1)) : 0.0
        phi = KS.normal_cdf(sd > 0 ? dps[k] / sd : 0.0)
        c0 = cum; c1 = cum + vol
        for j in Int(floor(c0)):Int(ceil(c1))
            part = min(c1, j + 1.0) - max(c0, Float64(j))
            part > 0 || continue
            while length(buy) <= j
                push!(buy, 0.0); push!(sell, 0.0)
            end
            buy[j+1] += part * phi
            sell[j+1] += part * (1 - phi)
        end
        cum = c1
    end
    complete = Int(floor(cum))
    oi = abs.(buy[1:complete] .- sell[1:complete])
    @test v.n_buckets == complete
    @test complete >= n
    @test isapprox(v.vpin, sum(oi[end-n+1:end]) / n; rtol=1e-12)
    # before n buckets VPIN is not available
    w = KS.VPINState(n)
    KS.vpin_trade!(w, p, 100.0, 1.5, Int64(1_000_000_000))
    KS.vpin_trade!(w, p, 101.0, 0.5, Int64(2_000_000_000))
    @test w.n_buckets == 1 && isnan(w.vpin)
end

@testset "VPIN bucket fill is bounded whatever the bar volume (closed form)" begin
    p = KS.params_with([:vpin_buckets => 4.0, :vpin_bucket_volume => 1.0, :vpin_bar_ns => 1.0e9])
    huge(vol) = (v = KS.VPINState(4); v.has_bar = true; v.bar_first = 100.0; v.bar_last = 100.0;
                 v.bar_vol = vol; v)
    KS.close_bar!(huge(3.5), p)                      # compile outside the timing
    v = huge(1.0e17)
    @test (@elapsed KS.close_bar!(v, p)) < 0.1
    # first bar: sd 0 -> phi 0.5, so every bucket is balanced; 1 topped-up bucket + 1e17 whole ones
    @test v.n_buckets == 100_000_000_000_000_001
    @test v.vpin == 0.0 && v.bkt_vol == 0.0
    w = huge(Inf)                                    # a bar volume that overflowed
    KS.close_bar!(w, p)
    @test w.n_buckets == typemax(Int64) && w.vpin == 0.0
    x = huge(3.5)                                    # 3 whole buckets, 0.5 left in the next one
    KS.close_bar!(x, p)
    @test x.n_buckets == 3 && x.bkt_vol == 0.5 && isnan(x.vpin)
end

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

@testset "C entry points" begin
    table = zeros(UInt64, 8)
    GC.@preserve table KS.fill_entry_points!(pointer(table), length(table))
    @test table[1] == KS.ABI_VERSION
    @test table[2] == KS.N_ENTRY_POINTS == 6
    @test all(!=(0), table[3:8])
    short = zeros(UInt64, 4)
    GC.@preserve short begin
        @test_throws ArgumentError KS.fill_entry_points!(pointer(short), 4)
    end
    @test all(==(0), short)   # nothing written into a table that is too small
    create, destroy, on_tick, on_gap, feats, last_error = (Ptr{Cvoid}(UInt(table[i])) for i in 3:8)

    # bad parameters: negative handle and a message naming the parameter
    bad = collect(Float64, KS.DEFAULT_PARAM_VALUES)
    bad[findfirst(==(:ou_window), KS.PARAM_NAMES)] = 1.5
    err = zeros(UInt8, 512)
    h = GC.@preserve bad err ccall(create, Int64, (Ptr{Float64}, Int64, Int64, Ptr{UInt8}, Int64),
                                   pointer(bad), length(bad), 1, pointer(err), length(err))
    @test h == -1
    @test occursin("ou_window", unsafe_string(pointer(err)))

    params = Float64[getfield(FAST, n) for n in KS.PARAM_NAMES]
    h = GC.@preserve params err ccall(create, Int64, (Ptr{Float64}, Int64, Int64, Ptr{UInt8}, Int64),
                                      pointer(params), length(params), 2, pointer(err), length(err))
    @test h > 0
    ticks = synthetic_ticks(3000)
    tick = Ref{KS.TickEntry}(); out = Ref{KS.SignalRecord}()
    n1 = run_cfunction!(on_tick, h, ticks, tick, out)
    # the same ticks through the Julia API give the same signal count and the same last signal
    signals, _ = KS.backtest(ticks, FAST)
    @test n1 == length(signals) > 0
    @test out[] == last(signals).record
    # zero allocation through the C pointer, measured on a second engine after the warm-up above
    h2 = GC.@preserve params err ccall(create, Int64, (Ptr{Float64}, Int64, Int64, Ptr{UInt8}, Int64),
                                       pointer(params), length(params), 1, pointer(err), length(err))
    @test alloc_cfunction(on_tick, h2, ticks, tick, out) == 0

    f = zeros(Float64, 19)
    @test GC.@preserve(f, ccall(feats, Int32, (Int64, UInt32, Ptr{Float64}), h, UInt32(0), pointer(f))) == 0
    snap = KS.features(KS.ENGINES[h], 0)
    @test isequal(f[1], snap.mid) && isequal(f[11], snap.kappa) && f[9] == snap.n_buckets
    @test isequal(f[16], snap.ou_b) && isequal(f[17], snap.vr) && isequal(f[18], snap.vol_ratio) &&
          f[19] == Float64(snap.regime)
    @test ccall(on_gap, Int32, (Int64, UInt32, UInt64), h, UInt32(0), UInt64(2)) == 0
    @test KS.ENGINES[h].states[1].ou.count == 0
    # errors are codes, never exceptions into C
    @test ccall(on_gap, Int32, (Int64, UInt32, UInt64), h, UInt32(2), UInt64(1)) == KS.ERR_BAD_SYMBOL
    @test ccall(on_tick, Int32, (Int64, Ptr{KS.TickEntry}, UInt32, UInt64, Ptr{KS.SignalRecord}),
                Int64(999), tick, UInt32(0), UInt64(0), out) == KS.ERR_BAD_HANDLE
    @test ccall(destroy, Int32, (Int64,), h) == 0
    @test ccall(destroy, Int32, (Int64,), h) == KS.ERR_BAD_HANDLE
    @test ccall(destroy, Int32, (Int64,), h2) == 0
    buf = zeros(UInt8, 256)
    @test GC.@preserve(buf, ccall(last_error, Int64, (Int64, Ptr{UInt8}, Int64), Int64(-5), pointer(buf), 256)) >= 0
end

# A function of its own, so the stack trace has a frame to name.
planted_strategy_failure(n) = n > 2 ? error("planted failure at tick $(n)") : n

@testset "entry-point errors carry Julia's message and stack trace" begin
    msg, trace = try
        planted_strategy_failure(3)
        ("", "")
    catch ex
        KS.error_report(ex, catch_backtrace())
    end
    @test msg == "planted failure at tick 3"
    @test occursin("planted_strategy_failure", trace)
    @test !startswith(trace, "Stacktrace:")
    # last_error hands both to C: message, NUL, trace, NUL
    params = Float64[getfield(FAST, n) for n in KS.PARAM_NAMES]
    err = zeros(UInt8, 64)
    table = zeros(UInt64, 8)
    GC.@preserve table KS.fill_entry_points!(pointer(table), length(table))
    create, last_error = Ptr{Cvoid}(UInt(table[3])), Ptr{Cvoid}(UInt(table[8]))
    h = GC.@preserve params err ccall(create, Int64, (Ptr{Float64}, Int64, Int64, Ptr{UInt8}, Int64),
                                      pointer(params), length(params), 1, pointer(err), length(err))
    try
        planted_strategy_failure(7)
    catch ex
        KS.record_error!(h, KS.ENGINES[h], ex, catch_backtrace())
    end
    buf = zeros(UInt8, 4096)
    n = GC.@preserve buf ccall(last_error, Int64, (Int64, Ptr{UInt8}, Int64), h, pointer(buf), length(buf))
    first_nul = findfirst(==(0x00), buf)
    @test String(buf[1:first_nul-1]) == "planted failure at tick 7"
    second = String(buf[first_nul+1:n])
    @test occursin("planted_strategy_failure", second)
    @test buf[n+1] == 0x00
    # a small buffer keeps the message whole and truncates nothing into it
    small = zeros(UInt8, 8)
    @test GC.@preserve(small, ccall(last_error, Int64, (Int64, Ptr{UInt8}, Int64), h, pointer(small), 8)) <= 7
    @test small[8] == 0x00
end

@testset "ring replay reads the region in place (unsafe_wrap)" begin
    cap = 4096
    ticks = synthetic_ticks(2500)
    n = length(ticks)
    @test n <= cap
    ring_stride = KS.kRingHeaderSize + cap * KS.kTickEntrySize
    sig_cap = 64
    symbols_off = KS.kRegionHeaderSize
    rings_off = symbols_off + 64
    sig_off = rings_off + ring_stride
    total = sig_off + KS.kRingHeaderSize + sig_cap * KS.kSignalRecordSize
    mem = zeros(UInt8, total)
    GC.@preserve mem begin
        base = pointer(mem)
        st(T, off, v) = unsafe_store!(Ptr{T}(base + off), T(v))
        st(UInt64, KS.kRegionMagicOffset, KS.kRegionMagic)
        st(UInt32, KS.kRegionVersionOffset, KS.kLayoutVersion)
        st(UInt32, KS.kRegionHeaderSizeOffset, KS.kRegionHeaderSize)
        st(UInt64, KS.kRegionSizeOffset, total)
        st(UInt32, KS.kRegionTickRingCountOffset, 1)
        st(UInt32, KS.kRegionTickCapacityOffset, cap)
        st(UInt32, KS.kRegionSignalCapacityOffset, sig_cap)
        st(UInt32, KS.kRegionTickRecordSizeOffset, KS.kTickEntrySize)
        st(UInt32, KS.kRegionSignalRecordSizeOffset, KS.kSignalRecordSize)
        st(UInt32, KS.kRegionRingHeaderSizeOffset, KS.kRingHeaderSize)
        st(UInt64, KS.kRegionSymbolsOffset, symbols_off)
        st(UInt64, KS.kRegionTickRingsOffset, rings_off)
        st(UInt64, KS.kRegionTickRingStrideOffset, ring_stride)
        st(UInt64, KS.kRegionSignalRingOffset, sig_off)
        for (off, c, rs, kind) in ((rings_off, cap, KS.kTickEntrySize, 0), (sig_off, sig_cap, KS.kSignalRecordSize, 1))
            st(UInt64, off + KS.kRingCapacityOffset, c)
            st(UInt64, off + KS.kRingMaskOffset, c - 1)
            st(UInt32, off + KS.kRingRecordSizeOffset, rs)
            st(UInt32, off + KS.kRingKindOffset, kind)
        end
        region = KS.Region(base)
        @test length(region.tick_rings) == 1
        ring = region.tick_rings[1]
        @test ring.capacity == cap
        @test pointer(ring.slots) == Ptr{KS.TickEntry}(base + rings_off + KS.kRingHeaderSize)
        @test region.signal_ring.capacity == sig_cap
        # producer side: write the ticks with their commit words (ring sequence + 1)
        for (i, t) in enumerate(ticks)
            ring.slots[i] = KS.TickEntry(t.ts_ns, t.venue_id, t.symbol_id, t.flags, t.bid, t.ask, t.bid_size,
                                         t.ask_size, UInt64(i), t.push_ns)
        end
        # the bytes went into the region itself
        @test unsafe_load(Ptr{Float64}(base + rings_off + KS.kRingHeaderSize + KS.kTickBidOffset)) == ticks[1].bid
        out = Vector{KS.SignalRecord}(undef, 256)
        e = KS.Engine(FAST, 1)
        nsig, next = KS.replay_ring!(e, ring, 0, UInt64(0), UInt64(n), out)
        @test next == n
        want, _ = KS.backtest(ticks, FAST)
        @test nsig == length(want) > 0
        @test out[1:nsig] == [w.record for w in want]
        # an overwritten slot is a gap: same result as a GAP-flagged tick at that index
        j = 1200
        ring.slots[j+1] = KS.TickEntry(0, 0x0000, 0x0000, UInt32(0), 0.0, 0.0, 0.0, 0.0, UInt64(j + 1 + cap), 0)
        gapped = copy(ticks)
        gapped[j+1] = KS.quote_tick(ticks[j+1].ts_ns, 1.0, 2.0, 1.0, 1.0; flags = KS.kFlagGap)
        e2 = KS.Engine(FAST, 1)
        nsig2, _ = KS.replay_ring!(e2, ring, 0, UInt64(0), UInt64(n), out)
        want2, _ = KS.backtest(gapped, FAST)
        @test nsig2 == length(want2)
        @test out[1:nsig2] == [w.record for w in want2]
        @test e2.states[1].resets == e.states[1].resets + 1
    end
    junk = zeros(UInt8, 512)
    GC.@preserve junk begin
        @test_throws KS.LayoutError KS.Region(pointer(junk))
    end
end

@testset "the sysimage precompile script runs (in its own module)" begin
    script = normpath(joinpath(REPO_ROOT, "sysimage", "precompile_execution.jl"))
    m = Module(:PrecompileScriptCheck)
    @test (Base.include(m, script); true)
end

end # testset
