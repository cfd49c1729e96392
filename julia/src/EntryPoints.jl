# C-callable entry points for the addon (addon/src/julia/julia_strategy.cpp).
#
# The addon resolves them once, after jl_init, by evaluating
#     KestrelStrategy.fill_entry_points!(Ptr{UInt64}(table), nslots)
# which writes `@cfunction` addresses into a table the C++ side owns. Every call after that is a
# plain C call on the engine thread: no jl_call, no boxing, no allocation per tick.
#
# Table (8-byte slots; keep in sync with JuliaEntryTable / EntryPoint in julia_runtime.h):
#   [1] ABI_VERSION   [2] number of entry points   [3..] function pointers in ENTRY order.
#
# Signatures (C types):
#   create(const double* params, int64 nparams, int64 nsymbols, char* err, int64 errcap) -> int64
#       handle > 0, or -1 with a NUL-terminated message in err
#   destroy(int64 h) -> int32
#   on_tick(int64 h, const TickEntry* slot, uint32 symbol, uint64 seq, uint64 commit, SignalRecord* out) -> int32
#       `slot` is the tick ring slot itself in shared memory (zero copy), `commit` its commit word as
#       the engine saw it (seq + 1). The tick is loaded from the slot, then the commit word is
#       re-checked (read_slot, a seqlock read): 2 = torn, the slot was overwritten meanwhile and
#       nothing was used; 1 = a signal was written to *out, 0 = none, < 0 = error (see last_error)
#   on_gap(int64 h, uint32 symbol, uint64 missed) -> int32
#   features(int64 h, uint32 symbol, double out[19]) -> int32   (FeatureSnapshot order)
#   last_error(int64 h, char* buf, int64 cap) -> int64          (bytes written, without NUL)
#   gc_stats(int64* out, int64 n) -> int32   out[1] GC pauses, out[2] bytes allocated since start
#
# No exception may escape into C: with no Julia handler on the C stack it would end the process.
# Each entry point therefore catches, records the message and the stack trace (captured here, with
# catch_backtrace(), because the addon only sees a return code), and returns an error code.
# last_error writes the message, a NUL, then Julia's stack trace of that error and a NUL (its
# return value counts both strings and the NUL between them); a reader of the first C string gets
# the message alone.

const ABI_VERSION = 2  # 2: on_tick reads the ring slot in place (commit argument); gc_stats

const ERR_BAD_HANDLE = Int32(-1)
const ERR_BAD_SYMBOL = Int32(-2)
const ERR_EXCEPTION = Int32(-3)
const TICK_TORN = Int32(2)

# Engines are rooted here for the GC; a handle is an index into this vector.
const ENGINES = Union{Nothing,Engine}[]
const LAST_CREATE_ERROR = Ref("")
# Stack trace of each engine's last error (index = handle), kept beside Engine.last_error.
const LAST_TRACES = String[]
const LAST_CREATE_TRACE = Ref("")

@inline function engine_at(h::Int64)
    (1 <= h <= length(ENGINES)) || return nothing
    return @inbounds ENGINES[h]
end

function write_cstring(buf::Ptr{UInt8}, cap::Int64, msg::String)
    (buf == C_NULL || cap <= 0) && return Int64(0)
    n = min(sizeof(msg), Int(cap) - 1)
    GC.@preserve msg unsafe_copyto!(buf, pointer(msg), n)
    unsafe_store!(buf, 0x00, n + 1)
    return Int64(n)
end

"""
    error_report(ex, bt) -> (message, stacktrace)

What the addon reports for an exception caught in an entry point: `showerror`'s text, and the
Julia stack trace of `bt` (from `catch_backtrace()`) as `showerror(io, ex, bt)` prints it after the
message (frames `[1] fn(...) @ Module file.jl:line`), without the leading "Stacktrace:" line.
"""
function error_report(ex, bt)
    msg = sprint(showerror, ex)
    trace = try
        lstrip(sprint(Base.show_backtrace, bt))
    catch
        "(stack trace unavailable)"
    end
    startswith(trace, "Stacktrace:") && (trace = lstrip(trace[sizeof("Stacktrace:")+1:end], '\n'))
    return msg, String(trace)
end

function record_error!(h::Int64, e::Engine, ex, bt)
    msg, trace = error_report(ex, bt)
    e.last_error = msg
    while length(LAST_TRACES) < h
        push!(LAST_TRACES, "")
    end
    @inbounds LAST_TRACES[h] = trace
    return nothing
end

last_trace(h::Int64) = 1 <= h <= length(LAST_TRACES) ? (@inbounds LAST_TRACES[h]) : ""

function c_create(params::Ptr{Float64}, nparams::Int64, nsymbols::Int64, err::Ptr{UInt8}, errcap::Int64)::Int64
    try
        values = copy(unsafe_wrap(Array, params, Int(nparams); own=false))
        e = Engine(params_from_values(values), nsymbols)
        push!(ENGINES, e)
        return Int64(length(ENGINES))
    catch ex
        msg, trace = error_report(ex, catch_backtrace())
        LAST_CREATE_ERROR[] = msg
        LAST_CREATE_TRACE[] = trace
        write_cstring(err, errcap, msg)
        return Int64(-1)
    end
end

function c_destroy(h::Int64)::Int32
    engine_at(h) === nothing && return ERR_BAD_HANDLE
    @inbounds ENGINES[h] = nothing
    return Int32(0)
end

