# Ornstein-Uhlenbeck fit: reference values, rejection of non-mean-reverting windows, the sampler.

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
