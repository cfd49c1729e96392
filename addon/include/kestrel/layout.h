// Kestrel shared-memory layout: the ONE definition of every byte in the /dev/shm ring region.
//
// Mirrors: src/native/layout.ts (checked by test/native/layout.test.ts against the addon's layout())
// and julia/src/Layout.jl (checked by a Julia-side test that parses this file). Keep the literal
// form: one `inline constexpr std::size_t kXxxOffset = N;` per field plus a static_assert against
// offsetof, so a text parser can read the constants without a C++ compiler.
//
// All integers are little-endian (x86-64, aarch64). Atomic fields are 8-byte aligned and accessed
// with std::atomic_ref-compatible plain 64/32-bit atomics (address-free, so valid across processes).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kestrel {

inline constexpr std::uint64_t kRegionMagic = 0x474E5252544B5345ull;  // "ESKTRRNG" little-endian
inline constexpr std::uint32_t kLayoutVersion = 1;
inline constexpr std::size_t kCacheLine = 64;

// ---------------------------------------------------------------------------------------------
// Tick flags (TickEntry.flags) — the same bits as TickFlag in proto/ (src/contracts/market.ts),
// so ingestion copies NormalizedTick.flags unchanged; bit 6 adds the trade aggressor side.
// ---------------------------------------------------------------------------------------------
inline constexpr std::uint32_t kFlagCrossed = 1u << 0;  // quality: bid >= ask as received
inline constexpr std::uint32_t kFlagStale = 1u << 1;    // quality: older than the staleness budget
inline constexpr std::uint32_t kFlagGap = 1u << 2;      // quality: venue sequence gap before this tick
inline constexpr std::uint32_t kFlagSkew = 1u << 3;     // quality: venue/local clock skew out of bounds
inline constexpr std::uint32_t kFlagResync = 1u << 4;   // quality: first tick after a book resync
inline constexpr std::uint32_t kFlagTrade = 1u << 5;    // kind: trade (bid = ask = price, bid_size = qty); else quote
inline constexpr std::uint32_t kFlagBuyAggressor = 1u << 6;          // trade: the taker bought (Binance m=false)
inline constexpr std::uint32_t kResetMask = kFlagGap | kFlagResync;  // engine resets the symbol's windows
inline constexpr std::uint32_t kTaintMask = kFlagCrossed | kFlagStale | kFlagSkew;  // engine skips the tick

// ---------------------------------------------------------------------------------------------
// TickEntry: 64 bytes, one cache line (AoS; see docs/ADDON.md "Record layout" for the measurement)
// ---------------------------------------------------------------------------------------------
struct alignas(64) TickEntry {
  std::int64_t ts_ns;       // @0  event time (ns since epoch; venue time or local receive time)
  std::uint16_t venue_id;   // @8  src/contracts/market.ts venue id
  std::uint16_t symbol_id;  // @10 ring index == symbol id inside one region
  std::uint32_t flags;      // @12 quality | trade | aggressor bits (above)
  double bid;               // @16 best bid price (trade: trade price)
  double ask;               // @24 best ask price (trade: trade price)
  double bid_size;          // @32 best bid size (trade: quantity)
  double ask_size;          // @40 best ask size (trade: 0)
  std::uint64_t sequence;   // @48 ring commit word: ring sequence + 1 once written (0 = never written)
  std::int64_t push_ns;     // @56 CLOCK_MONOTONIC ns when the producer committed the record
};
inline constexpr std::size_t kTickEntrySize = 64;
inline constexpr std::size_t kTickTsOffset = 0;
inline constexpr std::size_t kTickVenueOffset = 8;
inline constexpr std::size_t kTickSymbolOffset = 10;
inline constexpr std::size_t kTickFlagsOffset = 12;
inline constexpr std::size_t kTickBidOffset = 16;
inline constexpr std::size_t kTickAskOffset = 24;
inline constexpr std::size_t kTickBidSizeOffset = 32;
inline constexpr std::size_t kTickAskSizeOffset = 40;
inline constexpr std::size_t kTickSequenceOffset = 48;
inline constexpr std::size_t kTickPushNsOffset = 56;
static_assert(sizeof(TickEntry) == kTickEntrySize);
static_assert(alignof(TickEntry) == 64);
static_assert(offsetof(TickEntry, ts_ns) == kTickTsOffset);
static_assert(offsetof(TickEntry, venue_id) == kTickVenueOffset);
static_assert(offsetof(TickEntry, symbol_id) == kTickSymbolOffset);
static_assert(offsetof(TickEntry, flags) == kTickFlagsOffset);
static_assert(offsetof(TickEntry, bid) == kTickBidOffset);
static_assert(offsetof(TickEntry, ask) == kTickAskOffset);
static_assert(offsetof(TickEntry, bid_size) == kTickBidSizeOffset);
static_assert(offsetof(TickEntry, ask_size) == kTickAskSizeOffset);
static_assert(offsetof(TickEntry, sequence) == kTickSequenceOffset);
static_assert(offsetof(TickEntry, push_ns) == kTickPushNsOffset);

