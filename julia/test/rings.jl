# Ring replay reads the shared-memory region in place.

@testset "ring replay reads the region in place (unsafe_wrap)" begin
    cap = 4096
    ticks = synthetic_ticks(2500)
    n = length(ticks)
    @test n <= cap
    ring_stride = KS.kRingHeaderSize + cap * KS.kTickEntrySize
    sig_cap = 64
    symbols_off = KS.kRegionHeaderSize
    rings_off = symbols_off + 64
    sig_off = rings_off + ring_stride
    total = sig_off + KS.kRingHeaderSize + sig_cap * KS.kSignalRecordSize
    mem = zeros(UInt8, total)
    GC.@preserve mem begin
        base = pointer(mem)
        st(T, off, v) = unsafe_store!(Ptr{T}(base + off), T(v))
        st(UInt64, KS.kRegionMagicOffset, KS.kRegionMagic)
        st(UInt32, KS.kRegionVersionOffset, KS.kLayoutVersion)
        st(UInt32, KS.kRegionHeaderSizeOffset, KS.kRegionHeaderSize)
        st(UInt64, KS.kRegionSizeOffset, total)
        st(UInt32, KS.kRegionTickRingCountOffset, 1)
        st(UInt32, KS.kRegionTickCapacityOffset, cap)
        st(UInt32, KS.kRegionSignalCapacityOffset, sig_cap)
        st(UInt32, KS.kRegionTickRecordSizeOffset, KS.kTickEntrySize)
        st(UInt32, KS.kRegionSignalRecordSizeOffset, KS.kSignalRecordSize)
        st(UInt32, KS.kRegionRingHeaderSizeOffset, KS.kRingHeaderSize)
        st(UInt64, KS.kRegionSymbolsOffset, symbols_off)
        st(UInt64, KS.kRegionTickRingsOffset, rings_off)
        st(UInt64, KS.kRegionTickRingStrideOffset, ring_stride)
        st(UInt64, KS.kRegionSignalRingOffset, sig_off)
        for (off, c, rs, kind) in ((rings_off, cap, KS.kTickEntrySize, 0), (sig_off, sig_cap, KS.kSignalRecordSize, 1))
            st(UInt64, off + KS.kRingCapacityOffset, c)
            st(UInt64, off + KS.kRingMaskOffset, c - 1)
            st(UInt32, off + KS.kRingRecordSizeOffset, rs)
            st(UInt32, off + KS.kRingKindOffset, kind)
        end
        region = KS.Region(base)
        @test length(region.tick_rings) == 1
        ring = region.tick_rings[1]
        @test ring.capacity == cap
        @test pointer(ring.slots) == Ptr{KS.TickEntry}(base + rings_off + KS.kRingHeaderSize)
        @test region.signal_ring.capacity == sig_cap
        # producer side: write the ticks with their commit words (ring sequence + 1)
        for (i, t) in enumerate(ticks)
            ring.slots[i] = KS.TickEntry(t.ts_ns, t.venue_id, t.symbol_id, t.flags, t.bid, t.ask, t.bid_size,
                                         t.ask_size, UInt64(i), t.push_ns)
        end
        # the bytes went into the region itself
        @test unsafe_load(Ptr{Float64}(base + rings_off + KS.kRingHeaderSize + KS.kTickBidOffset)) == ticks[1].bid
        out = Vector{KS.SignalRecord}(undef, 256)
        e = KS.Engine(FAST, 1)
        nsig, next = KS.replay_ring!(e, ring, 0, UInt64(0), UInt64(n), out)
        @test next == n
        want, _ = KS.backtest(ticks, FAST)
        @test nsig == length(want) > 0
        @test out[1:nsig] == [w.record for w in want]
        # an overwritten slot is a gap: same result as a GAP-flagged tick at that index
        j = 1200
        ring.slots[j+1] = KS.TickEntry(0, 0x0000, 0x0000, UInt32(0), 0.0, 0.0, 0.0, 0.0, UInt64(j + 1 + cap), 0)
        gapped = copy(ticks)
        gapped[j+1] = KS.quote_tick(ticks[j+1].ts_ns, 1.0, 2.0, 1.0, 1.0; flags = KS.kFlagGap)
        e2 = KS.Engine(FAST, 1)
        nsig2, _ = KS.replay_ring!(e2, ring, 0, UInt64(0), UInt64(n), out)
        want2, _ = KS.backtest(gapped, FAST)
        @test nsig2 == length(want2)
        @test out[1:nsig2] == [w.record for w in want2]
        @test e2.states[1].resets == e.states[1].resets + 1
    end
    junk = zeros(UInt8, 512)
    GC.@preserve junk begin
        @test_throws KS.LayoutError KS.Region(pointer(junk))
    end
end
