"""
    KestrelStrategy

The Kestrel reference strategy in Julia: OFI / EWMA-volatility features, VPIN (bulk volume
classification), a rolling Ornstein–Uhlenbeck fit, confidence scoring and fractional Kelly sizing,
exactly as specified in docs/STRATEGY.md and implemented natively in addon/src/strategy.cpp.

Embedded in the Node addon through a PackageCompiler sysimage (sysimage/), called from one engine
thread through C function pointers (EntryPoints.jl). Standard library only.
"""
module KestrelStrategy

using LinearAlgebra: BLAS
using Random: Xoshiro

include("Layout.jl")
include("MathUtil.jl")
include("Params.jl")
include("Features.jl")
include("OU.jl")
include("VPIN.jl")
include("Kelly.jl")
include("Strategy.jl")
include("Engine.jl")
include("Rings.jl")
include("Backtest.jl")
include("EntryPoints.jl")

export Params, default_params, params_with, params_from_values, PARAM_NAMES
export TickEntry, SignalRecord, FeatureSnapshot, SymbolState, Engine
export on_tick!, reset!, snapshot, engine_tick!, engine_gap!, features
export fit_ou, ou_mle, OUFit, confidence, ou_kelly_fraction, kelly_discrete, kelly_growth, kelly_continuous
export backtest, quote_tick, trade_tick, IndexedSignal
export Region, TickRing, SignalRing, replay_ring!

function __init__()
    # Determinism and ownership of the one engine thread: BLAS must not start its own pool.
    BLAS.set_num_threads(1)
    return nothing
end

end # module
