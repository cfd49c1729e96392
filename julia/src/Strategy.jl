# The reference strategy, tick by tick: docs/STRATEGY.md (classification, quote update, trade
# update, signal evaluation). One SymbolState per symbol/ring; all buffers are allocated when the
# state is created, so `on_tick!` never allocates.

"""Per-symbol state. Everything the strategy remembers about one symbol."""
mutable struct SymbolState
    q::QuoteState
    ou::OUState
    vpin::VPINState
    last_quote_ts::Int64     # typemin(Int64) stands for -inf
    last_trade_ts::Int64
    has_signal::Bool
    last_signal_ts::Int64
    skipped::Int64           # tainted / invalid ticks seen (counted, never used)
    resets::Int64
    regime::UInt8            # kRegime* after the last clean quote (docs/STRATEGY.md "Regime")
end

SymbolState(p::Params) = SymbolState(QuoteState(), OUState(p.ou_window, p.vr_lag), VPINState(p.vpin_buckets),
                                     typemin(Int64), typemin(Int64), false, 0, 0, 0, kRegimeUnknown)

"""Features after the last processed tick, in the order of the golden `features.csv` columns."""
struct FeatureSnapshot
    mid::Float64
    spread::Float64
    spread_bps::Float64
    microprice::Float64
    ofi::Float64
    ofi_norm::Float64
    ewma_var::Float64
    vpin::Float64
    n_buckets::Int64
    ou_valid::Bool
    kappa::Float64
    mu::Float64
    sigma::Float64
    half_life::Float64
    zscore::Float64
    ou_b::Float64
    vr::Float64
    vol_ratio::Float64
    regime::UInt8
end

function snapshot(s::SymbolState)
    q = s.q
    f = s.ou.fit
    return FeatureSnapshot(q.mid, q.spread, q.spread_bps, q.microprice, q.ofi, ofi_norm(q), q.ewma_var,
                           s.vpin.vpin, s.vpin.n_buckets, f.valid, f.kappa, f.mu, f.sigma, f.half_life,
                           s.ou.zscore, f.b, s.ou.vr, q.vol_ratio, s.regime)
end

"""
    reset!(s)

After a GAP or RESYNC flag, or missed ring sequences: forget the previous quote, empty the OU window and drop
the VPIN bar in progress. EWMAs, VPIN buckets, bar-return moments and the cooldown are kept, so
no signal can fire until a full clean OU window has been collected again.
"""
function reset!(s::SymbolState)
    s.q.has_prev = false
    ou_clear!(s.ou)
    s.ou.zscore = NaN
    s.regime = kRegimeUnknown
    vpin_drop_bar!(s.vpin)
    s.resets += 1
    return nothing
end

const NO_SIGNAL = SignalRecord(0, 0, 0, 0, 0, 0, 0, 0, kEngineJulia, 0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0, 0, 0, 0)

@inline function clean_quote(t::TickEntry)
    bid = t.bid; ask = t.ask; bsz = t.bid_size; asz = t.ask_size
    isfinite(bid) && isfinite(ask) && isfinite(bsz) && isfinite(asz) || return false
    bid > 0.0 && ask > 0.0 && bid < ask || return false
    bsz >= 0.0 && asz >= 0.0 || return false
    return true
end

@inline function clean_trade(t::TickEntry)
    price = t.bid; qty = t.bid_size
    isfinite(price) && isfinite(qty) || return false
    return price > 0.0 && qty > 0.0
end

"""
    on_tick!(s, p, t, seq, symbol) -> (emitted::Bool, record::SignalRecord)

Processes one tick. `seq` is the ring sequence of the tick (the 0-based input index in golden
replays) and becomes the signal's `trace_lo` / `source_seq`. Returns the signal by value (isbits,
no heap); the record's `sequence` and time stamps other than the tick's are left for the sink.
"""
function on_tick!(s::SymbolState, p::Params, t::TickEntry, seq::UInt64, symbol::UInt16)
    flags = t.flags
    if flags & kResetMask != 0
        reset!(s)
        s.skipped += 1
        return (false, NO_SIGNAL)
    end
    ts = t.ts_ns
    if flags & kTaintMask != 0 || ts < 0
        s.skipped += 1
        return (false, NO_SIGNAL)
    end
    if flags & kFlagTrade == 0
        if !clean_quote(t) || ts < s.last_quote_ts
            s.skipped += 1
            return (false, NO_SIGNAL)
        end
        return quote_update!(s, p, t, seq, symbol)
    else
        if !clean_trade(t) || ts < s.last_trade_ts
            s.skipped += 1
            return (false, NO_SIGNAL)
        end
        vpin_trade!(s.vpin, p, t.bid, t.bid_size, ts)
        s.last_trade_ts = ts
        return (false, NO_SIGNAL)
    end
