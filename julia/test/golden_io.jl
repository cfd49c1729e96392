# Reading the shared golden vectors (test/golden/, docs/STRATEGY.md "Golden vectors") with the
# standard library only: the files are CSV with one header line and numbers printed with %.17g.

const GOLDEN_DIR = normpath(joinpath(@__DIR__, "..", "..", "test", "golden"))

struct CsvTable
    header::Vector{String}
    rows::Vector{Vector{String}}
end

function read_csv(path::AbstractString)
    isfile(path) || error("golden file missing: $(path)")
    lines = filter(l -> !isempty(strip(l)), readlines(path))
    isempty(lines) && error("empty CSV: $(path)")
    header = String.(split(lines[1], ','))
    rows = [String.(split(l, ',')) for l in lines[2:end]]
    for (k, r) in enumerate(rows)
        length(r) == length(header) || error("$(path):$(k + 1): $(length(r)) fields, header has $(length(header))")
    end
    return CsvTable(header, rows)
end

function column(t::CsvTable, name::AbstractString)
    i = findfirst(==(name), t.header)
    i === nothing && error("column $(name) not in $(t.header)")
    return i
end

"""Parses a %.17g float as C prints it, including nan/-nan/inf spelled in any case."""
function parse_float(s::AbstractString)
    l = lowercase(strip(s))
    (l == "nan" || l == "-nan" || l == "+nan") && return NaN
    (l == "inf" || l == "+inf" || l == "infinity") && return Inf
    (l == "-inf" || l == "-infinity") && return -Inf
    return parse(Float64, l)
end

parse_int(::Type{T}, s::AbstractString) where {T<:Integer} = parse(T, strip(s))

"""Golden case names: every `<name>.ticks.csv` in the golden directory."""
function golden_cases()
    isdir(GOLDEN_DIR) || return String[]
    names = String[]
    for f in readdir(GOLDEN_DIR)
        endswith(f, ".ticks.csv") && push!(names, f[1:end-length(".ticks.csv")])
    end
    return sort(names)
end

function read_ticks(name::AbstractString)
    t = read_csv(joinpath(GOLDEN_DIR, name * ".ticks.csv"))
    ci = column(t, "index"); cts = column(t, "ts_ns"); cf = column(t, "flags")
    cb = column(t, "bid"); ca = column(t, "ask"); cbs = column(t, "bid_size"); cas = column(t, "ask_size")
    ticks = Vector{KestrelStrategy.TickEntry}(undef, length(t.rows))
    for (k, r) in enumerate(t.rows)
        parse_int(Int, r[ci]) == k - 1 || error("$(name).ticks.csv: row $(k) has index $(r[ci])")
        ticks[k] = KestrelStrategy.TickEntry(parse_int(Int64, r[cts]), 0x0000, 0x0000, parse_int(UInt32, r[cf]),
                                             parse_float(r[cb]), parse_float(r[ca]), parse_float(r[cbs]),
                                             parse_float(r[cas]), UInt64(k), Int64(0))
    end
    return ticks
end

function read_params(name::AbstractString)
    t = read_csv(joinpath(GOLDEN_DIR, name * ".params.csv"))
    cn = column(t, "name"); cv = column(t, "value")
    return Pair{Symbol,Float64}[Symbol(strip(r[cn])) => parse_float(r[cv]) for r in t.rows]
end

const FEATURE_COLUMNS = ("mid", "spread", "spread_bps", "microprice", "ofi", "ofi_norm", "ewma_var", "vpin",
                         "n_buckets", "ou_valid", "kappa", "mu", "sigma", "half_life", "zscore",
                         "ou_b", "vr", "vol_ratio", "regime")

"""Rows of `<name>.features.csv` as (index, values in FEATURE_COLUMNS order)."""
function read_features(name::AbstractString)
    t = read_csv(joinpath(GOLDEN_DIR, name * ".features.csv"))
    ci = column(t, "index")
    cols = [column(t, c) for c in FEATURE_COLUMNS]
    return [(parse_int(Int, r[ci]), Float64[parse_float(r[c]) for c in cols]) for r in t.rows]
end

const SIGNAL_COLUMNS = ("side", "size", "confidence", "zscore", "ref_price", "urgency", "min_fill_qty", "ttl_ms",
                        "max_slippage_bps", "trace_hi", "trace_lo")

function read_signals(name::AbstractString)
    t = read_csv(joinpath(GOLDEN_DIR, name * ".signals.csv"))
    ci = column(t, "index")
    col(c) = column(t, c)
    out = NamedTuple[]
    for r in t.rows
        push!(out, (index = parse_int(Int, r[ci]),
                    side = parse_int(UInt8, r[col("side")]),
                    size = parse_float(r[col("size")]),
                    confidence = parse_float(r[col("confidence")]),
                    zscore = parse_float(r[col("zscore")]),
                    ref_price = parse_float(r[col("ref_price")]),
                    urgency = parse_int(UInt8, r[col("urgency")]),
                    min_fill_qty = parse_float(r[col("min_fill_qty")]),
                    ttl_ms = parse_int(UInt32, r[col("ttl_ms")]),
                    max_slippage_bps = parse_float(r[col("max_slippage_bps")]),
                    trace_hi = parse_int(UInt64, r[col("trace_hi")]),
                    trace_lo = parse_int(UInt64, r[col("trace_lo")]),
                    regime = parse_int(UInt8, r[col("regime")])))
    end
    return out
end

"""docs/STRATEGY.md tolerance: relative 1e-9, or 1e-12 absolute near zero; NaN matches NaN."""
function close_enough(a::Float64, b::Float64)
    (isnan(a) || isnan(b)) && return isnan(a) && isnan(b)
    a == b && return true
    d = abs(a - b)
    return d <= 1e-9 * max(abs(a), abs(b)) || d <= 1e-12
end
