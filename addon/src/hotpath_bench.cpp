// Hot-path micro-benchmarks in C++ (run by bench/hotpath.bench.ts, which turns the raw samples
// into HDR histograms and bench/results/hotpath.json):
//   layout   AoS (64-byte TickEntry) vs SoA columns: push+pop ns/op, same commit protocol
//   ring     push+pop ns/op on the real TickRing (single thread), and producer->consumer threads
//   strategy ReferenceStrategy::on_tick ticks/s on one core over the golden Binance ticks
//   engine   full path: producer thread -> ring -> EngineHost thread -> signal ring, ticks/s
//   allocs   malloc calls per tick inside the strategy and the engine loop (malloc is wrapped)
// Output: one JSON object on stdout.
#include <unistd.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kestrel/engine_host.h"
#include "kestrel/ring.h"
#include "kestrel/strategy.h"

// ---- allocation counter: wrap the C allocator (operator new ends up here too) ----------------
#if !defined(__SANITIZE_ADDRESS__)  // ASan owns the allocator in sanitizer builds
extern "C" void* __libc_malloc(size_t);
extern "C" void* __libc_calloc(size_t, size_t);
extern "C" void* __libc_realloc(void*, size_t);
extern "C" void* __libc_memalign(size_t, size_t);
static std::atomic<unsigned long long> g_allocs{0};
extern "C" void* malloc(size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
extern "C" void* calloc(size_t a, size_t b) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(a, b);
}
extern "C" void* realloc(void* p, size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}
extern "C" int posix_memalign(void** out, size_t align, size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  *out = __libc_memalign(align, n);
  return *out ? 0 : ENOMEM;
}
extern "C" void* aligned_alloc(size_t align, size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(align, n);
}
#else
static std::atomic<unsigned long long> g_allocs{0};  // not counted under ASan (reported as 0)
#endif

using namespace kestrel;

namespace {

inline void cpu_pause() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#endif
}

std::string samples_json(const std::vector<double>& v) {
  std::ostringstream o;
  o << "[";
  for (std::size_t i = 0; i < v.size(); ++i) o << (i ? "," : "") << v[i];
  o << "]";
  return o.str();
}

// Minimal SoA ring with the same claim/commit protocol, for the layout measurement only.
struct SoaRing {
  std::uint64_t cap, mask;
  alignas(64) std::atomic<std::uint64_t> head{0};
  alignas(64) std::uint64_t tail = 0;
  std::vector<std::uint64_t> seq;
  std::vector<std::int64_t> ts, push;
  std::vector<std::uint32_t> flags;
  std::vector<std::uint16_t> venue, symbol;
  std::vector<double> bid, ask, bs, as;
  explicit SoaRing(std::uint64_t c)
      : cap(c), mask(c - 1), seq(c, 0), ts(c), push(c), flags(c), venue(c), symbol(c), bid(c), ask(c), bs(c), as(c) {}
  void pushr(const TickEntry& t, std::int64_t now) {
    const std::uint64_t s = head.fetch_add(1, std::memory_order_acq_rel);
    const std::uint64_t i = s & mask;
    as_atomic(seq[i]).store(kWritingBit | s, std::memory_order_relaxed);  // single producer here: no ownership CAS
    std::atomic_thread_fence(std::memory_order_release);
    ts[i] = t.ts_ns;
    venue[i] = t.venue_id;
    symbol[i] = t.symbol_id;
    flags[i] = t.flags;
    bid[i] = t.bid;
    ask[i] = t.ask;
    bs[i] = t.bid_size;
    as[i] = t.ask_size;
    push[i] = now;
    as_atomic(seq[i]).store(s + 1, std::memory_order_release);
  }
  bool pop(TickEntry& o) {
    const std::uint64_t i = tail & mask;
    const std::uint64_t c1 = as_atomic(seq[i]).load(std::memory_order_acquire);
    if (c1 != tail + 1) return false;
    o.ts_ns = ts[i];
    o.venue_id = venue[i];
    o.symbol_id = symbol[i];
    o.flags = flags[i];
    o.bid = bid[i];
    o.ask = ask[i];
    o.bid_size = bs[i];
    o.ask_size = as[i];
    o.push_ns = push[i];
    std::atomic_thread_fence(std::memory_order_acquire);
    if (as_atomic(seq[i]).load(std::memory_order_relaxed) != c1) return false;
    o.sequence = tail;
    as_atomic(tail).store(tail + 1, std::memory_order_release);
    return true;
  }
};

