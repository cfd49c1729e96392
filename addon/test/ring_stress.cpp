// Ring stress test: std::thread producers hammer one tick ring and one signal ring of a real /dev/shm
// region while one consumer per ring drains them. Built plain and under ThreadSanitizer
// (-DKESTREL_TSAN=ON); both runs must exit 0 and TSan must report nothing (scripts/ring-stress.sh).
//
// What it proves, per ring:
//   - no delivered record is torn: every payload word is derived from (producer, counter), and the
//     consumer recomputes them;
//   - per producer, counters arrive strictly increasing (claim order = delivery order);
//   - nothing is lost silently: delivered + missed == pushed, after a final drain;
//   - overruns really happen (the rings are small and the consumer is throttled), so the torn-read and
//     skip paths run, not only the happy path.
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "kestrel/ring.h"

using namespace kestrel;

namespace {

constexpr int kProducers = 3;
std::atomic<int> g_failures{0};

void fail(const char* what, std::uint64_t a, std::uint64_t b) {
  if (g_failures.fetch_add(1) < 10) std::fprintf(stderr, "ring_stress: %s (%" PRIu64 ", %" PRIu64 ")\n", what, a, b);
}

// A value per (producer, counter, word) that a torn mix of two records cannot reproduce.
double tag(int producer, std::uint64_t counter, int word) {
  return static_cast<double>(counter) * 8.0 + producer * 2.0 + word * 0.25;
}

struct Tally {
  std::uint64_t delivered = 0, missed = 0;
  std::uint64_t last[kProducers] = {};
  bool seen[kProducers] = {};
};

void check_tick(const TickEntry& t, Tally& tally) {
  const int p = t.venue_id;
  if (p < 0 || p >= kProducers) return fail("tick: bad producer id", std::uint64_t(p), 0);
  const std::uint64_t c = static_cast<std::uint64_t>(t.ts_ns);
  if (t.bid != tag(p, c, 0) || t.ask != tag(p, c, 1) || t.bid_size != tag(p, c, 2) || t.ask_size != tag(p, c, 3) ||
      t.flags != static_cast<std::uint32_t>(c * 2654435761u) || t.symbol_id != static_cast<std::uint16_t>(c))
    return fail("tick: torn record delivered", std::uint64_t(p), c);
  if (tally.seen[p] && c <= tally.last[p]) fail("tick: producer order violated", tally.last[p], c);
  tally.seen[p] = true;
  tally.last[p] = c;
}

void check_signal(const SignalRecord& s, Tally& tally) {
  std::uint64_t words[16];
  std::memcpy(words, &s, sizeof(words));
  const std::uint64_t p = words[1] >> 48;
  const std::uint64_t c = words[1] & 0xFFFFFFFFFFFFull;
  if (p >= kProducers) return fail("signal: bad producer id", p, 0);
  for (int w = 2; w < 15; ++w)
    if (words[w] != (words[1] ^ (0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(w))))
      return fail("signal: torn record delivered", p, c);
  if (tally.seen[p] && c <= tally.last[p]) fail("signal: producer order violated", tally.last[p], c);
  tally.seen[p] = true;
  tally.last[p] = c;
}

template <typename Record, typename Make, typename Check>
bool run(const char* name, RingView<Record> ring, std::uint64_t per_producer, Make make, Check check) {
  std::atomic<int> producers_left{kProducers};
  Tally tally;
  std::vector<Record> buf(64);
  std::thread consumer([&] {
    // Start late, once the producers are two laps ahead: at least one overrun is then certain, whatever
    // the scheduler does later (a consumer that keeps up would leave the skip path untested).
    while (ring.head() < 2 * ring.capacity() && producers_left.load(std::memory_order_acquire) > 0)
      std::this_thread::yield();
    std::uint64_t polls = 0;
    for (;;) {
      const bool done = producers_left.load(std::memory_order_acquire) == 0;
      const PopResult r = ring.pop(buf.data(), buf.size());
      tally.missed += r.missed;
      if (r.missed) std::fill(std::begin(tally.seen), std::end(tally.seen), false);  // a gap may hide any order
      for (std::uint64_t i = 0; i < r.delivered; ++i) check(buf[i], tally);
      tally.delivered += r.delivered;
      if (done && r.delivered == 0 && r.missed == 0) break;
      // Throttle now and then so the producers lap the consumer and the overrun paths run.
      if (++polls % 8 == 0) std::this_thread::yield();
    }
  });
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (std::uint64_t c = 1; c <= per_producer; ++c) {
        ring.push(make(p, c), static_cast<std::int64_t>(c));
        // Bursts with gaps: the consumer keeps up between bursts (so records are delivered and
        // checked) and is lapped inside them (so the overrun and torn-read paths run).
        if (c % 512 == 0) std::this_thread::yield();
      }
      producers_left.fetch_sub(1, std::memory_order_acq_rel);
    });
  }
  for (auto& t : producers) t.join();
  consumer.join();
  const std::uint64_t pushed = per_producer * kProducers;
  std::printf("ring_stress %s: pushed %" PRIu64 " delivered %" PRIu64 " missed %" PRIu64 " (capacity %" PRIu64 ")\n",
              name, pushed, tally.delivered, tally.missed, ring.capacity());
  if (tally.delivered + tally.missed != pushed)
    fail("delivered + missed != pushed", tally.delivered + tally.missed, pushed);
  if (ring.head() != pushed) fail("head != pushed", ring.head(), pushed);
  if (tally.missed == 0) fail("no overrun happened: the skip path was not exercised", 0, pushed);
  if (tally.delivered == 0) fail("nothing delivered", 0, pushed);
  return g_failures.load() == 0;
}

