# The C entry points the addon calls: table, errors with Julia stack traces, @inferred on each.

@testset "C entry points" begin
    table = zeros(UInt64, 9)
    GC.@preserve table KS.fill_entry_points!(pointer(table), length(table))
    @test table[1] == KS.ABI_VERSION == 2
    @test table[2] == KS.N_ENTRY_POINTS == 7
    @test all(!=(0), table[3:9])
    short = zeros(UInt64, 4)
    GC.@preserve short begin
        @test_throws ArgumentError KS.fill_entry_points!(pointer(short), 4)
        @test_throws ArgumentError KS.fill_entry_points!(pointer(short), 8)  # the ABI 1 table size
    end
    @test all(==(0), short)   # nothing written into a table that is too small
    create, destroy, on_tick, on_gap, feats, last_error, gc_stats = (Ptr{Cvoid}(UInt(table[i])) for i in 3:9)

    # bad parameters: negative handle and a message naming the parameter
    bad = collect(Float64, KS.DEFAULT_PARAM_VALUES)
    bad[findfirst(==(:ou_window), KS.PARAM_NAMES)] = 1.5
    err = zeros(UInt8, 512)
    h = GC.@preserve bad err ccall(create, Int64, (Ptr{Float64}, Int64, Int64, Ptr{UInt8}, Int64),
                                   pointer(bad), length(bad), 1, pointer(err), length(err))
    @test h == -1
    @test occursin("ou_window", unsafe_string(pointer(err)))

    params = Float64[getfield(FAST, n) for n in KS.PARAM_NAMES]
    h = GC.@preserve params err ccall(create, Int64, (Ptr{Float64}, Int64, Int64, Ptr{UInt8}, Int64),
                                      pointer(params), length(params), 2, pointer(err), length(err))
    @test h > 0
    ticks = synthetic_ticks(3000)
    out = Ref{KS.SignalRecord}()
    n1 = run_cfunction!(on_tick, h, ticks, out)
    # the same ticks through the Julia API give the same signal count and the same last signal
    signals, _ = KS.backtest(ticks, FAST)
    @test n1 == length(signals) > 0
    @test out[] == last(signals).record
    # zero allocation and no GC over 100k ticks read from ring slots through the C pointer, measured
    # on a second engine after a warm-up pass
    h2 = GC.@preserve params err ccall(create, Int64, (Ptr{Float64}, Int64, Int64, Ptr{UInt8}, Int64),
                                       pointer(params), length(params), 1, pointer(err), length(err))
    bytes, collections, nsig = alloc_ring_run(on_tick, h2, ticks, 100_000, out)
    @test nsig > 0   # the measured run went through the signal path too
    @test bytes == 0
    @test collections == 0
    # gc_stats: collections and bytes allocated, monotonic, and allocation-free itself
    gc = zeros(Int64, 2)
    GC.@preserve gc begin
        @test ccall(gc_stats, Int32, (Ptr{Int64}, Int64), pointer(gc), 2) == 0
        before = copy(gc)
        junk = [zeros(1000) for _ in 1:10]
        @test ccall(gc_stats, Int32, (Ptr{Int64}, Int64), pointer(gc), 2) == 0
        @test gc[2] >= before[2] + sum(sizeof, junk)
        @test gc[1] >= before[1]
        @test ccall(gc_stats, Int32, (Ptr{Int64}, Int64), pointer(gc), 1) < 0
    end

    f = zeros(Float64, 19)
    @test GC.@preserve(f, ccall(feats, Int32, (Int64, UInt32, Ptr{Float64}), h, UInt32(0), pointer(f))) == 0
    snap = KS.features(KS.ENGINES[h], 0)
    @test isequal(f[1], snap.mid) && isequal(f[11], snap.kappa) && f[9] == snap.n_buckets
    @test isequal(f[16], snap.ou_b) && isequal(f[17], snap.vr) && isequal(f[18], snap.vol_ratio) &&
          f[19] == Float64(snap.regime)
    @test ccall(on_gap, Int32, (Int64, UInt32, UInt64), h, UInt32(0), UInt64(2)) == 0
    @test KS.ENGINES[h].states[1].ou.count == 0
    # errors are codes, never exceptions into C
    @test ccall(on_gap, Int32, (Int64, UInt32, UInt64), h, UInt32(2), UInt64(1)) == KS.ERR_BAD_SYMBOL
    tick = Ref(ticks[1])
    @test ccall(on_tick, Int32, (Int64, Ptr{KS.TickEntry}, UInt32, UInt64, UInt64, Ptr{KS.SignalRecord}), Int64(999), tick, UInt32(0), UInt64(0), tick[].sequence, out) ==
          KS.ERR_BAD_HANDLE
    @test ccall(destroy, Int32, (Int64,), h) == 0
    @test ccall(destroy, Int32, (Int64,), h) == KS.ERR_BAD_HANDLE
    @test ccall(destroy, Int32, (Int64,), h2) == 0
    buf = zeros(UInt8, 256)
    @test GC.@preserve(buf, ccall(last_error, Int64, (Int64, Ptr{UInt8}, Int64), Int64(-5), pointer(buf), 256)) >= 0
