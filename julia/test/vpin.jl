# VPIN: streaming equals the batch bucket definition; bounded bucket fill.

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