// ---------------------------------------------------------------------------------------------
// SignalRecord: 128 bytes, two cache lines (engine -> execution)
// ---------------------------------------------------------------------------------------------
inline constexpr std::uint8_t kSideBuy = 1;
inline constexpr std::uint8_t kSideSell = 2;
inline constexpr std::uint8_t kUrgencyLow = 1;  // same numbers as proto Urgency
inline constexpr std::uint8_t kUrgencyNormal = 2;
inline constexpr std::uint8_t kUrgencyHigh = 3;
inline constexpr std::uint8_t kEngineNative = 0;
inline constexpr std::uint8_t kEngineJulia = 1;
// Market regime at decision (docs/STRATEGY.md "Regime"); same numbers as proto Regime.
inline constexpr std::uint8_t kRegimeUnknown = 0;
inline constexpr std::uint8_t kRegimeMeanReverting = 1;
inline constexpr std::uint8_t kRegimeTrending = 2;
inline constexpr std::uint8_t kRegimeHighVol = 3;

struct alignas(64) SignalRecord {
  std::uint64_t sequence;      // @0   ring commit word (ring sequence + 1)
  std::uint64_t trace_hi;      // @8   trace id, high 64 bits (deterministic, see STRATEGY.md)
  std::uint64_t trace_lo;      // @16  trace id, low 64 bits
  std::uint32_t strategy_id;   // @24
  std::uint16_t symbol_id;     // @28
  std::uint16_t venue_id;      // @30
  std::uint8_t side;           // @32  kSideBuy | kSideSell (same numbers as proto Side)
  std::uint8_t urgency;        // @33  kUrgencyLow | Normal | High
  std::uint8_t engine;         // @34  kEngineNative | kEngineJulia
  std::uint8_t regime;         // @35  kRegime* (same numbers as proto Regime)
  std::uint32_t ttl_ms;        // @36
  double size;                 // @40  base units
  double confidence;           // @48  [0, 1]
  double max_slippage_bps;     // @56
  double min_fill_qty;         // @64  base units
  double ref_price;            // @72  mid at decision
  double zscore;               // @80  OU z-score at decision
  std::uint64_t source_seq;    // @88  tick ring sequence of the triggering tick
  std::int64_t tick_ts_ns;     // @96  TickEntry.ts_ns of the triggering tick
  std::int64_t tick_push_ns;   // @104 TickEntry.push_ns (monotonic) of the triggering tick
  std::int64_t engine_pop_ns;  // @112 monotonic ns when the engine popped the tick
  std::int64_t signal_ns;      // @120 monotonic ns when the signal was committed
};
inline constexpr std::size_t kSignalRecordSize = 128;
inline constexpr std::size_t kSigSequenceOffset = 0;
inline constexpr std::size_t kSigTraceHiOffset = 8;
inline constexpr std::size_t kSigTraceLoOffset = 16;
inline constexpr std::size_t kSigStrategyOffset = 24;
inline constexpr std::size_t kSigSymbolOffset = 28;
inline constexpr std::size_t kSigVenueOffset = 30;
inline constexpr std::size_t kSigSideOffset = 32;
inline constexpr std::size_t kSigUrgencyOffset = 33;
inline constexpr std::size_t kSigEngineOffset = 34;
inline constexpr std::size_t kSigRegimeOffset = 35;
inline constexpr std::size_t kSigTtlOffset = 36;
inline constexpr std::size_t kSigSizeOffset = 40;
inline constexpr std::size_t kSigConfidenceOffset = 48;
inline constexpr std::size_t kSigMaxSlippageOffset = 56;
inline constexpr std::size_t kSigMinFillOffset = 64;
inline constexpr std::size_t kSigRefPriceOffset = 72;
inline constexpr std::size_t kSigZscoreOffset = 80;
inline constexpr std::size_t kSigSourceSeqOffset = 88;
inline constexpr std::size_t kSigTickTsOffset = 96;
inline constexpr std::size_t kSigTickPushNsOffset = 104;
inline constexpr std::size_t kSigEnginePopNsOffset = 112;
inline constexpr std::size_t kSigSignalNsOffset = 120;
static_assert(sizeof(SignalRecord) == kSignalRecordSize);
static_assert(offsetof(SignalRecord, sequence) == kSigSequenceOffset);
static_assert(offsetof(SignalRecord, trace_hi) == kSigTraceHiOffset);
static_assert(offsetof(SignalRecord, trace_lo) == kSigTraceLoOffset);
static_assert(offsetof(SignalRecord, strategy_id) == kSigStrategyOffset);
static_assert(offsetof(SignalRecord, symbol_id) == kSigSymbolOffset);
static_assert(offsetof(SignalRecord, venue_id) == kSigVenueOffset);
static_assert(offsetof(SignalRecord, side) == kSigSideOffset);
static_assert(offsetof(SignalRecord, urgency) == kSigUrgencyOffset);
static_assert(offsetof(SignalRecord, engine) == kSigEngineOffset);
static_assert(offsetof(SignalRecord, regime) == kSigRegimeOffset);
static_assert(offsetof(SignalRecord, ttl_ms) == kSigTtlOffset);
static_assert(offsetof(SignalRecord, size) == kSigSizeOffset);
static_assert(offsetof(SignalRecord, confidence) == kSigConfidenceOffset);
static_assert(offsetof(SignalRecord, max_slippage_bps) == kSigMaxSlippageOffset);
static_assert(offsetof(SignalRecord, min_fill_qty) == kSigMinFillOffset);
static_assert(offsetof(SignalRecord, ref_price) == kSigRefPriceOffset);
static_assert(offsetof(SignalRecord, zscore) == kSigZscoreOffset);
static_assert(offsetof(SignalRecord, source_seq) == kSigSourceSeqOffset);
static_assert(offsetof(SignalRecord, tick_ts_ns) == kSigTickTsOffset);
static_assert(offsetof(SignalRecord, tick_push_ns) == kSigTickPushNsOffset);
static_assert(offsetof(SignalRecord, engine_pop_ns) == kSigEnginePopNsOffset);
static_assert(offsetof(SignalRecord, signal_ns) == kSigSignalNsOffset);

