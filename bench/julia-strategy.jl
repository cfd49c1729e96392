# Julia half of "strategy ticks/s on one core" (bench/julia-engine.bench.ts): the same loop as the
# native figure of build/kestrel_bench (addon/src/hotpath_bench.cpp): the golden Binance ticks, one
# warm pass, then 40 passes with tick time shifted forward, same parameters (capital 10,
# vpin_bucket_volume 0.5, vpin_buckets 20, z_entry 1.5), through the very @cfunction on_tick pointer
# the addon calls. Run with the sysimage: julia --project=julia -J sysimage/build/kestrel.so bench/julia-strategy.jl
# Prints one JSON line.
using KestrelStrategy
const KS = KestrelStrategy
include(joinpath(@__DIR__, "..", "julia", "test", "golden_io.jl"))

function passes!(fp::Ptr{Cvoid}, h::Int64, ticks::Vector{KS.TickEntry}, span::Int64, rounds::UnitRange{Int},
                 tick::Base.RefValue{KS.TickEntry}, out::Base.RefValue{KS.SignalRecord}, seq0::UInt64)
    signals = 0
    seq = seq0
    for r in rounds, i in eachindex(ticks)
        t = @inbounds ticks[i]
        # `tick` stands for the ring slot: committed with its commit word, read in place by on_tick
        tick[] = KS.TickEntry(t.ts_ns + span * r, t.venue_id, t.symbol_id, t.flags, t.bid, t.ask, t.bid_size,
                              t.ask_size, seq + 1, t.push_ns)
        rc = ccall(fp, Int32, (Int64, Ptr{KS.TickEntry}, UInt32, UInt64, UInt64, Ptr{KS.SignalRecord}), h, tick,
                   UInt32(0), seq, seq + 1, out)
        rc < 0 && error("on_tick returned $(rc)")
        signals += rc == 1
        seq += 1
    end
    return signals, seq
end

# CPU time of this thread (CLOCK_THREAD_CPUTIME_ID = 3 on Linux): on a loaded machine the wall-clock
# rate mostly measures scheduling; CPU ns per tick does not.
function thread_cpu_ns()
    ts = Ref((Int64(0), Int64(0)))
    ccall(:clock_gettime, Cint, (Cint, Ptr{NTuple{2,Int64}}), 3, ts)
    return ts[][1] * 1_000_000_000 + ts[][2]
end

function main()
    name = isempty(ARGS) ? "binance_btcusdt" : ARGS[1]
    ticks = read_ticks(name)
    table = zeros(UInt64, 9)
    GC.@preserve table KS.fill_entry_points!(pointer(table), length(table))
    create, on_tick = Ptr{Cvoid}(UInt(table[3])), Ptr{Cvoid}(UInt(table[5]))
    p = KS.params_with([:capital => 10.0, :vpin_bucket_volume => 0.5, :vpin_buckets => 20.0, :z_entry => 1.5])
    values = Float64[Float64(getfield(p, n)) for n in KS.PARAM_NAMES]
    err = zeros(UInt8, 512)
    h = GC.@preserve values err ccall(create, Int64, (Ptr{Float64}, Int64, Int64, Ptr{UInt8}, Int64),
                                      pointer(values), length(values), 1, pointer(err), length(err))
    h > 0 || error(unsafe_string(pointer(err)))
    span = ticks[end].ts_ns - ticks[1].ts_ns + 1_000_000_000
    tick = Ref{KS.TickEntry}(); out = Ref{KS.SignalRecord}()
    _, seq = passes!(on_tick, h, ticks, span, 0:0, tick, out, UInt64(0))  # warm: windows fill
    rounds = 40
    alloc = @allocated passes!(on_tick, h, ticks, span, 1:1, tick, out, seq)
    c0 = thread_cpu_ns()
    t0 = time_ns()
    signals, _ = passes!(on_tick, h, ticks, span, 2:rounds+1, tick, out, seq + length(ticks))
    t1 = time_ns()
    c1 = thread_cpu_ns()
    n = length(ticks) * rounds
    tps = n / ((t1 - t0) / 1e9)
    cpu = (c1 - c0) / n
    println("{\"ticks\": $(n), \"ticksPerSec\": $(round(Int, tps)), \"nsPerTick\": $(round(1e9 / tps; digits = 2)), ",
            "\"cpuNsPerTick\": $(round(cpu; digits = 2)), \"ticksPerCpuSec\": $(round(Int, 1e9 / cpu)), ",
            "\"signals\": $(signals), \"allocatedBytesPerPass\": $(alloc), \"julia\": \"$(VERSION)\"}")
end

main()
