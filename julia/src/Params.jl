# Strategy parameters: docs/STRATEGY.md "Parameters" (same names, same defaults, same order).

"""
    Params

Immutable, isbits: passed by value into every hot function, so reading a parameter never touches
the heap. Integers keep the C++ types' ranges (ns as Int64, counts as Int).
"""
struct Params
    strategy_id::UInt32
    ewma_lambda::Float64
    ofi_alpha::Float64
    vpin_bar_ns::Int64
    vpin_bucket_volume::Float64
    vpin_buckets::Int
    ou_dt_ns::Int64
    ou_window::Int
    z_entry::Float64
    z_high::Float64
    max_spread_bps::Float64
    vpin_max::Float64
    half_life_min_s::Float64
    half_life_max_s::Float64
    cooldown_ns::Int64
    min_confidence::Float64
    kelly_fraction::Float64
    capital::Float64
    max_size::Float64
    min_size::Float64
    min_fill_ratio::Float64
    ttl_ms::UInt32
    max_slippage_bps::Float64
    vr_lag::Int
    vr_trend::Float64
    vol_ratio_threshold::Float64
    vol_long_lambda::Float64
    trend_entries::Bool
end

"""Parameter names in declaration order: the order of the Float64 vector the addon passes."""
const PARAM_NAMES = fieldnames(Params)
const N_PARAMS = length(PARAM_NAMES)

const DEFAULT_PARAM_VALUES = (
    1.0,            # strategy_id
    0.94,           # ewma_lambda
    0.1,            # ofi_alpha
    1.0e9,          # vpin_bar_ns
    1.0,            # vpin_bucket_volume
    50.0,           # vpin_buckets
    1.0e8,          # ou_dt_ns
    300.0,          # ou_window
    2.0,            # z_entry
    3.0,            # z_high
    5.0,            # max_spread_bps
    0.8,            # vpin_max
    0.5,            # half_life_min_s
    120.0,          # half_life_max_s
    1.0e9,          # cooldown_ns
    0.3,            # min_confidence
    0.25,           # kelly_fraction
    100000.0,       # capital
    1.0,            # max_size
    0.0001,         # min_size
    0.5,            # min_fill_ratio
    50.0,           # ttl_ms
    10.0,           # max_slippage_bps
    10.0,           # vr_lag
    1.5,            # vr_trend
    2.0,            # vol_ratio_threshold
    0.995,          # vol_long_lambda
    0.0,            # trend_entries
)

"""Thrown for a parameter set the strategy cannot run with; the message names the parameter."""
struct ParamError <: Exception
    msg::String
end
Base.showerror(io::IO, e::ParamError) = print(io, "ParamError: ", e.msg)

function exact_integer(::Type{T}, name::Symbol, v::Float64) where {T<:Integer}
    (isfinite(v) && v == round(v) && typemin(T) <= v <= typemax(T)) ||
        throw(ParamError("$(name) = $(v) is not a $(T)"))
    return T(v)
end

"""
    params_from_values(values) -> Params

Builds and validates `Params` from numbers in `PARAM_NAMES` order (integers given as exact
Float64s, as the addon passes them).
"""
function params_from_values(values::AbstractVector{Float64})
    length(values) == N_PARAMS || throw(ParamError("expected $(N_PARAMS) parameters, got $(length(values))"))
    args = ntuple(N_PARAMS) do i
        T = fieldtype(Params, i)
        T <: Integer ? exact_integer(T, PARAM_NAMES[i], values[i]) : Float64(values[i])
    end
    p = Params(args...)
    validate(p)
    return p
end

default_params() = params_from_values(collect(Float64, DEFAULT_PARAM_VALUES))

"""
    params_with(overrides) -> Params

Defaults with `name => value` overrides (the golden `<case>.params.csv`). Unknown names are an error,
so a renamed parameter cannot be silently ignored.
"""
function params_with(overrides::AbstractVector{Pair{Symbol,Float64}})
    values = collect(Float64, DEFAULT_PARAM_VALUES)
    for (name, v) in overrides
        i = findfirst(==(name), PARAM_NAMES)
        i === nothing && throw(ParamError("unknown parameter $(name)"))
        values[i] = v
    end
    return params_from_values(values)
end

# The same rules, in the same order, as kestrel::validate_params (addon/src/strategy.cpp), so a
# parameter set is accepted or rejected identically by both engines.
function validate(p::Params)
    bad(name, why) = throw(ParamError("strategy parameter $(name) $(why)"))
    (p.ewma_lambda > 0 && p.ewma_lambda < 1) || bad("ewma_lambda", "must be in (0, 1)")
    (p.ofi_alpha > 0 && p.ofi_alpha <= 1) || bad("ofi_alpha", "must be in (0, 1]")
    p.vpin_bar_ns > 0 || bad("vpin_bar_ns", "must be > 0")
    (isfinite(p.vpin_bucket_volume) && p.vpin_bucket_volume > 0) || bad("vpin_bucket_volume", "must be > 0")
    (1 <= p.vpin_buckets <= 100000) || bad("vpin_buckets", "must be in 1..100000")
    p.ou_dt_ns > 0 || bad("ou_dt_ns", "must be > 0")
    (4 <= p.ou_window <= 1000000) || bad("ou_window", "must be in 4..1000000")
    (isfinite(p.z_entry) && p.z_entry > 0) || bad("z_entry", "must be > 0")
    (isfinite(p.z_high) && p.z_high >= p.z_entry) || bad("z_high", "must be >= z_entry")
    p.max_spread_bps > 0 || bad("max_spread_bps", "must be > 0")
    (p.vpin_max > 0 && p.vpin_max <= 1) || bad("vpin_max", "must be in (0, 1]")
    (isfinite(p.half_life_min_s) && p.half_life_min_s >= 0) || bad("half_life_min_s", "must be >= 0")
    p.half_life_max_s > p.half_life_min_s || bad("half_life_max_s", "must be > half_life_min_s")
    p.cooldown_ns >= 0 || bad("cooldown_ns", "must be >= 0")
    (p.min_confidence >= 0 && p.min_confidence <= 1) || bad("min_confidence", "must be in [0, 1]")
    (p.kelly_fraction > 0 && p.kelly_fraction <= 1) || bad("kelly_fraction", "must be in (0, 1]")
    (isfinite(p.capital) && p.capital > 0) || bad("capital", "must be > 0")
    (isfinite(p.max_size) && p.max_size > 0) || bad("max_size", "must be > 0")
    (isfinite(p.min_size) && p.min_size >= 0 && p.min_size <= p.max_size) || bad("min_size", "must be in [0, max_size]")
    (p.min_fill_ratio > 0 && p.min_fill_ratio <= 1) || bad("min_fill_ratio", "must be in (0, 1]")
    p.ttl_ms >= 1 || bad("ttl_ms", "must be >= 1")
    (isfinite(p.max_slippage_bps) && p.max_slippage_bps >= 0) || bad("max_slippage_bps", "must be >= 0")
    (2 <= p.vr_lag <= p.ou_window - 2) || bad("vr_lag", "must be in 2..ou_window-2")
    (isfinite(p.vr_trend) && p.vr_trend > 0) || bad("vr_trend", "must be > 0")
    (isfinite(p.vol_ratio_threshold) && p.vol_ratio_threshold > 0) || bad("vol_ratio_threshold", "must be > 0")
    (p.vol_long_lambda > 0 && p.vol_long_lambda < 1) || bad("vol_long_lambda", "must be in (0, 1)")
    return p
end
