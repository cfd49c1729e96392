# One engine instance: parameters, one SymbolState per tick ring, a seeded RNG.

"""
    Engine

What the addon's engine thread drives through the C entry points (EntryPoints.jl). `rng` is the
only randomness a strategy may use: seeded from the strategy id, never from the clock, so a replay
of the same ticks with the same parameters takes the same decisions.
"""
mutable struct Engine
    params::Params
    states::Vector{SymbolState}
    rng::Xoshiro
    ticks::Int64
    signals::Int64
    last_error::String
end

const RNG_SEED_BASE = 0x4b45535452454c00  # "KESTREL\0"

function Engine(p::Params, nsymbols::Integer)
    1 <= nsymbols <= Int(kMaxTickRings) ||
        throw(ParamError("symbols = $(nsymbols) must be in 1:$(Int(kMaxTickRings))"))
    states = [SymbolState(p) for _ in 1:nsymbols]
    return Engine(p, states, Xoshiro(xor(RNG_SEED_BASE, UInt64(p.strategy_id))), 0, 0, "")
end

"""Processes one tick of `symbol` (0-based ring index) with ring sequence `seq`."""
@inline function engine_tick!(e::Engine, t::TickEntry, symbol::Int, seq::UInt64)
    s = @inbounds e.states[symbol+1]
    e.ticks += 1
    emitted, rec = on_tick!(s, e.params, t, seq, UInt16(symbol))
    emitted && (e.signals += 1)
    return (emitted, rec)
end

"""The consumer missed `missed` sequences of `symbol`: same effect as a GAP-flagged tick."""
function engine_gap!(e::Engine, symbol::Int, missed::UInt64)
    missed > 0 && reset!(@inbounds e.states[symbol+1])
    return nothing
end

features(e::Engine, symbol::Int) = snapshot(@inbounds e.states[symbol+1])