end

# A function of its own, so the stack trace has a frame to name.
planted_strategy_failure(n) = n > 2 ? error("planted failure at tick $(n)") : n

@testset "entry-point errors carry Julia's message and stack trace" begin
    msg, trace = try
        planted_strategy_failure(3)
        ("", "")
    catch ex
        KS.error_report(ex, catch_backtrace())
    end
    @test msg == "planted failure at tick 3"
    @test occursin("planted_strategy_failure", trace)
    @test !startswith(trace, "Stacktrace:")
    # last_error hands both to C: message, NUL, trace, NUL
    params = Float64[getfield(FAST, n) for n in KS.PARAM_NAMES]
    err = zeros(UInt8, 64)
    table = zeros(UInt64, 9)
    GC.@preserve table KS.fill_entry_points!(pointer(table), length(table))
    create, last_error = Ptr{Cvoid}(UInt(table[3])), Ptr{Cvoid}(UInt(table[8]))
    h = GC.@preserve params err ccall(create, Int64, (Ptr{Float64}, Int64, Int64, Ptr{UInt8}, Int64),
                                      pointer(params), length(params), 1, pointer(err), length(err))
    try
        planted_strategy_failure(7)
    catch ex
        KS.record_error!(h, KS.ENGINES[h], ex, catch_backtrace())
    end
    buf = zeros(UInt8, 4096)
    n = GC.@preserve buf ccall(last_error, Int64, (Int64, Ptr{UInt8}, Int64), h, pointer(buf), length(buf))
    first_nul = findfirst(==(0x00), buf)
    @test String(buf[1:first_nul-1]) == "planted failure at tick 7"
    second = String(buf[first_nul+1:n])
    @test occursin("planted_strategy_failure", second)
    @test buf[n+1] == 0x00
    # a small buffer keeps the message whole and truncates nothing into it
    small = zeros(UInt8, 8)
    @test GC.@preserve(small, ccall(last_error, Int64, (Int64, Ptr{UInt8}, Int64), h, pointer(small), 8)) <= 7
    @test small[8] == 0x00
end

