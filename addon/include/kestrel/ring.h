// Lock-free MPSC rings over the layout.h region, with drop-oldest overflow.
//
// Protocol (per slot; the slot's `sequence` field is the commit word):
//   commit word states: 0 = never written; s + 1 = record s committed; kWritingBit | s = record s
//   being written by the producer that owns the slot.
//   producer: s = head.fetch_add(1); slot = s & mask; take ownership with a CAS from a committed
//             state older than s to kWritingBit | s; release fence; write payload; CAS the word
//             kWritingBit | s -> s + 1 (release).
//             A slot already holding a newer record (committed or being written) means ours is
//             obsolete: drop it (the consumer counts it as missed). A slot held by an OLDER producer
//             (one that stalled for a full lap between claim and commit) is waited for, so two
//             writers never interleave payload words; see kStealAfterNs for a dead owner.
//   consumer: want = tail; c1 = slot.sequence (acquire)
//             c1 == want + 1  -> read payload (pop: copy it; consume: the reader reads the slot in
//                               place, e.g. the Julia engine); acquire fence; c2 = slot.sequence;
//                               c2 == c1 -> deliver
//             c1 newer than want (committed or owned), or a torn copy -> overwritten: skip to
//                               head - capacity, count the skipped sequences
//             otherwise (older, or owned by want's own producer) -> not yet written: stop
// Producers never wait for the consumer (market data is drop-oldest); the consumer learns exactly
// how many sequences it missed.
// Slot payloads are read and written as relaxed 64-bit atomic words, never with memcpy: a reader that
// overlaps a later lap's writer must be a defined torn read that the commit-word re-check rejects, not
// a C++ data race (memcpy would be UB, and ThreadSanitizer says so). On x86-64 and aarch64 a relaxed
// 64-bit load/store is a plain mov/ldr, so this costs nothing (docs/PERFORMANCE.md, ring push+pop).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "kestrel/layout.h"

namespace kestrel {

// Commit word of a slot whose record `s` is being written: kWritingBit | s. Sequences stay below 2^63.
inline constexpr std::uint64_t kWritingBit = 1ull << 63;
// A producer waits at most this long for an older producer that owns its slot (one that stalled for a
// full lap mid-write). Past it the owner is presumed dead (a killed process) and the slot is taken over;
// a live producer descheduled that long would have its late stores land on the new record.
inline constexpr std::int64_t kStealAfterNs = 1'000'000'000;

inline std::int64_t monotonic_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// std::atomic_ref is C++20; these helpers give the same semantics on the layout's plain fields.
template <typename T>
inline std::atomic<T>& as_atomic(T& field) noexcept {
  static_assert(sizeof(std::atomic<T>) == sizeof(T) && std::atomic<T>::is_always_lock_free);
  return *reinterpret_cast<std::atomic<T>*>(&field);
}

// Word-wise copies between a private record and a shared slot. Every record size and payload
// boundary is a multiple of 8 and slots are 64-byte aligned (layout.h static_asserts).
inline void store_words(void* shared_dst, const void* src, std::size_t bytes) noexcept {
  auto* d = static_cast<std::uint64_t*>(shared_dst);
  const char* s = static_cast<const char*>(src);
  for (std::size_t i = 0; i < bytes / 8; ++i) {
    std::uint64_t w;
    std::memcpy(&w, s + 8 * i, 8);
    as_atomic(d[i]).store(w, std::memory_order_relaxed);
  }
}
inline void load_words(void* dst, const void* shared_src, std::size_t bytes) noexcept {
  auto* s = static_cast<std::uint64_t*>(const_cast<void*>(shared_src));
  char* d = static_cast<char*>(dst);
  for (std::size_t i = 0; i < bytes / 8; ++i) {
    const std::uint64_t w = as_atomic(s[i]).load(std::memory_order_relaxed);
    std::memcpy(d + 8 * i, &w, 8);
  }
}

struct PopResult {
  std::uint64_t delivered = 0;  // records copied out
  std::uint64_t missed = 0;     // sequences overwritten before they could be read
};

// View over one ring (header + slots) inside a mapped region. Trivially copyable.
template <typename Record>
class RingView {
 public:
  RingView() = default;
  RingView(RingHeader* header, Record* slots) : h_(header), slots_(slots) {}

  RingHeader* header() const noexcept { return h_; }
  std::uint64_t capacity() const noexcept { return h_->capacity; }
  std::uint64_t head() const noexcept { return as_atomic(h_->head).load(std::memory_order_acquire); }
  std::uint64_t tail() const noexcept { return as_atomic(h_->tail).load(std::memory_order_acquire); }