// ---------------------------------------------------------------------------------------------
// RingHeader: 256 bytes. Producer cursor, consumer cursor and static fields each own a cache line,
// so producers never write the line the consumer writes (no false sharing).
// Slots follow the header directly: capacity * record_size bytes.
// ---------------------------------------------------------------------------------------------
struct alignas(64) RingHeader {
  std::uint64_t capacity;         // @0   power of two
  std::uint64_t mask;             // @8   capacity - 1
  std::uint32_t record_size;      // @16  64 (ticks) or 128 (signals)
  std::uint32_t ring_kind;        // @20  0 = tick ring, 1 = signal ring
  std::uint32_t symbol_id;        // @24  tick ring: its symbol id; signal ring: 0xFFFFFFFF
  std::uint32_t reserved0;        // @28
  std::uint8_t pad0[32];          // @32
  std::uint64_t head;             // @64  atomic: next sequence to claim (producers, fetch_add)
  std::uint8_t pad1[56];          // @72
  std::uint64_t tail;             // @128 atomic: next sequence to read (the single consumer)
  std::uint64_t overruns;         // @136 atomic: records overwritten before the consumer read them
  std::uint64_t consumed;         // @144 atomic: records the consumer read
  std::uint8_t pad2[40];          // @152
  std::uint64_t consumer_lag_ns;  // @192 atomic: monotonic now - push_ns of the last record read
  std::uint8_t pad3[56];          // @200
};
inline constexpr std::size_t kRingHeaderSize = 256;
inline constexpr std::size_t kRingCapacityOffset = 0;
inline constexpr std::size_t kRingMaskOffset = 8;
inline constexpr std::size_t kRingRecordSizeOffset = 16;
inline constexpr std::size_t kRingKindOffset = 20;
inline constexpr std::size_t kRingSymbolOffset = 24;
inline constexpr std::size_t kRingHeadOffset = 64;
inline constexpr std::size_t kRingTailOffset = 128;
inline constexpr std::size_t kRingOverrunsOffset = 136;
inline constexpr std::size_t kRingConsumedOffset = 144;
inline constexpr std::size_t kRingConsumerLagOffset = 192;
static_assert(sizeof(RingHeader) == kRingHeaderSize);
static_assert(offsetof(RingHeader, capacity) == kRingCapacityOffset);
static_assert(offsetof(RingHeader, mask) == kRingMaskOffset);
static_assert(offsetof(RingHeader, record_size) == kRingRecordSizeOffset);
static_assert(offsetof(RingHeader, ring_kind) == kRingKindOffset);
static_assert(offsetof(RingHeader, symbol_id) == kRingSymbolOffset);
static_assert(offsetof(RingHeader, head) == kRingHeadOffset);
static_assert(offsetof(RingHeader, tail) == kRingTailOffset);
static_assert(offsetof(RingHeader, overruns) == kRingOverrunsOffset);
static_assert(offsetof(RingHeader, consumed) == kRingConsumedOffset);
static_assert(offsetof(RingHeader, consumer_lag_ns) == kRingConsumerLagOffset);

