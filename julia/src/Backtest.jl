# Offline runs over a vector of ticks: what researchers call from the REPL, and what the golden
# tests use. Same code path as the live engine (engine_tick!), so a backtest here is a replay of
# exactly what the addon would do with the same ticks and parameters.

"""A signal with the index of the tick that produced it."""
struct IndexedSignal
    index::Int          # 0-based tick index
    record::SignalRecord
end

"""
    backtest(ticks, params; record_features = i -> false) -> (signals, features)

Runs one symbol's ticks through a fresh engine. `ticks[i]` gets sequence `i - 1` (the golden
convention: trace_lo = 0-based input index). `features` holds `(index, FeatureSnapshot)` after
each tick for which `record_features(index)` is true (and after every signal).
"""
function backtest(ticks::AbstractVector{TickEntry}, p::Params; record_features::F = i -> false) where {F}
    e = Engine(p, 1)
    signals = IndexedSignal[]
    feats = Tuple{Int,FeatureSnapshot}[]
    for (k, t) in enumerate(ticks)
        idx = k - 1
        emitted, rec = engine_tick!(e, t, 0, UInt64(idx))
        emitted && push!(signals, IndexedSignal(idx, rec))
        if emitted || record_features(idx)
            push!(feats, (idx, features(e, 0)))
        end
    end
    return (signals, feats)
end

"""Builds a quote tick (convenience for notebooks and tests); `flags` adds quality bits."""
quote_tick(ts::Int64, bid::Float64, ask::Float64, bsz::Float64, asz::Float64; flags::UInt32 = UInt32(0)) =
    TickEntry(ts, 0x0000, 0x0000, flags, bid, ask, bsz, asz, 0, 0)

"""Builds a trade tick: price in bid/ask, quantity in bid_size."""
trade_tick(ts::Int64, price::Float64, qty::Float64; buyer_aggressor::Bool = false) =
    TickEntry(ts, 0x0000, 0x0000, kFlagTrade | (buyer_aggressor ? kFlagBuyAggressor : UInt32(0)),
              price, price, qty, 0.0, 0, 0)