@testset "every C entry point is type-stable (@inferred)" begin
    p = collect(Float64, KS.DEFAULT_PARAM_VALUES)
    err = zeros(UInt8, 256)
    h = GC.@preserve p err @inferred KS.c_create(pointer(p), Int64(length(p)), Int64(1), pointer(err), Int64(length(err)))
    @test h > 0
    tick = Ref(KS.quote_tick(Int64(1_000_000_000), 99.0, 101.0, 1.0, 1.0))
    out = Ref{KS.SignalRecord}()
    feats = zeros(Float64, 32)
    buf = zeros(UInt8, 256)
    GC.@preserve tick out feats buf begin
        tp = Base.unsafe_convert(Ptr{KS.TickEntry}, tick)
        op = Base.unsafe_convert(Ptr{KS.SignalRecord}, out)
        @test (@inferred KS.c_on_tick(h, tp, UInt32(0), UInt64(0), tick[].sequence, op)) in (Int32(0), Int32(1))
        gc = zeros(Int64, 2)
        @test GC.@preserve(gc, @inferred(KS.c_gc_stats(pointer(gc), Int64(2)))) == Int32(0)
        @test (@inferred KS.c_on_gap(h, UInt32(0), UInt64(1))) == Int32(0)
        @test (@inferred KS.c_features(h, UInt32(0), pointer(feats))) isa Int32
        @test (@inferred KS.c_last_error(h, pointer(buf), Int64(length(buf)))) isa Int64
    end
    @test (@inferred KS.c_destroy(h)) == Int32(0)
end

@testset "on_tick reads the ring slot in place and never uses a torn slot" begin
    table = zeros(UInt64, 9)
    GC.@preserve table KS.fill_entry_points!(pointer(table), length(table))
    create, on_tick = Ptr{Cvoid}(UInt(table[3])), Ptr{Cvoid}(UInt(table[5]))
    params = Float64[getfield(FAST, n) for n in KS.PARAM_NAMES]
    err = zeros(UInt8, 256)
    h = GC.@preserve params err ccall(create, Int64, (Ptr{Float64}, Int64, Int64, Ptr{UInt8}, Int64),
                                      pointer(params), length(params), 1, pointer(err), length(err))
    e = KS.ENGINES[h]
    ticks = synthetic_ticks(1500)
    cap = 1024
    slots = Vector{KS.TickEntry}(undef, cap)
    out = Ref{KS.SignalRecord}()
    GC.@preserve slots begin
        _, seq = ring_run!(on_tick, h, slots, ticks[1:1000], 1000, UInt64(0), out)
        # read_slot returns exactly what the producer committed, field for field
        t = ticks[1001]
        i = Int(seq & UInt64(cap - 1)) + 1
        slots[i] = KS.TickEntry(t.ts_ns, t.venue_id, t.symbol_id, t.flags, t.bid, t.ask, t.bid_size, t.ask_size,
                                seq + 1, Int64(123456789))
        ok, back = KS.read_slot(pointer(slots, i), seq + 1)
        @test ok && back === slots[i]
        # A producer one lap later takes the slot after the engine saw it committed: it swaps the commit
        # word to WRITING|seq+cap first, then rewrites the payload. Whatever part of its payload a read
        # overlapped, the re-check sees a changed word: every such schedule ends in this state or in the
        # committed newer record, both checked here.
        ticks_before, features_before, out_before = e.ticks, KS.features(e, 0), out[]
        for word in ((UInt64(1) << 63) | (seq + cap), seq + cap + 1)
            slots[i] = KS.TickEntry(t.ts_ns, t.venue_id, t.symbol_id, t.flags, 1.0e9, t.ask, t.bid_size, t.ask_size,
                                    word, t.push_ns)
            ok, _ = KS.read_slot(pointer(slots, i), seq + 1)
            @test !ok
            r = ccall(on_tick, Int32, (Int64, Ptr{KS.TickEntry}, UInt32, UInt64, UInt64, Ptr{KS.SignalRecord}), h, pointer(slots, i), UInt32(0), seq, seq + 1, out)
            @test r == KS.TICK_TORN
            @test e.ticks == ticks_before                          # the tick was not processed
            @test isequal(KS.features(e, 0), features_before)      # no state touched by the torn payload
            @test out[] === out_before                             # no signal written
        end
        # the engine goes on with the next committed tick as usual
        _, seq2 = ring_run!(on_tick, h, slots, ticks[1001:1500], 500, seq + 1, out)
        @test e.ticks == ticks_before + 500
        @test seq2 == seq + 501
    end
    KS.c_destroy(h)
end