// ---------------------------------------------------------------------------------------------
// RegionHeader: 256 bytes at offset 0 of the /dev/shm file.
// Region = RegionHeader | symbol table (tick_ring_count * 32 bytes, padded to 64) |
//          tick rings (each RingHeader + capacity * 64) | signal ring (RingHeader + capacity * 128)
// ---------------------------------------------------------------------------------------------
inline constexpr std::size_t kSymbolNameSize = 32;  // NUL-padded UTF-8, at most 31 bytes

struct alignas(64) RegionHeader {
  std::uint64_t magic;               // @0   kRegionMagic (written last by the creator: "ready")
  std::uint32_t version;             // @8   kLayoutVersion
  std::uint32_t header_size;         // @12  256
  std::uint64_t region_size;         // @16  bytes of the whole file
  std::uint32_t tick_ring_count;     // @24
  std::uint32_t tick_capacity;       // @28
  std::uint32_t signal_capacity;     // @32
  std::uint32_t tick_record_size;    // @36  64
  std::uint32_t signal_record_size;  // @40 128
  std::uint32_t ring_header_size;    // @44  256
  std::uint64_t symbols_offset;      // @48
  std::uint64_t tick_rings_offset;   // @56
  std::uint64_t tick_ring_stride;    // @64  bytes from one tick ring header to the next
  std::uint64_t signal_ring_offset;  // @72
  std::uint32_t creator_pid;         // @80
  std::uint32_t reserved0;           // @84
  std::uint8_t pad0[40];             // @88
  std::uint32_t doorbell;            // @128 atomic futex word: bumped by producers to wake a sleeping consumer
  std::uint32_t doorbell_waiters;    // @132 atomic: nonzero while the engine sleeps on the doorbell
  std::uint8_t pad1[56];             // @136
  std::uint32_t engine_running;      // @192 atomic: 1 while an engine thread consumes this region
  std::uint32_t engine_pid;          // @196
  std::uint8_t pad2[56];             // @200
};
inline constexpr std::size_t kRegionHeaderSize = 256;
inline constexpr std::size_t kRegionMagicOffset = 0;
inline constexpr std::size_t kRegionVersionOffset = 8;
inline constexpr std::size_t kRegionHeaderSizeOffset = 12;
inline constexpr std::size_t kRegionSizeOffset = 16;
inline constexpr std::size_t kRegionTickRingCountOffset = 24;
inline constexpr std::size_t kRegionTickCapacityOffset = 28;
inline constexpr std::size_t kRegionSignalCapacityOffset = 32;
inline constexpr std::size_t kRegionTickRecordSizeOffset = 36;
inline constexpr std::size_t kRegionSignalRecordSizeOffset = 40;
inline constexpr std::size_t kRegionRingHeaderSizeOffset = 44;
inline constexpr std::size_t kRegionSymbolsOffset = 48;
inline constexpr std::size_t kRegionTickRingsOffset = 56;
inline constexpr std::size_t kRegionTickRingStrideOffset = 64;
inline constexpr std::size_t kRegionSignalRingOffset = 72;
inline constexpr std::size_t kRegionCreatorPidOffset = 80;
inline constexpr std::size_t kRegionDoorbellOffset = 128;
inline constexpr std::size_t kRegionDoorbellWaitersOffset = 132;
inline constexpr std::size_t kRegionEngineRunningOffset = 192;
inline constexpr std::size_t kRegionEnginePidOffset = 196;
static_assert(sizeof(RegionHeader) == kRegionHeaderSize);
static_assert(offsetof(RegionHeader, magic) == kRegionMagicOffset);
static_assert(offsetof(RegionHeader, version) == kRegionVersionOffset);
static_assert(offsetof(RegionHeader, header_size) == kRegionHeaderSizeOffset);
static_assert(offsetof(RegionHeader, region_size) == kRegionSizeOffset);
static_assert(offsetof(RegionHeader, tick_ring_count) == kRegionTickRingCountOffset);
static_assert(offsetof(RegionHeader, tick_capacity) == kRegionTickCapacityOffset);
static_assert(offsetof(RegionHeader, signal_capacity) == kRegionSignalCapacityOffset);
static_assert(offsetof(RegionHeader, tick_record_size) == kRegionTickRecordSizeOffset);
static_assert(offsetof(RegionHeader, signal_record_size) == kRegionSignalRecordSizeOffset);
static_assert(offsetof(RegionHeader, ring_header_size) == kRegionRingHeaderSizeOffset);
static_assert(offsetof(RegionHeader, symbols_offset) == kRegionSymbolsOffset);
static_assert(offsetof(RegionHeader, tick_rings_offset) == kRegionTickRingsOffset);
static_assert(offsetof(RegionHeader, tick_ring_stride) == kRegionTickRingStrideOffset);
static_assert(offsetof(RegionHeader, signal_ring_offset) == kRegionSignalRingOffset);
static_assert(offsetof(RegionHeader, creator_pid) == kRegionCreatorPidOffset);
static_assert(offsetof(RegionHeader, doorbell) == kRegionDoorbellOffset);
static_assert(offsetof(RegionHeader, doorbell_waiters) == kRegionDoorbellWaitersOffset);
static_assert(offsetof(RegionHeader, engine_running) == kRegionEngineRunningOffset);
static_assert(offsetof(RegionHeader, engine_pid) == kRegionEnginePidOffset);

inline constexpr std::uint32_t kDefaultTickCapacity = 65536;
inline constexpr std::uint32_t kDefaultSignalCapacity = 4096;
inline constexpr std::uint32_t kMaxTickRings = 4096;

}  // namespace kestrel
