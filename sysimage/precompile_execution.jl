# Executed by PackageCompiler while it records what to compile into the sysimage. It drives every
# hot function the way the addon does: through the @cfunction pointers resolved by
# fill_entry_points!, with ticks that reach every branch (quotes, trades, tainted ticks, gaps,
# OU refits, VPIN buckets, signals), plus the in-place ring replay and the backtest helpers.

using KestrelStrategy
using Random: Xoshiro, rand, randn

const KS = KestrelStrategy

# Mean-reverting mid (kappa 0.5/s) with a 4-unit shock every 250 quotes, so that the signal path
# (confidence, Kelly size, SignalRecord) is compiled too, not only the feature updates.
function synthetic_ticks(n::Int)
    rng = Xoshiro(20240808)
    ticks = KS.TickEntry[]
    mu = 30000.0
    a = exp(-0.5 * 0.037)
    sd = sqrt((1 - a * a) / (2 * 0.5))
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

const PRECOMPILE_PARAMS = [:ou_window => 100.0, :vpin_buckets => 10.0, :min_confidence => 0.05]

function exercise_entry_points(ticks::Vector{KS.TickEntry})
    table = zeros(UInt64, 9)
    GC.@preserve table KS.fill_entry_points!(pointer(table), length(table))
    create, destroy, on_tick, on_gap, feats, last_error, gc_stats = (Ptr{Cvoid}(UInt(table[i])) for i in 3:9)
    p = KS.params_with(PRECOMPILE_PARAMS)
    params = Float64[getfield(p, n) for n in KS.PARAM_NAMES]
    err = zeros(UInt8, 256)
    h = GC.@preserve params err ccall(create, Int64, (Ptr{Float64}, Int64, Int64, Ptr{UInt8}, Int64),
                                      pointer(params), length(params), 2, pointer(err), length(err))
    h > 0 || error("create failed: " * unsafe_string(pointer(err)))
    out = Ref{KS.SignalRecord}()
    # as the engine thread calls it: the address of a committed ring slot and its commit word
    slots = Vector{KS.TickEntry}(undef, 256)
    signals = 0
    GC.@preserve slots for (i, t) in enumerate(ticks)
        seq = UInt64(i - 1)
        k = Int(seq & 0xff) + 1
        slots[k] = KS.TickEntry(t.ts_ns, t.venue_id, t.symbol_id, t.flags, t.bid, t.ask, t.bid_size, t.ask_size,
                                seq + 1, t.push_ns)
        r = ccall(on_tick, Int32, (Int64, Ptr{KS.TickEntry}, UInt32, UInt64, UInt64, Ptr{KS.SignalRecord}),
                  h, pointer(slots, k), UInt32(0), seq, seq + 1, out)
        r == 1 && (signals += 1)
    end
    # a torn slot (commit word moved on): the early return path
    GC.@preserve slots ccall(on_tick, Int32, (Int64, Ptr{KS.TickEntry}, UInt32, UInt64, UInt64, Ptr{KS.SignalRecord}),
                             h, pointer(slots, 1), UInt32(0), UInt64(0), UInt64(0), out)
    gc = zeros(Int64, 2)
    GC.@preserve gc ccall(gc_stats, Int32, (Ptr{Int64}, Int64), pointer(gc), 2)
    ccall(on_gap, Int32, (Int64, UInt32, UInt64), h, UInt32(0), UInt64(3))
    f = zeros(Float64, 19)
    GC.@preserve f ccall(feats, Int32, (Int64, UInt32, Ptr{Float64}), h, UInt32(1), pointer(f))
    buf = zeros(UInt8, 256)
    GC.@preserve buf ccall(last_error, Int64, (Int64, Ptr{UInt8}, Int64), h, pointer(buf), length(buf))
    ccall(destroy, Int32, (Int64,), h)
    signals > 0 || error("precompile ticks produced no signal: the signal path would not be compiled")
    return signals
end

function exercise_ring(ticks::Vector{KS.TickEntry})
    cap = 1024
    mem = zeros(UInt8, KS.kRingHeaderSize + cap * KS.kTickEntrySize)
    GC.@preserve mem begin
        base = pointer(mem)
        unsafe_store!(Ptr{UInt64}(base + KS.kRingCapacityOffset), UInt64(cap))
        unsafe_store!(Ptr{UInt64}(base + KS.kRingMaskOffset), UInt64(cap - 1))
        unsafe_store!(Ptr{UInt32}(base + KS.kRingRecordSizeOffset), UInt32(KS.kTickEntrySize))
        ring = KS.TickRing(base)
        n = min(cap, length(ticks))
        for i in 1:n
            t = ticks[i]
            ring.slots[i] = KS.TickEntry(t.ts_ns, t.venue_id, t.symbol_id, t.flags, t.bid, t.ask,
                                         t.bid_size, t.ask_size, UInt64(i), t.push_ns)
        end
        e = KS.Engine(KS.params_with(PRECOMPILE_PARAMS), 1)
        out = Vector{KS.SignalRecord}(undef, 64)
        KS.replay_ring!(e, ring, 0, UInt64(0), UInt64(n), out)
    end
    return nothing
end

let ticks = synthetic_ticks(6000)
    exercise_entry_points(ticks)
    exercise_ring(ticks)
    KS.backtest(ticks, KS.params_with(PRECOMPILE_PARAMS); record_features = i -> i % 100 == 0)
    KS.fit_ou(collect(range(1.0, 2.0; length = 21)) .+ 0.01 .* sin.(1:21), 0.25)
    KS.ou_mle([3.0, 1.76, 1.2693, 1.196, 0.9], 0.25)
    KS.kelly_discrete(0.6, 1.0)
    KS.kelly_growth(0.6, 1.0, 0.2)
    KS.kelly_continuous(0.11, 0.06, 0.15)
end
