# Ornstein–Uhlenbeck mean reversion: docs/STRATEGY.md "OU fit" and "Quote update" step 3.

"""Result of one OU fit; every float NaN when `valid` is false."""
struct OUFit
    valid::Bool
    kappa::Float64
    mu::Float64
    sigma::Float64
    half_life::Float64
    sigma_eq::Float64
    b::Float64           # AR(1) slope of the fit; NaN when den <= 0, kept when the fit is invalid
end

const OU_INVALID = OUFit(false, NaN, NaN, NaN, NaN, NaN, NaN)

"""
    OUState

Rolling window of the last `W` grid samples (a ring buffer allocated once), and the latest fit.
"""
mutable struct OUState
    buf::Vector{Float64}
    head::Int            # 1-based index of the oldest sample
    count::Int           # samples held, <= W
    fit::OUFit
    zscore::Float64      # of the last clean quote against the fit current at that quote
    # regime: rolling sums of the 1-step and lag-step differences inside the window, and the VR
    lag::Int
    vr_s1::Float64
    vr_s2::Float64
    vr_k1::Float64
    vr_k2::Float64
    vr::Float64
end

OUState(window::Int, lag::Int) = OUState(Vector{Float64}(undef, window), 1, 0, OU_INVALID, NaN,
                                         lag, 0.0, 0.0, 0.0, 0.0, NaN)

"""
Appends one sample, dropping the oldest when the window is full, and keeps the variance-ratio sums
(docs/STRATEGY.md "Regime") in the same order of operations as the native engine.
"""
@inline function ou_push!(s::OUState, x::Float64)
    W = length(s.buf)
    L = s.lag
    buf = s.buf
    if s.count < W
        c = s.count
        if c >= 1
            d = x - ou_at(buf, s.head, c - 1)
            s.vr_s1 = s.vr_s1 + d
            s.vr_s2 = s.vr_s2 + d * d
        end
        if c >= L
            d = x - ou_at(buf, s.head, c - L)
            s.vr_k1 = s.vr_k1 + d
            s.vr_k2 = s.vr_k2 + d * d
        end
        i = s.head + c
        i > W && (i -= W)
        @inbounds buf[i] = x
        s.count += 1
    else
        o = @inbounds buf[s.head]
        d1o = ou_at(buf, s.head, 1) - o
        dko = ou_at(buf, s.head, L) - o
        d1n = x - ou_at(buf, s.head, W - 1)
        dkn = x - ou_at(buf, s.head, W - L)
        s.vr_s1 = (s.vr_s1 - d1o) + d1n
        s.vr_s2 = (s.vr_s2 - d1o * d1o) + d1n * d1n
        s.vr_k1 = (s.vr_k1 - dko) + dkn
        s.vr_k2 = (s.vr_k2 - dko * dko) + dkn * dkn
        @inbounds buf[s.head] = x
        s.head = s.head == W ? 1 : s.head + 1
        # once per window turn the sums are rebuilt exactly (no accumulated add/remove rounding)
        s.head == 1 && vr_recompute!(s)
    end
    return nothing
end

"""Rebuilds the variance-ratio sums from the window, oldest first."""
function vr_recompute!(s::OUState)
    W = length(s.buf)
    L = s.lag
    a1 = 0.0; a2 = 0.0; b1 = 0.0; b2 = 0.0
    for i in 0:W-2
        d = ou_at(s.buf, s.head, i + 1) - ou_at(s.buf, s.head, i)
        a1 += d
        a2 += d * d
    end
    for i in 0:W-1-L
        d = ou_at(s.buf, s.head, i + L) - ou_at(s.buf, s.head, i)
        b1 += d
        b2 += d * d
    end
    s.vr_s1 = a1; s.vr_s2 = a2; s.vr_k1 = b1; s.vr_k2 = b2
    return nothing
end

"""Variance ratio of the full window: var(lag-L differences) / (L * var(1-step differences))."""
@inline function variance_ratio(s::OUState)
    W = length(s.buf)
    L = s.lag
    n1 = Float64(W - 1)
    nk = Float64(W - L)
    var1 = (s.vr_s2 - s.vr_s1 * s.vr_s1 / n1) / (n1 - 1)
    vark = (s.vr_k2 - s.vr_k1 * s.vr_k1 / nk) / (nk - 1)
    return var1 > 0.0 ? vark / (Float64(L) * var1) : NaN
end

"""Empties the window and invalidates the fit (reset after a gap)."""
@inline function ou_clear!(s::OUState)
    s.head = 1
    s.count = 0
    s.fit = OU_INVALID
    s.vr_s1 = 0.0; s.vr_s2 = 0.0; s.vr_k1 = 0.0; s.vr_k2 = 0.0
    s.vr = NaN
    return nothing
end

