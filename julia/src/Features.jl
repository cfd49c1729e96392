# Quote-side microstructure features: docs/STRATEGY.md "Quote update".

"""
    QuoteState

Previous clean quote, the features of the last clean quote, and the order-flow / volatility EWMAs.
Mutable with only isbits fields: updating a field writes in place, never allocates.
"""
mutable struct QuoteState
    has_prev::Bool
    prev_bid::Float64
    prev_ask::Float64
    prev_bid_size::Float64
    prev_ask_size::Float64
    prev_mid::Float64
    prev_ts::Int64
    # features of the last clean quote (NaN before the first)
    mid::Float64
    spread::Float64
    spread_bps::Float64
    microprice::Float64
    # EWMAs (kept across resets)
    ofi::Float64
    ofi_abs::Float64
    ewma_var::Float64
    n_ret::Int64
    # regime: long EWMA variance and the short/long volatility ratio
    ewma_var_long::Float64
    vol_ratio::Float64
end

QuoteState() = QuoteState(false, NaN, NaN, NaN, NaN, NaN, 0, NaN, NaN, NaN, NaN, 0.0, 0.0, NaN, 0, NaN, NaN)

"""
    ofi_increment(bid, ask, bsz, asz, pbid, pask, pbs, pas)

Order-flow imbalance of one quote update (Cont, Kukanov & Stoikov 2014), term order as specified.
"""
@inline function ofi_increment(bid::Float64, ask::Float64, bsz::Float64, asz::Float64,
                               pbid::Float64, pask::Float64, pbs::Float64, pas::Float64)
    e = (bid >= pbid ? bsz : 0.0) - (bid <= pbid ? pbs : 0.0)
    e = e - (ask <= pask ? asz : 0.0)
    e = e + (ask >= pask ? pas : 0.0)
    return e
end

"""Microprice: size-weighted toward the side with less resting size; the mid when both are empty."""
@inline function microprice(bid::Float64, ask::Float64, bsz::Float64, asz::Float64, mid::Float64)
    tot = bsz + asz
    return tot > 0.0 ? (bid * asz + ask * bsz) / tot : mid
end

"""Normalised OFI in [-1, 1]: `ofi / ofi_abs`, 0 before any flow."""
@inline ofi_norm(q::QuoteState) = q.ofi_abs > 0.0 ? q.ofi / q.ofi_abs : 0.0

"""EWMA volatility of log mid returns (NaN before the first return)."""
@inline ewma_vol(q::QuoteState) = sqrt(q.ewma_var)

"""
    quote_features!(q, p, bid, ask, bsz, asz, ts) -> mid

Steps 1 (OFI) and 2 (EWMA variance) of the quote update, plus the per-quote features. Step 3 (OU
samples) needs the previous quote too, so the caller runs it before `commit_quote!`.
"""
@inline function quote_features!(q::QuoteState, p::Params, bid::Float64, ask::Float64,
                                 bsz::Float64, asz::Float64)
    mid = (bid + ask) * 0.5
    if q.has_prev
        e = ofi_increment(bid, ask, bsz, asz, q.prev_bid, q.prev_ask, q.prev_bid_size, q.prev_ask_size)
        q.ofi = (1 - p.ofi_alpha) * q.ofi + p.ofi_alpha * e
        q.ofi_abs = (1 - p.ofi_alpha) * q.ofi_abs + p.ofi_alpha * abs(e)
        r = log(mid / q.prev_mid)
        q.ewma_var = q.n_ret == 0 ? r * r : p.ewma_lambda * q.ewma_var + (1 - p.ewma_lambda) * (r * r)
        q.ewma_var_long = q.n_ret == 0 ? r * r :
            p.vol_long_lambda * q.ewma_var_long + (1 - p.vol_long_lambda) * (r * r)
        q.vol_ratio = q.ewma_var_long > 0.0 ? sqrt(q.ewma_var / q.ewma_var_long) : NaN
        q.n_ret += 1
    end
    q.mid = mid
    q.spread = ask - bid
    q.spread_bps = (ask - bid) / mid * 1e4
    q.microprice = microprice(bid, ask, bsz, asz, mid)
    return mid
end

"""Remembers this quote as the previous one (end of the quote update)."""
@inline function commit_quote!(q::QuoteState, bid::Float64, ask::Float64, bsz::Float64, asz::Float64,
                               mid::Float64, ts::Int64)
    q.has_prev = true
    q.prev_bid = bid
    q.prev_ask = ask
    q.prev_bid_size = bsz
    q.prev_ask_size = asz
    q.prev_mid = mid
    q.prev_ts = ts
    return nothing
end