  // Any thread/process. `rec.sequence` is overwritten. Returns the ring sequence.
  std::uint64_t push(const Record& rec, std::int64_t now_ns) noexcept {
    return push(rec, now_ns, [](std::uint64_t) {});
  }
  // `owned(s)` runs once this producer owns the slot, before the payload is written: the ring stress
  // test uses it to stall a producer for a full lap at the worst moment.
  template <typename OnOwned>
  std::uint64_t push(const Record& rec, std::int64_t now_ns, OnOwned&& owned_hook) noexcept {
    const std::uint64_t s = as_atomic(h_->head).fetch_add(1, std::memory_order_acq_rel);
    Record& slot = slots_[s & h_->mask];
    auto& word = as_atomic(slot.sequence);
    const std::uint64_t mine = kWritingBit | s;
    std::uint64_t cur = word.load(std::memory_order_acquire);
    std::int64_t wait_since = 0;
    for (;;) {
      const bool owned = (cur & kWritingBit) != 0;
      const std::uint64_t other = owned ? (cur & ~kWritingBit) : cur - 1;  // record seq in the slot
      if (cur != 0 && other > s) return s;  // a later lap already has the slot: ours is obsolete
      if (owned) {
        // An earlier lap's producer is still writing this slot: never interleave with it.
        const std::int64_t now = monotonic_ns();
        if (wait_since == 0) wait_since = now;
        if (now - wait_since < kStealAfterNs) {
          std::this_thread::yield();
          cur = word.load(std::memory_order_acquire);
          continue;
        }
      }
      if (word.compare_exchange_weak(cur, mine, std::memory_order_acq_rel, std::memory_order_acquire)) break;
    }
    std::atomic_thread_fence(std::memory_order_release);
    owned_hook(s);
    copy_payload(slot, rec);
    stamp(slot, now_ns);
    std::uint64_t expected = mine;
    // Fails only if the slot was taken over after kStealAfterNs; the new owner's commit stands.
    word.compare_exchange_strong(expected, s + 1, std::memory_order_release, std::memory_order_relaxed);
    return s;
  }

  // Single consumer. Copies up to `max` records into `out`, in sequence order; reports misses.
  // `seq_out` (optional) receives each delivered record's ring sequence.
  PopResult pop(Record* out, std::uint64_t max, std::uint64_t* seq_out = nullptr) noexcept {
    std::uint64_t n = 0;
    return consume(
        max,
        [&](Record& slot, std::uint64_t want, std::uint64_t c1) noexcept {
          load_words(&out[n], &slot, sizeof(Record));
          if (!still_committed(slot, c1)) return false;  // torn: a later lap started writing during our copy
          out[n].sequence = want;                        // hand out the plain sequence, not the commit word
          if (seq_out) seq_out[n] = want;
          ++n;
          return true;
        },
        [](std::uint64_t) noexcept {});
  }

  // Single consumer, in place: the slot protocol of pop without the copy. For each committed slot, in
  // sequence order, `read(slot, seq, commit)` reads the payload straight from the ring and must then
  // re-check the commit word (still_committed, or the same acquire fence + load in Julia) and return
  // false, having used nothing it read, when the slot was overwritten meanwhile (torn). `missed(n)`
  // runs for every run of overwritten sequences, before the record that follows it is read. Like pop,
  // it stops at an overrun once it delivered a record, so misses always precede records.
  template <typename Read, typename Missed>
  PopResult consume(std::uint64_t max, Read&& read, Missed&& missed) {
    PopResult r;
    std::uint64_t want = as_atomic(h_->tail).load(std::memory_order_relaxed);
    while (r.delivered < max) {
      Record& slot = slots_[want & h_->mask];
      const std::uint64_t c1 = as_atomic(slot.sequence).load(std::memory_order_acquire);
      if (c1 == want + 1) {
        if (read(slot, want, c1)) {
          ++r.delivered;
          ++want;
          continue;
        }
        // Torn: a producer of a later lap started writing during the read.
      } else {
        const bool owned = (c1 & kWritingBit) != 0;
        const std::uint64_t in_slot = owned ? (c1 & ~kWritingBit) : c1 - 1;
        // Never written, an older lap, or `want` itself mid-write: nothing to read yet.
        if (c1 == 0 || in_slot <= want) break;
      }
      // Overrun. Stop first if we already delivered: a PopResult's misses always precede its
      // records, so the consumer can reset its per-symbol state before the first post-gap tick.
      if (r.delivered > 0) break;
      // Everything older than head - capacity is gone.
      const std::uint64_t head = as_atomic(h_->head).load(std::memory_order_acquire);
      std::uint64_t resume = head > h_->capacity ? head - h_->capacity : 0;
      if (resume <= want) resume = want + 1;
      r.missed += resume - want;
      missed(resume - want);
      want = resume;
    }
    as_atomic(h_->tail).store(want, std::memory_order_release);
    if (r.missed) as_atomic(h_->overruns).fetch_add(r.missed, std::memory_order_relaxed);
    if (r.delivered) as_atomic(h_->consumed).fetch_add(r.delivered, std::memory_order_relaxed);
    return r;
  }

  // Second half of a seqlock read of `slot` (whose commit word was `c1` before the payload loads):
  // true when no producer has touched the slot since, i.e. what was read is record c1 - 1 whole.
  static bool still_committed(const Record& slot, std::uint64_t c1) noexcept {
    std::atomic_thread_fence(std::memory_order_acquire);
    return as_atomic(const_cast<Record&>(slot).sequence).load(std::memory_order_relaxed) == c1;
  }

