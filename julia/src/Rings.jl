# Zero-copy views of the shared-memory region (layout.h) from raw pointers.
#
# `unsafe_wrap(Array, ptr, n; own=false)` turns the ring slots into an ordinary Vector{TickEntry}
# whose memory is the ring itself: indexing loads straight from /dev/shm, nothing is copied and
# Julia's GC never frees it. The wrapping happens once per ring (it allocates the small Array
# header); the per-tick loop then only indexes.
#
# Live rings are written concurrently by producers. The addon's engine thread walks them (tail,
# commit words, overrun detection: addon/include/kestrel/ring.h `consume`) and hands the Julia
# engine each committed slot's address; `read_slot` below loads the tick from the slot and does the
# second half of the seqlock read, so the live engine reads ticks in place too (zero copy).
# `replay_ring!` reads a ring in place for replays and backtests, when no producer writes.

"""A tick ring: its header pointer and its slots as a Vector over the ring memory."""
struct TickRing
    header::Ptr{UInt8}
    capacity::Int
    mask::UInt64
    symbol_id::UInt32
    slots::Vector{TickEntry}
end

"""The signal ring: header pointer and slots (read side, e.g. for checks in tests)."""
struct SignalRing
    header::Ptr{UInt8}
    capacity::Int
    mask::UInt64
    slots::Vector{SignalRecord}
end

"""A mapped region: the tick rings in symbol order and the signal ring."""
struct Region
    base::Ptr{UInt8}
    tick_rings::Vector{TickRing}
    signal_ring::SignalRing
end

struct LayoutError <: Exception
    msg::String
end
Base.showerror(io::IO, e::LayoutError) = print(io, "LayoutError: ", e.msg)

@inline load_at(::Type{T}, base::Ptr{UInt8}, off::Integer) where {T} = unsafe_load(Ptr{T}(base + off))

function ring_geometry(header::Ptr{UInt8}, record_size::Int, kind::UInt32)
    cap = load_at(UInt64, header, kRingCapacityOffset)
    mask = load_at(UInt64, header, kRingMaskOffset)
    rs = load_at(UInt32, header, kRingRecordSizeOffset)
    rk = load_at(UInt32, header, kRingKindOffset)
    (cap > 0 && cap & (cap - 1) == 0) || throw(LayoutError("ring capacity $(cap) is not a power of two"))
    mask == cap - 1 || throw(LayoutError("ring mask $(mask) does not match capacity $(cap)"))
    Int(rs) == record_size || throw(LayoutError("ring record size $(rs), expected $(record_size)"))
    rk == kind || throw(LayoutError("ring kind $(rk), expected $(kind)"))
    return (Int(cap), mask)
end

"""Wraps the tick ring whose RingHeader starts at `header`."""
function TickRing(header::Ptr{UInt8})
    cap, mask = ring_geometry(header, kTickEntrySize, UInt32(0))
    sym = load_at(UInt32, header, kRingSymbolOffset)
    slots = unsafe_wrap(Array, Ptr{TickEntry}(header + kRingHeaderSize), cap; own=false)
    return TickRing(header, cap, mask, sym, slots)
end

"""Wraps the signal ring whose RingHeader starts at `header`."""
function SignalRing(header::Ptr{UInt8})
    cap, mask = ring_geometry(header, kSignalRecordSize, UInt32(1))
    slots = unsafe_wrap(Array, Ptr{SignalRecord}(header + kRingHeaderSize), cap; own=false)
    return SignalRing(header, cap, mask, slots)
end