# i-th sample (0-based, oldest first) of a window that starts at 1-based `first` in `buf`.
@inline function ou_at(buf::AbstractVector{Float64}, first::Int, i::Int)
    j = first + i
    W = length(buf)
    j > W && (j -= W)
    return @inbounds buf[j]
end

"""
    fit_ou(buf, first, dt) -> OUFit

Least-squares AR(1) fit `s[i+1] = a + b*s[i]` on the window held in `buf` starting at `first`
(oldest first, wrapping), mapped to continuous-time OU parameters with sampling step `dt` seconds.
Centred on the window mean; sums accumulate oldest first, as specified.
"""
function fit_ou(buf::AbstractVector{Float64}, first::Int, dt::Float64)
    W = length(buf)
    acc = 0.0
    for i in 0:W-1
        acc += ou_at(buf, first, i)
    end
    m = acc / W
    n = W - 1
    Sx = 0.0; Sy = 0.0; Sxx = 0.0; Sxy = 0.0
    for i in 0:n-1
        x = ou_at(buf, first, i) - m
        y = ou_at(buf, first, i + 1) - m
        Sx += x
        Sy += y
        Sxx += x * x
        Sxy += x * y
    end
    den = n * Sxx - Sx * Sx
    den > 0.0 || return OU_INVALID
    b = (n * Sxy - Sx * Sy) / den
    a = (Sy - b * Sx) / n
    sse = 0.0
    for i in 0:n-1
        x = ou_at(buf, first, i) - m
        y = ou_at(buf, first, i + 1) - m
        e = (y - a) - b * x
        sse += e * e
    end
    (0.0 < b < 1.0 && sse > 0.0 && n > 2) || return OUFit(false, NaN, NaN, NaN, NaN, NaN, b)
    kappa = -log(b) / dt
    mu = m + a / (1 - b)
    sd = sqrt(sse / (n - 2))
    sigma = sd * sqrt(-2 * log(b) / (dt * (1 - b * b)))
    half_life = LN2 / kappa
    sigma_eq = sigma / sqrt(2 * kappa)
    return OUFit(true, kappa, mu, sigma, half_life, sigma_eq, b)
end

"""Fit on a plain vector (oldest first), e.g. the sitmo reference path."""
fit_ou(s::AbstractVector{Float64}, dt::Float64) = fit_ou(s, 1, dt)

"""
    ou_samples!(s, p, prev_mid, prev_ts, ts)

Grid points `g = j*ou_dt_ns` with `prev_ts < g <= ts` take the previous mid (at most W of them);
refits when at least one sample arrived and the window is full.
"""
@inline function ou_samples!(s::OUState, p::Params, prev_mid::Float64, prev_ts::Int64, ts::Int64)
    k = div(ts, p.ou_dt_ns) - div(prev_ts, p.ou_dt_ns)
    W = length(s.buf)
    reps = k < W ? k : W
    for _ in 1:reps
        ou_push!(s, prev_mid)
    end
    if k > 0 && s.count == W
        s.fit = fit_ou(s.buf, s.head, p.ou_dt_ns / 1e9)
        s.vr = variance_ratio(s)
    end
    return nothing
end

"""z-score of `mid` against the current fit (NaN without a valid fit)."""
@inline ou_zscore(f::OUFit, mid::Float64) = f.valid ? (mid - f.mu) / f.sigma_eq : NaN

"""
    ou_mle(S, dt) -> (kappa, mu, sigma)

Exact maximum-likelihood OU estimates in closed form (van den Berg, sitmo; REFERENCE_VALUES.md).
Not used by the trading path; kept as the estimator researchers compare the LS fit against.
"""
function ou_mle(S::AbstractVector{Float64}, dt::Float64)
    n = length(S) - 1
    Sx = 0.0; Sy = 0.0; Sxx = 0.0; Sxy = 0.0; Syy = 0.0
    for i in 1:n
        x = S[i]; y = S[i+1]
        Sx += x; Sy += y; Sxx += x * x; Sxy += x * y; Syy += y * y
    end
    mu = (Sy * Sxx - Sx * Sxy) / (n * (Sxx - Sxy) - (Sx * Sx - Sx * Sy))
    kappa = -(1 / dt) * log((Sxy - mu * Sx - mu * Sy + n * mu * mu) / (Sxx - 2 * mu * Sx + n * mu * mu))
    alpha = exp(-kappa * dt)
    s2 = (Syy - 2 * alpha * Sxy + alpha * alpha * Sxx - 2 * mu * (1 - alpha) * (Sy - alpha * Sx) +
          n * mu * mu * (1 - alpha) * (1 - alpha)) / n
    sigma = sqrt(s2 * 2 * kappa / (1 - alpha * alpha))
    return (kappa, mu, sigma)
end