// A producer that stalls for a full lap between owning its slot and writing it: the producer of the
// same slot one lap later must not interleave with it, and the consumer must never be handed a
// record whose payload is not the one its sequence names.
bool lap_stall(SignalRing ring) {
  auto make = [](std::uint64_t c) {
    std::uint64_t words[16] = {};
    words[1] = (std::uint64_t{7} << 48) | c;
    for (int w = 2; w < 15; ++w) words[w] = words[1] ^ (0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(w));
    SignalRecord s;
    std::memcpy(static_cast<void*>(&s), words, sizeof(words));
    return s;
  };
  const std::uint64_t base = ring.head();
  const std::uint64_t cap = ring.capacity();
  std::atomic<bool> owns{false}, release{false};
  std::thread stalled([&] {
    ring.push(make(base), 0, [&](std::uint64_t) {
      owns.store(true);
      while (!release.load()) std::this_thread::yield();
    });
  });
  while (!owns.load()) std::this_thread::yield();
  for (std::uint64_t c = base + 1; c < base + cap; ++c) ring.push(make(c), 0);
  std::thread lapper([&] { ring.push(make(base + cap), 0); });  // same slot as `base`, one lap later
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  release.store(true);
  stalled.join();
  lapper.join();
  std::vector<SignalRecord> out(2 * cap);
  std::uint64_t missed = 0, delivered = 0;
  for (int round = 0; round < 4; ++round) {
    const PopResult r = ring.pop(out.data(), out.size());
    missed += r.missed;
    for (std::uint64_t i = 0; i < r.delivered; ++i) {
      std::uint64_t words[16];
      std::memcpy(words, &out[i], sizeof(words));
      const std::uint64_t c = words[1] & 0xFFFFFFFFFFFFull;
      if (c != words[0]) fail("lap stall: record payload does not match its sequence", words[0], c);
      for (int w = 2; w < 15; ++w)
        if (words[w] != (words[1] ^ (0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(w))))
          fail("lap stall: torn record delivered", words[0], c);
    }
    delivered += r.delivered;
  }
  std::printf("ring_stress lap stall: delivered %" PRIu64 " missed %" PRIu64 "\n", delivered, missed);
  if (delivered + missed != cap + 1) fail("lap stall: delivered + missed != pushed", delivered + missed, cap + 1);
  return g_failures.load() == 0;
}