  // Cheap check for the engine loop: is there possibly something to read?
  bool maybe_nonempty() const noexcept {
    return as_atomic(h_->head).load(std::memory_order_acquire) != as_atomic(h_->tail).load(std::memory_order_relaxed);
  }

 private:
  static void copy_payload(Record& slot, const Record& rec) noexcept;
  static void stamp(Record& slot, std::int64_t now_ns) noexcept;

  RingHeader* h_ = nullptr;
  Record* slots_ = nullptr;
};

// TickEntry: commit word at @48; payload is [0,48) and push_ns @56 (stamped by the ring).
template <>
inline void RingView<TickEntry>::copy_payload(TickEntry& slot, const TickEntry& rec) noexcept {
  store_words(&slot, &rec, kTickSequenceOffset);
}
template <>
inline void RingView<TickEntry>::stamp(TickEntry& slot, std::int64_t now_ns) noexcept {
  as_atomic(slot.push_ns).store(now_ns, std::memory_order_relaxed);
}
// SignalRecord: commit word at @0; payload [8,120); signal_ns @120 stamped by the ring.
template <>
inline void RingView<SignalRecord>::copy_payload(SignalRecord& slot, const SignalRecord& rec) noexcept {
  store_words(reinterpret_cast<char*>(&slot) + 8, reinterpret_cast<const char*>(&rec) + 8, kSigSignalNsOffset - 8);
}
template <>
inline void RingView<SignalRecord>::stamp(SignalRecord& slot, std::int64_t now_ns) noexcept {
  as_atomic(slot.signal_ns).store(now_ns, std::memory_order_relaxed);
}

using TickRing = RingView<TickEntry>;
using SignalRing = RingView<SignalRecord>;

// Geometry of a region, computed identically by creator and attacher.
struct RegionGeometry {
  std::uint64_t symbols_offset, tick_rings_offset, tick_ring_stride, signal_ring_offset, total;
};

inline RegionGeometry region_geometry(std::uint32_t rings, std::uint32_t tick_cap, std::uint32_t sig_cap) noexcept {
  auto align = [](std::uint64_t v, std::uint64_t a) { return (v + a - 1) / a * a; };
  RegionGeometry g{};
  g.symbols_offset = kRegionHeaderSize;
  g.tick_rings_offset = align(g.symbols_offset + std::uint64_t(rings) * kSymbolNameSize, 4096);
  g.tick_ring_stride = align(kRingHeaderSize + std::uint64_t(tick_cap) * kTickEntrySize, 4096);
  g.signal_ring_offset = g.tick_rings_offset + g.tick_ring_stride * rings;
  g.total = align(g.signal_ring_offset + kRingHeaderSize + std::uint64_t(sig_cap) * kSignalRecordSize, 4096);
  return g;
}

// RAII owner of one mapping of a /dev/shm region (creator or attacher).
class ShmRegion {
 public:
  struct Options {
    std::string name;  // shm name without leading '/', e.g. "kestrel-main"
    std::uint32_t symbols = 1;
    std::uint32_t tick_capacity = kDefaultTickCapacity;
    std::uint32_t signal_capacity = kDefaultSignalCapacity;
  };
  // Throws RegionError on any failure. create: O_CREAT|O_EXCL unless `replace` (unlink first).
  static ShmRegion create(const Options& o, const char* const* symbol_names, bool replace);
  static ShmRegion attach(const std::string& name);

  ShmRegion() = default;
  ShmRegion(ShmRegion&& o) noexcept { *this = std::move(o); }
  ShmRegion& operator=(ShmRegion&& o) noexcept;
  ShmRegion(const ShmRegion&) = delete;
  ShmRegion& operator=(const ShmRegion&) = delete;
  ~ShmRegion();

  bool valid() const noexcept { return base_ != nullptr; }
  char* base() const noexcept { return base_; }
  std::size_t size() const noexcept { return size_; }
  const std::string& name() const noexcept { return name_; }
  bool owner() const noexcept { return owner_; }
  RegionHeader* header() const noexcept { return reinterpret_cast<RegionHeader*>(base_); }
  std::uint32_t symbols() const noexcept { return header()->tick_ring_count; }
  TickRing tick_ring(std::uint32_t i) const noexcept;
  SignalRing signal_ring() const noexcept;
  std::string symbol_name(std::uint32_t i) const;
  // Unlink the name (the mapping stays valid until every process unmaps).
  void unlink() noexcept;
  // Wake a consumer sleeping on the doorbell (cheap when nobody sleeps).
  void ring_doorbell() noexcept;
  // Wake every sleeper unconditionally (engine stop).
  void wake_all() noexcept;
  // Consumer: sleep until the doorbell changes from `seen` or `timeout_ns` passes.
  void wait_doorbell(std::uint32_t seen, std::int64_t timeout_ns) noexcept;

 private:
  char* base_ = nullptr;
  std::size_t size_ = 0;
  std::string name_;
  bool owner_ = false;
};

class RegionError : public std::runtime_error {
 public:
  RegionError(std::string code, const std::string& msg) : std::runtime_error(msg), code_(std::move(code)) {}
  const std::string& code() const noexcept { return code_; }

 private:
  std::string code_;
};

}  // namespace kestrel