function c_on_tick(h::Int64, slot::Ptr{TickEntry}, symbol::UInt32, seq::UInt64, commit::UInt64,
                   out::Ptr{SignalRecord})::Int32
    e = engine_at(h)
    e === nothing && return ERR_BAD_HANDLE
    sym = Int(symbol)
    sym < length(e.states) || return ERR_BAD_SYMBOL
    # The seqlock read comes first: a torn tick must leave every state untouched.
    ok, t = read_slot(slot, commit)
    ok || return TICK_TORN
    try
        emitted, rec = engine_tick!(e, t, sym, seq)
        emitted || return Int32(0)
        unsafe_store!(out, rec)
        return Int32(1)
    catch ex
        record_error!(h, e, ex, catch_backtrace())
        return ERR_EXCEPTION
    end
end

function c_on_gap(h::Int64, symbol::UInt32, missed::UInt64)::Int32
    e = engine_at(h)
    e === nothing && return ERR_BAD_HANDLE
    sym = Int(symbol)
    sym < length(e.states) || return ERR_BAD_SYMBOL
    try
        engine_gap!(e, sym, missed)
        return Int32(0)
    catch ex
        record_error!(h, e, ex, catch_backtrace())
        return ERR_EXCEPTION
    end
end

function c_features(h::Int64, symbol::UInt32, out::Ptr{Float64})::Int32
    e = engine_at(h)
    e === nothing && return ERR_BAD_HANDLE
    sym = Int(symbol)
    sym < length(e.states) || return ERR_BAD_SYMBOL
    f = try
        features(e, sym)
    catch ex
        record_error!(h, e, ex, catch_backtrace())
        return ERR_EXCEPTION
    end
    unsafe_store!(out, f.mid, 1)
    unsafe_store!(out, f.spread, 2)
    unsafe_store!(out, f.spread_bps, 3)
    unsafe_store!(out, f.microprice, 4)
    unsafe_store!(out, f.ofi, 5)
    unsafe_store!(out, f.ofi_norm, 6)
    unsafe_store!(out, f.ewma_var, 7)
    unsafe_store!(out, f.vpin, 8)
    unsafe_store!(out, Float64(f.n_buckets), 9)
    unsafe_store!(out, f.ou_valid ? 1.0 : 0.0, 10)
    unsafe_store!(out, f.kappa, 11)
    unsafe_store!(out, f.mu, 12)
    unsafe_store!(out, f.sigma, 13)
    unsafe_store!(out, f.half_life, 14)
    unsafe_store!(out, f.zscore, 15)
    unsafe_store!(out, f.ou_b, 16)
    unsafe_store!(out, f.vr, 17)
    unsafe_store!(out, f.vol_ratio, 18)
    unsafe_store!(out, Float64(f.regime), 19)
    return Int32(0)
end

function c_last_error(h::Int64, buf::Ptr{UInt8}, cap::Int64)::Int64
    e = engine_at(h)
    msg = e === nothing ? LAST_CREATE_ERROR[] : e.last_error
    trace = e === nothing ? LAST_CREATE_TRACE[] : last_trace(h)
    n = write_cstring(buf, cap, msg)
    (buf == C_NULL || cap - n - 1 <= 1) && return n
    return n + 1 + write_cstring(buf + n + 1, cap - n - 1, trace)
end

"""
    c_gc_stats(out, n) -> Int32

The runtime's GC counters for the addon (sampled by the engine thread off the hot path, at start
and when it goes to sleep): `out[1]` the number of collections (pauses), `out[2]` the bytes Julia
allocated since it started. A run of ticks that leaves both unchanged allocated nothing.
Allocation-free itself: `Base.gc_num()` returns its struct by value.
"""
function c_gc_stats(out::Ptr{Int64}, n::Int64)::Int32
    n >= 2 || return ERR_BAD_SYMBOL
    num = Base.gc_num()
    unsafe_store!(out, Int64(num.pause), 1)
    unsafe_store!(out, Int64(Base.gc_total_bytes(num)), 2)
    return Int32(0)
end

"""The entry points' addresses, in table order. Compiled into the sysimage by the build."""
function entry_pointers()
    return (
        @cfunction(c_create, Int64, (Ptr{Float64}, Int64, Int64, Ptr{UInt8}, Int64)),
        @cfunction(c_destroy, Int32, (Int64,)),
        @cfunction(c_on_tick, Int32, (Int64, Ptr{TickEntry}, UInt32, UInt64, UInt64, Ptr{SignalRecord})),
        @cfunction(c_on_gap, Int32, (Int64, UInt32, UInt64)),
        @cfunction(c_features, Int32, (Int64, UInt32, Ptr{Float64})),
        @cfunction(c_last_error, Int64, (Int64, Ptr{UInt8}, Int64)),
        @cfunction(c_gc_stats, Int32, (Ptr{Int64}, Int64)),
    )
end

const N_ENTRY_POINTS = 7

"""
    fill_entry_points!(table, nslots)

Writes ABI version, count and entry-point addresses into the C++ table at `table` (`nslots`
UInt64 slots). Called once by the addon right after jl_init_with_image.
"""
function fill_entry_points!(table::Ptr{UInt64}, nslots::Integer)
    ptrs = entry_pointers()
    nslots >= 2 + length(ptrs) || throw(ArgumentError("entry table has $(nslots) slots, need $(2 + length(ptrs))"))
    unsafe_store!(table, UInt64(ABI_VERSION), 1)
    unsafe_store!(table, UInt64(length(ptrs)), 2)
    for (i, p) in enumerate(ptrs)
        unsafe_store!(table, UInt64(UInt(p)), 2 + i)
    end
    BLAS.set_num_threads(1)
    return nothing
end