end

function quote_update!(s::SymbolState, p::Params, t::TickEntry, seq::UInt64, symbol::UInt16)
    q = s.q
    bid = t.bid; ask = t.ask; bsz = t.bid_size; asz = t.ask_size; ts = t.ts_ns
    had_prev = q.has_prev
    prev_mid = q.prev_mid
    prev_ts = q.prev_ts
    mid = quote_features!(q, p, bid, ask, bsz, asz)
    if had_prev
        ou_samples!(s.ou, p, prev_mid, prev_ts, ts)
    end
    s.last_quote_ts = ts
    commit_quote!(q, bid, ask, bsz, asz, mid, ts)
    z = ou_zscore(s.ou.fit, mid)
    s.ou.zscore = z
    s.regime = classify_regime(s, p)
    return evaluate_signal!(s, p, t, seq, symbol, mid, z)
end

"""
    classify_regime(s, p) -> UInt8

docs/STRATEGY.md "Regime": UNKNOWN until the OU window is full and `ou_window` returns were seen;
then HIGH_VOL if the short/long EWMA volatility ratio exceeds `vol_ratio_threshold`, else TRENDING
if the variance ratio exceeds `vr_trend` or the AR(1) slope is >= 1, else MEAN_REVERTING.
"""
@inline function classify_regime(s::SymbolState, p::Params)
    (s.ou.count < p.ou_window || s.q.n_ret < p.ou_window) && return kRegimeUnknown
    s.q.vol_ratio > p.vol_ratio_threshold && return kRegimeHighVol
    (s.ou.vr > p.vr_trend || s.ou.fit.b >= 1.0) && return kRegimeTrending
    return kRegimeMeanReverting
end

"""Signal evaluation after a clean quote: the gates, confidence, fractional Kelly size."""
function evaluate_signal!(s::SymbolState, p::Params, t::TickEntry, seq::UInt64, symbol::UInt16,
                          mid::Float64, z::Float64)
    f = s.ou.fit
    f.valid || return (false, NO_SIGNAL)
    abs(z) < p.z_entry && return (false, NO_SIGNAL)
    s.q.spread_bps > p.max_spread_bps && return (false, NO_SIGNAL)
    (f.half_life < p.half_life_min_s || f.half_life > p.half_life_max_s) && return (false, NO_SIGNAL)
    vpin = s.vpin.vpin
    (!isnan(vpin) && vpin > p.vpin_max) && return (false, NO_SIGNAL)
    ts = t.ts_ns
    (s.has_signal && ts - s.last_signal_ts < p.cooldown_ns) && return (false, NO_SIGNAL)
    (!p.trend_entries && (s.regime == kRegimeTrending || s.regime == kRegimeHighVol)) &&
        return (false, NO_SIGNAL)
    side = z > 0 ? kSideSell : kSideBuy
    conf = confidence(z, vpin, ofi_norm(s.q))
    conf < p.min_confidence && return (false, NO_SIGNAL)
    f_star = ou_kelly_fraction(mid, f.mu, f.sigma, f.kappa)
    # NaN (degenerate fit) must not size at the cap; f* > 1 would be leverage: a spot stake is <= 1.
    !(f_star > 0.0) && return (false, NO_SIGNAL)
    frac = (p.kelly_fraction * conf) * min_cap(1.0, f_star)
    size = min_cap(p.max_size, (frac * p.capital) / mid)
    !(size >= p.min_size) && return (false, NO_SIGNAL)
    urgency = abs(z) >= p.z_high ? kUrgencyHigh : (conf < 0.5 ? kUrgencyLow : kUrgencyNormal)
    s.has_signal = true
    s.last_signal_ts = ts
    trace_hi = (UInt64(p.strategy_id) << 32) | UInt64(symbol)
    rec = SignalRecord(
        UInt64(0),                 # sequence: stamped by the sink
        trace_hi,
        seq,                       # trace_lo: source sequence
        p.strategy_id,
        symbol,
        t.venue_id,
        side,
        urgency,
        kEngineJulia,
        s.regime,
        p.ttl_ms,
        size,
        conf,
        p.max_slippage_bps,
        size * p.min_fill_ratio,
        mid,
        z,
        seq,
        t.ts_ns,
        t.push_ns,
        Int64(0),                  # engine_pop_ns: set by the engine adapter
        Int64(0),                  # signal_ns: stamped by the sink
    )
    return (true, rec)
end