std::vector<TickEntry> load_ticks(const std::string& csv) {
  std::ifstream f(csv);
  std::vector<TickEntry> out;
  std::string line;
  std::getline(f, line);  // header: index,ts_ns,flags,bid,ask,bid_size,ask_size
  while (std::getline(f, line)) {
    TickEntry t{};
    char* p = line.data();
    std::strtoull(p, &p, 10);
    t.ts_ns = std::strtoll(p + 1, &p, 10);
    t.flags = static_cast<std::uint32_t>(std::strtoul(p + 1, &p, 10));
    t.bid = std::strtod(p + 1, &p);
    t.ask = std::strtod(p + 1, &p);
    t.bid_size = std::strtod(p + 1, &p);
    t.ask_size = std::strtod(p + 1, &p);
    out.push_back(t);
  }
  return out;
}

// Per-op ns of push+pop pairs, measured in blocks of `block` pairs (timer overhead amortised).
template <typename PushPop>
std::vector<double> pair_samples(PushPop&& fn, int blocks, int block) {
  std::vector<double> s;
  s.reserve(blocks);
  for (int b = 0; b < blocks; ++b) {
    const std::int64_t t0 = monotonic_ns();
    for (int i = 0; i < block; ++i) fn(i);
    s.push_back(double(monotonic_ns() - t0) / block);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string ticks_csv = argc > 1 ? argv[1] : "test/golden/binance_btcusdt.ticks.csv";
  const int blocks = argc > 2 ? std::atoi(argv[2]) : 20000;
  constexpr int kBlock = 64;
  const std::string shm = "kestrel-bench-" + std::to_string(::getpid());

  ShmRegion::Options opt;
  opt.name = shm;
  opt.symbols = 1;
  auto region = std::make_shared<ShmRegion>(ShmRegion::create(opt, nullptr, true));
  region->unlink();  // the mapping stays; nothing left in /dev/shm if we crash
  TickRing ring = region->tick_ring(0);
  TickEntry t{};
  t.bid = 100;
  t.ask = 101;
  TickEntry out{};

  // ---- ring push+pop (single thread, AoS = the real TickRing) ----
  for (int i = 0; i < 100000; ++i) {
    ring.push(t, 0);
    ring.pop(&out, 1);
  }  // warm
  const auto aos = pair_samples(
      [&](int) {
        ring.push(t, monotonic_ns());
        ring.pop(&out, 1);
      },
      blocks, kBlock);
  // same without the clock read the real push does (to show what the timestamp costs)
  const auto aos_noclock = pair_samples(
      [&](int) {
        ring.push(t, 0);
        ring.pop(&out, 1);
      },
      blocks, kBlock);

  // ---- SoA variant ----
  SoaRing soa(kDefaultTickCapacity);
  for (int i = 0; i < 100000; ++i) {
    soa.pushr(t, 0);
    soa.pop(out);
  }
  const auto soa_s = pair_samples(
      [&](int) {
        soa.pushr(t, monotonic_ns());
        soa.pop(out);
      },
      blocks, kBlock);
  const auto soa_noclock = pair_samples(
      [&](int) {
        soa.pushr(t, 0);
        soa.pop(out);
      },
      blocks, kBlock);

  // ---- cross-thread throughput (producer thread -> consumer thread), AoS and SoA ----
  auto xthread = [&](auto push_fn, auto pop_fn, std::uint64_t n) {
    std::atomic<bool> go{false};
    std::thread prod([&] {
      while (!go.load()) {
      }
      for (std::uint64_t i = 0; i < n; ++i) push_fn(i);
    });
    std::uint64_t got = 0, missed = 0;
    const std::int64_t t0 = monotonic_ns();
    go.store(true);
    while (got + missed < n) {
      auto r = pop_fn();
      got += r.first;
      missed += r.second;
    }
    const std::int64_t dt = monotonic_ns() - t0;
    prod.join();
    return std::make_tuple(double(n) / (double(dt) / 1e9), got, missed);
  };
  const std::uint64_t kXN = 5'000'000;
  ShmRegion::Options opt2 = opt;
  opt2.name = shm + "-x";
  auto region2 = std::make_shared<ShmRegion>(ShmRegion::create(opt2, nullptr, true));
  region2->unlink();
  TickRing xr = region2->tick_ring(0);
  std::vector<TickEntry> xbuf(256);
  auto [aos_tput, aos_got, aos_missed] = xthread(
      [&](std::uint64_t) {
        while (xr.head() - xr.tail() >= xr.capacity() - 256) cpu_pause();  // no overruns: pure transfer rate
        xr.push(t, 0);
      },
      [&] {
        auto r = xr.pop(xbuf.data(), 256);
        return std::make_pair(r.delivered, r.missed);
      },
      kXN);
  SoaRing soa2(kDefaultTickCapacity);
  std::uint64_t soa_seen = 0;
  auto [soa_tput, soa_got, soa_missed] = xthread(
      [&](std::uint64_t) {
        while (soa2.head.load(std::memory_order_relaxed) - as_atomic(soa2.tail).load(std::memory_order_acquire) >=
               soa2.cap - 256)
          cpu_pause();
        soa2.pushr(t, 0);
      },
      [&] {
        std::uint64_t n = 0;
        while (n < 256 && soa2.pop(out)) ++n;
        // backpressured producer: the toy SoA ring never overruns here
        const std::uint64_t h = soa2.head.load();
        std::uint64_t miss = 0;
        soa_seen += n;
        (void)h;
        return std::make_pair(n, miss);
      },
      kXN);

  // ---- strategy throughput (one core) and allocations per tick ----
  std::vector<TickEntry> ticks = load_ticks(ticks_csv);
  if (ticks.empty()) {
    std::fprintf(stderr, "no ticks in %s\n", ticks_csv.c_str());
    return 2;
  }
  StrategyParams params;
  params.capital = 10;
  params.vpin_bucket_volume = 0.5;
  params.vpin_buckets = 20;
  params.z_entry = 1.5;
  ReferenceStrategy strat(params, 1);
  struct CountSink final : SignalSink {
    std::uint64_t n = 0;
    bool publish(SignalRecord&) override {
      ++n;
      return true;
    }
  } sink;
  const std::int64_t span = ticks.back().ts_ns - ticks.front().ts_ns + 1'000'000'000;
  std::uint64_t processed = 0;
  auto pass = [&](int round) {
    for (std::size_t i = 0; i < ticks.size(); ++i) {
      TickEntry e = ticks[i];
      e.ts_ns += span * round;  // keep tick time increasing across passes
      strat.on_tick(TickView{&e, 0, processed++, 0}, sink);
    }
  };
  pass(0);  // warm (windows fill)
  const int rounds = 40;
  const unsigned long long a0 = g_allocs.load();
  // CPU time of this thread too: on a shared, loaded machine the wall-clock rate mostly measures
  // how often the thread was scheduled; ns of CPU per tick does not.
  auto thread_cpu_ns = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  };
  const std::int64_t c0 = thread_cpu_ns();
  const std::int64_t s0 = monotonic_ns();
  for (int r = 1; r <= rounds; ++r) pass(r);
  const std::int64_t s1 = monotonic_ns();
  const std::int64_t c1 = thread_cpu_ns();
  const unsigned long long strategy_allocs = g_allocs.load() - a0;
  const double strat_ticks = double(ticks.size()) * rounds;
  const double strat_tps = strat_ticks / (double(s1 - s0) / 1e9);

  // ---- full engine: producer thread -> ring -> engine thread; throughput + allocations ----
  ShmRegion::Options opt3 = opt;
  opt3.name = shm + "-e";
  auto region3 = std::make_shared<ShmRegion>(ShmRegion::create(opt3, nullptr, true));
  region3->unlink();
  EngineHostOptions eo;
  eo.config.params = params;
  std::atomic<std::uint64_t> notifies{0};
  EngineHost host(region3, eo, [&] { notifies.fetch_add(1); });
  host.start();
  TickRing er = region3->tick_ring(0);
  SignalRing sr = region3->signal_ring();
  std::vector<SignalRecord> sbuf(1024);
  auto drain = [&] {
    while (sr.pop(sbuf.data(), sbuf.size()).delivered) {
    }
    host.pending_flag()->store(false);
  };
  // warm one pass
  for (auto& e : ticks) {
    er.push(e, monotonic_ns());
  }
  region3->ring_doorbell();
  while (host.stats().ticks.load() < ticks.size()) drain();
  const unsigned long long e_a0 = g_allocs.load();
  const std::uint64_t e_t0 = host.stats().ticks.load();
  const std::uint64_t e_miss0 = host.stats().missed.load();
  const std::int64_t e_s0 = monotonic_ns();
  const int erounds = 20;
  for (int r = 1; r <= erounds; ++r) {
    for (auto e : ticks) {
      e.ts_ns += span * r;
      // keep the ring from overflowing: the engine must see every tick for a throughput figure
      while (er.head() - er.tail() >= er.capacity() - 256) std::this_thread::yield();
      er.push(e, monotonic_ns());
    }
    region3->ring_doorbell();
    drain();
  }
  const std::uint64_t e_target = e_t0 + std::uint64_t(ticks.size()) * erounds;
  while (host.stats().ticks.load() < e_target) drain();
  const std::int64_t e_s1 = monotonic_ns();
  const unsigned long long engine_allocs = g_allocs.load() - e_a0;
  const double e_tps = double(std::uint64_t(ticks.size()) * erounds) / (double(e_s1 - e_s0) / 1e9);
  const std::uint64_t e_busy = host.stats().busy_ns.load();
  host.stop();

  // ---- paced tick->signal latency, all native: producer thread at `rate`, engine thread, drain ----
  auto paced = [&](double rate, std::size_t n) {
    ShmRegion::Options o4 = opt;
    o4.name = shm + "-l" + std::to_string(static_cast<long long>(rate));
    o4.signal_capacity = 1u << 16;
    auto reg = std::make_shared<ShmRegion>(ShmRegion::create(o4, nullptr, true));
    reg->unlink();
    EngineHostOptions lo;
    lo.config.params = params;
    lo.config.params.z_entry = 0.5;
    lo.config.params.cooldown_ns = 0;
    lo.config.params.min_confidence = 0;
    lo.config.params.min_size = 0;
    EngineHost h(reg, lo, nullptr);
    h.start();
    TickRing lr = reg->tick_ring(0);
    SignalRing ls = reg->signal_ring();
    std::atomic<bool> done{false};
    std::thread prod([&] {
      const std::int64_t t0 = monotonic_ns();
      const double interval = rate > 0 ? 1e9 / rate : 0;
      for (std::size_t i = 0; i < n; ++i) {
        if (rate > 0) {
          const std::int64_t due = t0 + static_cast<std::int64_t>(double(i) * interval);
          while (monotonic_ns() < due) cpu_pause();
        } else {
          while (lr.head() - lr.tail() >= lr.capacity() - 256) cpu_pause();
        }
        TickEntry e = ticks[i % ticks.size()];
        e.ts_ns += span * static_cast<std::int64_t>(i / ticks.size() + 100);
        lr.push(e, monotonic_ns());
        reg->ring_doorbell();
      }
      done.store(true);
    });
    std::vector<double> total, wait;
    total.reserve(n);
    wait.reserve(n);
    std::vector<SignalRecord> b(1024);
    auto drain_once = [&] {
      const PopResult r = ls.pop(b.data(), b.size());
      for (std::uint64_t k = 0; k < r.delivered; ++k) {
        total.push_back(double(b[k].signal_ns - b[k].tick_push_ns));
        wait.push_back(double(b[k].engine_pop_ns - b[k].tick_push_ns));
      }
      return r.delivered;
    };
    while (!done.load()) {
      if (!drain_once()) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    prod.join();
    while (h.stats().ticks.load() < n) drain_once();
    while (drain_once()) {
    }
    h.stop();
    return std::make_pair(total, wait);
  };
  const auto lat100k = paced(100000, 300000);

  std::printf("{\n");
  std::printf("  \"paced100k\": {\"ticks\": 300000, \"tickToSignalNs\": %s, \"queueWaitNs\": %s},\n",
              samples_json(lat100k.first).c_str(), samples_json(lat100k.second).c_str());
  std::printf("  \"blockOps\": %d,\n", kBlock);
  std::printf("  \"aosPushPopNs\": %s,\n", samples_json(aos).c_str());
  std::printf("  \"aosPushPopNoClockNs\": %s,\n", samples_json(aos_noclock).c_str());
  std::printf("  \"soaPushPopNs\": %s,\n", samples_json(soa_s).c_str());
  std::printf("  \"soaPushPopNoClockNs\": %s,\n", samples_json(soa_noclock).c_str());
  std::printf(
      "  \"crossThread\": {\"ticks\": %llu, \"aosTicksPerSec\": %.0f, \"aosMissed\": %llu, \"soaTicksPerSec\": %.0f, "
      "\"soaMissed\": %llu},\n",
      (unsigned long long)kXN, aos_tput, (unsigned long long)aos_missed, soa_tput, (unsigned long long)soa_missed);
  std::printf(
      "  \"strategy\": {\"ticks\": %.0f, \"ticksPerSec\": %.0f, \"nsPerTick\": %.2f, \"cpuNsPerTick\": %.2f, "
      "\"ticksPerCpuSec\": %.0f, \"allocations\": %llu, \"signals\": %llu},\n",
      strat_ticks, strat_tps, 1e9 / strat_tps, double(c1 - c0) / strat_ticks, strat_ticks / (double(c1 - c0) / 1e9),
      strategy_allocs, (unsigned long long)sink.n);
  std::printf(
      "  \"engine\": {\"ticks\": %llu, \"ticksPerSec\": %.0f, \"allocations\": %llu, \"missed\": %llu, "
      "\"busyNsTotal\": %llu, \"notifies\": %llu}\n",
      (unsigned long long)(std::uint64_t(ticks.size()) * erounds), e_tps, engine_allocs,
      (unsigned long long)(host.stats().missed.load() - e_miss0), (unsigned long long)e_busy,
      (unsigned long long)notifies.load());
  std::printf("}\n");
  (void)aos_got;
  (void)soa_got;
  (void)soa_seen;
  return 0;
}