// Zero copy (consume, the Julia engine's path): the reader is handed the slot itself, and a producer
// one lap later rewrites that slot in the middle of the read. The re-check must reject the read, the
// sequence must count as missed and never as delivered, and what follows must be whole records.
// Deterministic: the lapping pushes run inside the read callback, between its two halves.
bool torn_in_place(TickRing ring) {
  auto make = [](std::uint64_t c) {
    TickEntry t{};
    t.ts_ns = static_cast<std::int64_t>(c);
    t.bid = tag(0, c, 0);
    t.ask = tag(0, c, 1);
    t.bid_size = tag(0, c, 2);
    t.ask_size = tag(0, c, 3);
    t.flags = static_cast<std::uint32_t>(c * 2654435761u);
    t.symbol_id = static_cast<std::uint16_t>(c);
    return t;
  };
  const std::uint64_t base = ring.head();
  const std::uint64_t cap = ring.capacity();
  for (std::uint64_t c = base; c < base + 4; ++c) ring.push(make(c), 0);
  std::uint64_t delivered = 0, missed = 0, torn = 0, lapped_at = 0;
  bool lapped = false;
  for (int round = 0; round < 4; ++round) {
    const PopResult r = ring.consume(
        2 * cap,
        [&](const TickEntry& slot, std::uint64_t seq, std::uint64_t commit) {
          const auto* w = reinterpret_cast<std::uint64_t*>(const_cast<TickEntry*>(&slot));
          std::uint64_t words[8];
          for (int i = 0; i < 3; ++i)
            words[i] = as_atomic(const_cast<std::uint64_t&>(w[i])).load(std::memory_order_relaxed);
          if (!lapped && seq == base + 1) {  // a full lap lands on this very slot mid-read
            lapped = true;
            lapped_at = seq;
            for (std::uint64_t c = base + 4; c < base + 2 + cap; ++c) ring.push(make(c), 0);
          }
          for (int i = 3; i < 6; ++i)
            words[i] = as_atomic(const_cast<std::uint64_t&>(w[i])).load(std::memory_order_relaxed);
          if (!TickRing::still_committed(slot, commit)) {
            ++torn;
            return false;
          }
          TickEntry t;
          std::memcpy(static_cast<void*>(&t), words, 48);
          if (static_cast<std::uint64_t>(t.ts_ns) != seq) fail("in place: record is not its sequence's", seq, t.ts_ns);
          Tally tally;
          check_tick(t, tally);
          if (seq == lapped_at && lapped) fail("in place: the lapped sequence was delivered", seq, 0);
          return true;
        },
        [&](std::uint64_t n) { missed += n; });
    delivered += r.delivered;
  }
  const std::uint64_t pushed = cap + 2;
  std::printf("ring_stress torn in place: delivered %" PRIu64 " missed %" PRIu64 " torn %" PRIu64 "\n", delivered,
              missed, torn);
  if (torn != 1) fail("in place: the mid-read lap was not seen as torn", torn, 1);
  if (delivered + missed != pushed) fail("in place: delivered + missed != pushed", delivered + missed, pushed);
  return g_failures.load() == 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t per_producer = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
  const std::string name = "kestrel-ring-stress-" + std::to_string(::getpid());
  const char* symbols[] = {"STRESS"};
  ShmRegion::Options o;
  o.name = name;
  o.symbols = 1;
  o.tick_capacity = 256;  // small on purpose: producers lap the consumer
  o.signal_capacity = 64;
  ShmRegion region = ShmRegion::create(o, symbols, /*replace=*/true);
  region.unlink();  // the mapping lives on; nothing is left in /dev/shm even if we crash

  run<TickEntry>(
      "ticks", region.tick_ring(0), per_producer,
      [](int p, std::uint64_t c) {
        TickEntry t{};
        t.ts_ns = static_cast<std::int64_t>(c);
        t.venue_id = static_cast<std::uint16_t>(p);
        t.symbol_id = static_cast<std::uint16_t>(c);
        t.flags = static_cast<std::uint32_t>(c * 2654435761u);
        t.bid = tag(p, c, 0);
        t.ask = tag(p, c, 1);
        t.bid_size = tag(p, c, 2);
        t.ask_size = tag(p, c, 3);
        return t;
      },
      check_tick);
  run<SignalRecord>(
      "signals", region.signal_ring(), per_producer / 4,
      [](int p, std::uint64_t c) {
        std::uint64_t words[16] = {};
        words[1] = (static_cast<std::uint64_t>(p) << 48) | c;
        for (int w = 2; w < 15; ++w) words[w] = words[1] ^ (0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(w));
        SignalRecord s;
        std::memcpy(static_cast<void*>(&s), words, sizeof(words));
        return s;
      },
      check_signal);
  // The stress runs above leave the signal ring drained; sequences continue from its head.
  lap_stall(region.signal_ring());
  torn_in_place(region.tick_ring(0));
  const int failures = g_failures.load();
  std::printf("ring_stress: %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : 1;
}
