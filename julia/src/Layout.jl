# Shared-memory layout, mirrored from addon/include/kestrel/layout.h (the one definition).
#
# Same constant names as the C++ header so that test/julia/layout-parity.test.ts can parse both
# files and compare every value; the structs below must have exactly the C field order and types,
# and julia/test/runtests.jl checks `fieldoffset`/`sizeof` against the constants on a real Julia.
# Keep every constant a plain literal (optionally wrapped in its type) so a text parser can read it.

const kRegionMagic = UInt64(0x474E5252544B5345)
const kLayoutVersion = UInt32(1)
const kCacheLine = 64

# Tick flags (TickEntry.flags): the proto TickFlag bits, plus the trade aggressor side.
const kFlagCrossed = UInt32(0x01)
const kFlagStale = UInt32(0x02)
const kFlagGap = UInt32(0x04)
const kFlagSkew = UInt32(0x08)
const kFlagResync = UInt32(0x10)
const kFlagTrade = UInt32(0x20)
const kFlagBuyAggressor = UInt32(0x40)
const kResetMask = UInt32(0x14)    # GAP | RESYNC: the engine resets the symbol's windows
const kTaintMask = UInt32(0x0B)    # CROSSED | STALE | SKEW: the engine skips the tick

# TickEntry: 64 bytes, one cache line.
const kTickEntrySize = 64
const kTickTsOffset = 0
const kTickVenueOffset = 8
const kTickSymbolOffset = 10
const kTickFlagsOffset = 12
const kTickBidOffset = 16
const kTickAskOffset = 24
const kTickBidSizeOffset = 32
const kTickAskSizeOffset = 40
const kTickSequenceOffset = 48
const kTickPushNsOffset = 56

"""
    TickEntry

Bit-for-bit image of the C++ `kestrel::TickEntry`. A trade carries its price in `bid` (and `ask`)
and its quantity in `bid_size`. `sequence` is the ring commit word (ring sequence + 1).
"""
struct TickEntry
    ts_ns::Int64
    venue_id::UInt16
    symbol_id::UInt16
    flags::UInt32
    bid::Float64
    ask::Float64
    bid_size::Float64
    ask_size::Float64
    sequence::UInt64
    push_ns::Int64
end

# SignalRecord: 128 bytes, two cache lines.
const kSideBuy = UInt8(1)
const kSideSell = UInt8(2)
const kUrgencyLow = UInt8(1)
const kUrgencyNormal = UInt8(2)
const kUrgencyHigh = UInt8(3)
const kEngineNative = UInt8(0)
const kEngineJulia = UInt8(1)
# Market regime at decision (docs/STRATEGY.md "Regime"); same numbers as proto Regime.
const kRegimeUnknown = UInt8(0)
const kRegimeMeanReverting = UInt8(1)
const kRegimeTrending = UInt8(2)
const kRegimeHighVol = UInt8(3)

const kSignalRecordSize = 128
const kSigSequenceOffset = 0
const kSigTraceHiOffset = 8
const kSigTraceLoOffset = 16
const kSigStrategyOffset = 24
const kSigSymbolOffset = 28
const kSigVenueOffset = 30
const kSigSideOffset = 32
const kSigUrgencyOffset = 33
const kSigEngineOffset = 34
const kSigRegimeOffset = 35
const kSigTtlOffset = 36
const kSigSizeOffset = 40
const kSigConfidenceOffset = 48
const kSigMaxSlippageOffset = 56
const kSigMinFillOffset = 64
const kSigRefPriceOffset = 72
const kSigZscoreOffset = 80
const kSigSourceSeqOffset = 88
const kSigTickTsOffset = 96
const kSigTickPushNsOffset = 104
const kSigEnginePopNsOffset = 112
const kSigSignalNsOffset = 120

"""
    SignalRecord

Bit-for-bit image of the C++ `kestrel::SignalRecord`. The engine fills every field except
`sequence` and `signal_ns`, which the signal sink stamps when it commits the record.
"""
struct SignalRecord
    sequence::UInt64
    trace_hi::UInt64
    trace_lo::UInt64
    strategy_id::UInt32
    symbol_id::UInt16
    venue_id::UInt16
    side::UInt8
    urgency::UInt8
    engine::UInt8
    regime::UInt8
    ttl_ms::UInt32
    size::Float64
    confidence::Float64
    max_slippage_bps::Float64
    min_fill_qty::Float64
    ref_price::Float64
    zscore::Float64
    source_seq::UInt64
    tick_ts_ns::Int64
    tick_push_ns::Int64
    engine_pop_ns::Int64
    signal_ns::Int64
end

# RingHeader: 256 bytes; slots follow directly (capacity * record_size bytes).
const kRingHeaderSize = 256
const kRingCapacityOffset = 0
const kRingMaskOffset = 8
const kRingRecordSizeOffset = 16
const kRingKindOffset = 20
const kRingSymbolOffset = 24
const kRingHeadOffset = 64
const kRingTailOffset = 128
const kRingOverrunsOffset = 136
const kRingConsumedOffset = 144
const kRingConsumerLagOffset = 192

# RegionHeader: 256 bytes at offset 0 of the /dev/shm file.
const kSymbolNameSize = 32
const kRegionHeaderSize = 256
const kRegionMagicOffset = 0
const kRegionVersionOffset = 8
const kRegionHeaderSizeOffset = 12
const kRegionSizeOffset = 16
const kRegionTickRingCountOffset = 24
const kRegionTickCapacityOffset = 28
const kRegionSignalCapacityOffset = 32
const kRegionTickRecordSizeOffset = 36
const kRegionSignalRecordSizeOffset = 40
const kRegionRingHeaderSizeOffset = 44
const kRegionSymbolsOffset = 48
const kRegionTickRingsOffset = 56
const kRegionTickRingStrideOffset = 64
const kRegionSignalRingOffset = 72
const kRegionCreatorPidOffset = 80
const kRegionDoorbellOffset = 128
const kRegionDoorbellWaitersOffset = 132
const kRegionEngineRunningOffset = 192
const kRegionEnginePidOffset = 196

const kDefaultTickCapacity = UInt32(65536)
const kDefaultSignalCapacity = UInt32(4096)
const kMaxTickRings = UInt32(4096)
