# Shared test helpers (functions, so that @allocated measures compiled code).

const REPO_ROOT = normpath(joinpath(@__DIR__, "..", ".."))
const SHARED_DIR = get(ENV, "KESTREL_SHARED_DIR", normpath(joinpath(REPO_ROOT, "..", "shared")))

# ---------------------------------------------------------------------------------------------
# helpers (functions, so that @allocated measures compiled code, not top-level evaluation)
# ---------------------------------------------------------------------------------------------

function run_all!(e::KS.Engine, ticks::Vector{KS.TickEntry})
    n = 0
    for i in eachindex(ticks)
        emitted, _ = KS.engine_tick!(e, @inbounds(ticks[i]), 0, UInt64(i - 1))
        n += emitted ? 1 : 0
    end
    return n
end

function alloc_engine_run(ticks::Vector{KS.TickEntry}, p::KS.Params)
    run_all!(KS.Engine(p, 1), ticks)          # warm-up: compile every path
    e = KS.Engine(p, 1)
    bytes = @allocated run_all!(e, ticks)
    return bytes, e.signals
end

"""
    ring_run!(fp, h, slots, ticks, n, seq0, out) -> (signals, next_seq)

Drives the `on_tick` entry point `fp` the way the engine thread does, zero copy: tick k (ring
sequence seq0 + k) is committed into its slot of the ring `slots` (a Vector{TickEntry} standing for
the shared-memory slots: payload, commit word seq + 1) and the entry point gets that slot's address
and commit word. `n` ticks cycle through `ticks`, each pass shifted in time by the span of `ticks`
so time only moves forward.
"""
function ring_run!(fp::Ptr{Cvoid}, h::Int64, slots::Vector{KS.TickEntry}, ticks::Vector{KS.TickEntry}, n::Int,
                   seq0::UInt64, out::Base.RefValue{KS.SignalRecord})
    mask = UInt64(length(slots) - 1)
    span = ticks[end].ts_ns - ticks[1].ts_ns + 1
    signals = 0
    for k in 0:n-1
        t = @inbounds ticks[k % length(ticks) + 1]
        seq = seq0 + UInt64(k)
        commit = seq + 1
        i = Int(seq & mask) + 1
        @inbounds slots[i] = KS.TickEntry(t.ts_ns + span * (k ÷ length(ticks)), t.venue_id, t.symbol_id, t.flags,
                                          t.bid, t.ask, t.bid_size, t.ask_size, commit, t.push_ns)
        slot = pointer(slots, i)
        r = ccall(fp, Int32, (Int64, Ptr{KS.TickEntry}, UInt32, UInt64, UInt64, Ptr{KS.SignalRecord}),
                  h, slot, UInt32(0), seq, commit, out)
        r < 0 && error("on_tick returned $(r)")
        signals += r == 1 ? 1 : 0
    end
    return signals, seq0 + UInt64(n)
end

function run_cfunction!(fp::Ptr{Cvoid}, h::Int64, ticks::Vector{KS.TickEntry}, out::Base.RefValue{KS.SignalRecord})
    slots = Vector{KS.TickEntry}(undef, 1024)
    n, _ = GC.@preserve slots ring_run!(fp, h, slots, ticks, length(ticks), UInt64(0), out)
    return n
end

"""Bytes allocated (and GC pauses, signals) by `n` ticks through the entry point reading ring slots, after a warm-up pass."""
function alloc_ring_run(fp::Ptr{Cvoid}, h::Int64, ticks::Vector{KS.TickEntry}, n::Int, out::Base.RefValue{KS.SignalRecord})
    slots = Vector{KS.TickEntry}(undef, 4096)
    GC.@preserve slots begin
        _, seq = ring_run!(fp, h, slots, ticks, length(ticks), UInt64(0), out)
        signals = Ref(0)
        gc0 = Base.gc_num().pause
        bytes = @allocated signals[] = first(ring_run!(fp, h, slots, ticks, n, seq, out))
        return bytes, Base.gc_num().pause - gc0, signals[]
    end
end

function alloc_fit(buf::Vector{Float64}, dt::Float64)
    KS.fit_ou(buf, 1, dt)
    return @allocated KS.fit_ou(buf, 1, dt)
end

function alloc_close_bar(v::KS.VPINState, p::KS.Params)
    v.has_bar = true; v.bar_first = 100.0; v.bar_last = 100.5; v.bar_vol = 2.75
    KS.close_bar!(v, p)
    v.has_bar = true; v.bar_first = 100.5; v.bar_last = 100.0; v.bar_vol = 1.25
    return @allocated KS.close_bar!(v, p)
end

"""
Synthetic ticks (seeded: the same ticks on every run): an OU mid path (kappa 0.5/s, sigma 1.0)
with a 4-unit shock every 250 quotes (a mean-reversion opportunity), a trade every third quote,
and CROSSED / GAP ticks sprinkled in.
"""
function synthetic_ticks(n::Int; seed::Integer = 20240808)
    rng = Xoshiro(seed)
    ticks = KS.TickEntry[]
    mu = 30000.0; kappa = 0.5; sigma = 1.0; dt = 0.037
    a = exp(-kappa * dt)
    sd = sigma * sqrt((1 - a * a) / (2 * kappa))
    m = mu
    ts = Int64(1_700_000_000_000_000_000)
    for i in 1:n
        ts += 37_000_000
        m = mu + (m - mu) * a + sd * randn(rng)
        i % 250 == 0 && (m += isodd(div(i, 250)) ? 4.0 : -4.0)
        flags = UInt32(0)
        i % 97 == 0 && (flags |= KS.kFlagCrossed)
        i % 1009 == 0 && (flags |= KS.kFlagGap)
        push!(ticks, KS.quote_tick(ts, m - 0.5, m + 0.5, 1.0 + rand(rng), 1.0 + rand(rng); flags = flags))
        if i % 3 == 0
            push!(ticks, KS.trade_tick(ts + 1, m + (rand(rng) - 0.5), 0.25 * rand(rng, 1:4); buyer_aggressor = isodd(i)))
        end
    end
    return ticks
end

# Smaller windows and a lower confidence floor than the defaults, so that a few thousand synthetic
# ticks exercise every branch including signals.
const FAST = KS.params_with([:ou_window => 100.0, :vpin_buckets => 10.0, :min_confidence => 0.05])

# ---------------------------------------------------------------------------------------------
