# VPIN with bulk volume classification: docs/STRATEGY.md "Trade update" (the online form of
# Easley, López de Prado & O'Hara as implemented in PINstimation, REFERENCE_VALUES.md).

"""
    VPINState

Current time bar, Welford moments of closed-bar price changes, the bucket being filled, and a
ring of the last `n` bucket order imbalances (allocated once).
"""
mutable struct VPINState
    has_bar::Bool
    bar_idx::Int64
    bar_first::Float64
    bar_last::Float64
    bar_vol::Float64
    # Welford over closed-bar dp (expanding; kept across resets)
    nb::Int64
    wmean::Float64
    wm2::Float64
    # bucket in progress
    bkt_vol::Float64
    bkt_buy::Float64
    bkt_sell::Float64
    # last n bucket imbalances |buy - sell|, oldest at oi_head
    oi::Vector{Float64}
    oi_head::Int
    oi_count::Int
    n_buckets::Int64
    vpin::Float64
end

VPINState(n::Int) = VPINState(false, 0, NaN, NaN, 0.0, 0, 0.0, 0.0, 0.0, 0.0, 0.0,
                              Vector{Float64}(undef, n), 1, 0, 0, NaN)

"""Bulk volume classification: the buy share of a bar whose price moved `dp` (Φ(dp/σ))."""
@inline function bvc_buy_fraction(v::VPINState, dp::Float64)
    sd = v.nb >= 2 ? sqrt(v.wm2 / (v.nb - 1)) : 0.0
    z = sd > 0.0 ? dp / sd : 0.0
    return normal_cdf(z)
end

@inline function push_imbalance!(v::VPINState, x::Float64)
    n = length(v.oi)
    if v.oi_count < n
        i = v.oi_head + v.oi_count
        i > n && (i -= n)
        @inbounds v.oi[i] = x
        v.oi_count += 1
    else
        @inbounds v.oi[v.oi_head] = x
        v.oi_head = v.oi_head == n ? 1 : v.oi_head + 1
    end
    return nothing
end

# Sum of the window oldest first, divided by n * VBS.
@inline function vpin_value(v::VPINState, vbs::Float64)
    n = length(v.oi)
    acc = 0.0
    for k in 0:n-1
        j = v.oi_head + k
        j > n && (j -= n)
        acc += @inbounds v.oi[j]
    end
    return acc / (n * vbs)
end

# 2^53: below it a bucket count is an exact Float64 and `vol - k * vbs` is meaningful.
const EXACT_BUCKETS = 9007199254740992.0

"""
Records `count` completed buckets of imbalance `oi` (only the last n are kept, so at most n ring
writes), empties the bucket in progress and refreshes VPIN.
"""
function push_buckets!(v::VPINState, p::Params, oi::Float64, count::Float64)
    n = length(v.oi)
    writes = count >= n ? n : Int(count)
    for _ in 1:writes
        push_imbalance!(v, oi)
    end
    # Saturating at typemax(Int64): far beyond any meaningful volume, never a wrap.
    c = count >= 9223372036854775808.0 ? typemax(Int64) : unsafe_trunc(Int64, count)
    v.n_buckets = c > typemax(Int64) - v.n_buckets ? typemax(Int64) : v.n_buckets + c
    v.bkt_vol = 0.0
    v.bkt_buy = 0.0
    v.bkt_sell = 0.0
    if v.n_buckets >= p.vpin_buckets
        v.vpin = vpin_value(v, p.vpin_bucket_volume)
    end
    return nothing
end

"""
Closes the current bar: classifies its volume and pours it into volume buckets. Whole buckets are
filled in closed form, so the work is bounded by the window n whatever the bar's volume.
"""
function close_bar!(v::VPINState, p::Params)
    v.has_bar = false
    dp = v.bar_last - v.bar_first
    v.nb += 1
    d = dp - v.wmean
    v.wmean = v.wmean + d / v.nb
    v.wm2 = v.wm2 + d * (dp - v.wmean)
    phi = bvc_buy_fraction(v, dp)
    vol = v.bar_vol
    vbs = p.vpin_bucket_volume
    vol > 0.0 || return nothing
    # 1. Top up the bucket in progress.
    room = vbs - v.bkt_vol
    if vol < room
        v.bkt_buy = v.bkt_buy + vol * phi
        v.bkt_sell = v.bkt_sell + vol * (1 - phi)
        v.bkt_vol = v.bkt_vol + vol
        return nothing
    end
    v.bkt_buy = v.bkt_buy + room * phi
    v.bkt_sell = v.bkt_sell + room * (1 - phi)
    push_buckets!(v, p, abs(v.bkt_buy - v.bkt_sell), 1.0)
    vol = vol - room
    # 2. Whole buckets at once: each holds exactly VBS at the same phi, hence the same imbalance.
    k = floor(vol / vbs)
    rem = 0.0
    if k < EXACT_BUCKETS
        rem = vol - k * vbs
        # floor(vol / vbs) can be one off at a bucket boundary: settle on 0 <= rem < VBS.
        if rem >= vbs
            k = k + 1
            rem = rem - vbs
        elseif rem < 0.0
            k = k - 1
            rem = rem + vbs
        end
    end
    # (k >= 2^53 or infinite: the remainder is below the volume's own precision and is dropped.)
    if k > 0.0
        push_buckets!(v, p, abs(vbs * phi - vbs * (1 - phi)), k)
    end
    # 3. The remainder starts the next bucket.
    if rem > 0.0
        v.bkt_buy = rem * phi
        v.bkt_sell = rem * (1 - phi)
        v.bkt_vol = rem
    end
    return nothing
end

"""Trade update: adds one clean trade (price, qty) at `ts` to its time bar."""
@inline function vpin_trade!(v::VPINState, p::Params, price::Float64, qty::Float64, ts::Int64)
    idx = div(ts, p.vpin_bar_ns)
    if v.has_bar && idx != v.bar_idx
        close_bar!(v, p)
    end
    if !v.has_bar
        v.has_bar = true
        v.bar_idx = idx
        v.bar_first = price
        v.bar_vol = 0.0
    end
    v.bar_last = price
    v.bar_vol = v.bar_vol + qty
    return nothing
end

"""Discards the bar in progress (reset after a gap); buckets and moments are kept."""
@inline vpin_drop_bar!(v::VPINState) = (v.has_bar = false; nothing)