"""Wraps a whole region given the address of its RegionHeader (e.g. from `Mmap.mmap`)."""
function Region(base::Ptr{UInt8})
    load_at(UInt64, base, kRegionMagicOffset) == kRegionMagic || throw(LayoutError("bad region magic"))
    v = load_at(UInt32, base, kRegionVersionOffset)
    v == kLayoutVersion || throw(LayoutError("region layout version $(v), expected $(kLayoutVersion)"))
    Int(load_at(UInt32, base, kRegionTickRecordSizeOffset)) == kTickEntrySize ||
        throw(LayoutError("tick record size mismatch"))
    Int(load_at(UInt32, base, kRegionSignalRecordSizeOffset)) == kSignalRecordSize ||
        throw(LayoutError("signal record size mismatch"))
    Int(load_at(UInt32, base, kRegionRingHeaderSizeOffset)) == kRingHeaderSize ||
        throw(LayoutError("ring header size mismatch"))
    n = Int(load_at(UInt32, base, kRegionTickRingCountOffset))
    rings_off = load_at(UInt64, base, kRegionTickRingsOffset)
    stride = load_at(UInt64, base, kRegionTickRingStrideOffset)
    rings = [TickRing(base + rings_off + (i - 1) * stride) for i in 1:n]
    sig = SignalRing(base + load_at(UInt64, base, kRegionSignalRingOffset))
    return Region(base, rings, sig)
end

@inline load_relaxed(p::Ptr{UInt64}) = Core.Intrinsics.atomic_pointerref(p, :monotonic)

"""
    read_slot(slot, commit) -> (ok, tick)

Seqlock read of a live tick ring slot, in place. The engine saw the slot's commit word equal to
`commit` (ring sequence + 1, acquire) before the call; this loads the tick's words straight from
the slot, then (acquire fence) loads the commit word again. `ok` is false when it changed: a
producer of a later lap took the slot during the read (it swaps the commit word before it writes
a payload word), so `tick` may be torn and must not be used; the engine counts an overrun.
Payload words are loaded as relaxed atomics, like the C++ consumer's, because a producer may be
storing them concurrently. No allocation: the tick is built in registers. `tick.sequence` is
`commit`, as in the slot.
"""
@inline function read_slot(slot::Ptr{TickEntry}, commit::UInt64)
    w = Ptr{UInt64}(slot)
    ts = load_relaxed(w + kTickTsOffset)
    ids = load_relaxed(w + kTickVenueOffset)  # venue_id | symbol_id << 16 | flags << 32
    bid = load_relaxed(w + kTickBidOffset)
    ask = load_relaxed(w + kTickAskOffset)
    bid_size = load_relaxed(w + kTickBidSizeOffset)
    ask_size = load_relaxed(w + kTickAskSizeOffset)
    push = load_relaxed(w + kTickPushNsOffset)
    Core.Intrinsics.atomic_fence(:acquire)
    ok = load_relaxed(w + kTickSequenceOffset) == commit
    t = TickEntry(reinterpret(Int64, ts), ids % UInt16, (ids >> 16) % UInt16, (ids >> 32) % UInt32,
                  reinterpret(Float64, bid), reinterpret(Float64, ask), reinterpret(Float64, bid_size),
                  reinterpret(Float64, ask_size), commit, reinterpret(Int64, push))
    return (ok, t)
end

"""Producer cursor (next sequence to claim) of a ring; a plain load, valid on a quiescent ring."""
ring_head(header::Ptr{UInt8}) = load_at(UInt64, header, kRingHeadOffset)

"""
    replay_ring!(engine, ring, symbol, from, to, out) -> (signals, next)

Runs the strategy over the committed slots of a quiescent tick ring for sequences `from:to-1`,
reading every tick in place. A slot whose commit word is not `seq + 1` was overwritten (or never
written): the missing run is reported to the strategy as a gap, exactly as the live engine does.
Signals are written to `out` (preallocated) until it is full. Returns the number of signals
written and the sequence to continue from.
"""
function replay_ring!(e::Engine, r::TickRing, symbol::Int, from::UInt64, to::UInt64,
                      out::Vector{SignalRecord})
    nsig = 0
    missed = UInt64(0)
    seq = from
    while seq < to
        t = @inbounds r.slots[Int(seq & r.mask)+1]
        if t.sequence != seq + 1
            missed += 1
        else
            if missed > 0
                engine_gap!(e, symbol, missed)
                missed = UInt64(0)
            end
            emitted, rec = engine_tick!(e, t, symbol, seq)
            if emitted && nsig < length(out)
                nsig += 1
                @inbounds out[nsig] = rec
            end
        end
        seq += 1
    end
    missed > 0 && engine_gap!(e, symbol, missed)
    return (nsig, seq)
end
