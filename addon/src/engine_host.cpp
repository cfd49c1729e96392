// Engine thread. One round = pop up to max_batch ticks from every ring in turn (fair across
// symbols), hand them to the strategy, then notify JS once if signals went out. When every ring
// is empty the thread spins for idle_spin_ns (a tick arriving at 100k/s is caught without a
// syscall) and then sleeps on the region's futex doorbell, which producers ring only while the
// engine sleeps. No allocation happens inside the loop.
#include "kestrel/engine_host.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

namespace kestrel {
namespace {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

class RingSink final : public SignalSink {
 public:
  RingSink(SignalRing ring, EngineStats& stats) : ring_(ring), stats_(stats) {}
  bool publish(SignalRecord& record) override {
    ring_.push(record, monotonic_ns());
    stats_.signals.fetch_add(1, std::memory_order_relaxed);
    ++published_;
    return true;  // drop-oldest: a publish always lands; the consumer counts what it lost
  }
  std::uint64_t published_ = 0;

 private:
  SignalRing ring_;
  EngineStats& stats_;
};

// Claim the region for this engine (one consumer per region, across processes). A claim left by a
// dead process is taken over.
bool claim(RegionHeader* h) {
  auto& flag = as_atomic(h->engine_running);
  std::uint32_t expected = 0;
  if (flag.compare_exchange_strong(expected, 1)) {
    as_atomic(h->engine_pid).store(static_cast<std::uint32_t>(::getpid()));
    return true;
  }
  const auto pid = static_cast<pid_t>(as_atomic(h->engine_pid).load());
  if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) {
    as_atomic(h->engine_pid).store(static_cast<std::uint32_t>(::getpid()));
    return true;
  }
  return false;
}

}  // namespace

EngineHost::EngineHost(std::shared_ptr<ShmRegion> region, EngineHostOptions options, Notify notify)
    : region_(std::move(region)), options_(std::move(options)), notify_(std::move(notify)) {
  if (options_.max_batch == 0) options_.max_batch = 1;
  options_.config.symbols = region_->symbols();
}

EngineHost::~EngineHost() { stop(); }

void EngineHost::start() {
  if (running_.load()) throw EngineError("ENGINE_ALREADY_RUNNING", "engine is already running");
  if (options_.config.engine != "native" && options_.config.engine != "julia")
    throw EngineError("BAD_ENGINE", "engine must be 'native' or 'julia', got '" + options_.config.engine + "'");
  if (!claim(region_->header()))
    throw EngineError("ENGINE_ALREADY_RUNNING", "another engine (pid " + std::to_string(region_->header()->engine_pid) +
                                                    ") consumes region " + region_->name());
  stop_.store(false);
  failed_.store(false);
  {
    std::lock_guard<std::mutex> lock(error_mu_);
    error_code_.clear();
    error_message_.clear();
    error_detail_.clear();
  }
  pending_->store(false);
  std::promise<void> ready;
  auto fut = ready.get_future();
  thread_ = std::thread([this, &ready] { run(&ready); });
  try {
    fut.get();
  } catch (...) {
    thread_.join();
    as_atomic(region_->header()->engine_running).store(0);
    throw;
  }
  running_.store(true, std::memory_order_release);
}

void EngineHost::stop() {
  if (!thread_.joinable()) return;
  stop_.store(true, std::memory_order_release);
  region_->wake_all();
  thread_.join();
  running_.store(false, std::memory_order_release);
  as_atomic(region_->header()->engine_running).store(0);
}

void EngineHost::run(std::promise<void>* ready) {
  std::unique_ptr<Strategy> strategy;
  try {
    if (options_.cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(options_.cpu, &set);
      if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0)
        throw EngineError("BAD_ENGINE_OPTIONS", "cannot pin the engine thread to cpu " + std::to_string(options_.cpu));
    }
    // Constructed on this thread: the julia engine must own the thread that initialises libjulia.
    strategy = options_.config.engine == "julia" ? julia::make_julia_strategy(options_.config)
                                                 : make_native_strategy(options_.config);
  } catch (const EngineError&) {
    ready->set_exception(std::current_exception());
    return;
  } catch (const std::exception& e) {
    ready->set_exception(std::make_exception_ptr(EngineError("ENGINE_START_FAILED", e.what())));
    return;
  }
  sample_runtime(*strategy);  // the baseline: stats() after start() already holds it
  ready->set_value();         // `ready` is dead after this line (start() returns)
  // A strategy that throws ends the loop; the error is kept for lastError() and the JS side is
  // woken so it can notice (running becomes false). Zero cost while nothing throws.
  try {
    loop(*strategy);
  } catch (const EngineError& e) {
    record_failure(e.code(), e.what(), e.detail());
  } catch (const std::exception& e) {
    record_failure("ENGINE_STRATEGY_FAILED", e.what());
  } catch (...) {
    record_failure("ENGINE_STRATEGY_FAILED", "unknown exception from the strategy");
  }
  strategy.reset();  // destroyed on the engine thread too
}

bool EngineHost::update_params(const StrategyParams& p) {
  if (!commands_.push(p)) return false;
  region_->wake_all();  // a sleeping engine applies it now, not at the next tick
  return true;
}

void EngineHost::record_failure(const std::string& code, const std::string& message, const std::string& detail) {
  {
    std::lock_guard<std::mutex> lock(error_mu_);
    error_code_ = code;
    error_message_ = message;
    error_detail_ = detail;
  }
  failed_.store(true, std::memory_order_release);
  if (notify_ && !pending_->exchange(true)) notify_();
}

EngineHost::Failure EngineHost::last_error() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return {error_code_, error_message_, error_detail_};
}

void EngineHost::account(TickRing& ring, std::uint64_t delivered, std::int64_t pop_ns, std::int64_t last_push_ns) {
  const std::int64_t done = monotonic_ns();
  as_atomic(ring.header()->consumer_lag_ns)
      .store(static_cast<std::uint64_t>(pop_ns - last_push_ns), std::memory_order_relaxed);
  stats_.busy_ns.fetch_add(static_cast<std::uint64_t>(done - pop_ns), std::memory_order_relaxed);
  stats_.ticks.fetch_add(delivered, std::memory_order_relaxed);
  stats_.batches.fetch_add(1, std::memory_order_relaxed);
  if (delivered > stats_.max_batch.load(std::memory_order_relaxed))
    stats_.max_batch.store(delivered, std::memory_order_relaxed);
}

// Zero copy (a strategy that reads_ring_in_place): the strategy gets each committed slot itself and
// does the seqlock re-check (ring.h consume); a torn read is an overrun like in pop. Misses reach
// on_gap inline, before the tick that follows them.
bool EngineHost::consume_in_place(Strategy& strategy, TickRing& ring, std::uint32_t i, SignalSink& sink) {
  std::int64_t pop_ns = 0;
  std::int64_t last_push_ns = 0;
  const PopResult r = ring.consume(
      options_.max_batch,
      [&](const TickEntry& slot, std::uint64_t seq, std::uint64_t commit) {
        if (pop_ns == 0) pop_ns = monotonic_ns();
        // Read before the strategy's re-check, so a validated tick's push_ns is that tick's.
        const std::int64_t push_ns = as_atomic(const_cast<TickEntry&>(slot).push_ns).load(std::memory_order_relaxed);
        if (!strategy.on_ring_slot(TickView{&slot, i, seq, pop_ns}, commit, sink)) return false;
        last_push_ns = push_ns;
        return true;
      },
      [&](std::uint64_t missed) {
        stats_.missed.fetch_add(missed, std::memory_order_relaxed);
        strategy.on_gap(i, missed);
      });
  if (!r.delivered) return false;
  account(ring, r.delivered, pop_ns, last_push_ns);
  return true;
}

void EngineHost::sample_runtime(Strategy& strategy) {
  Strategy::RuntimeCounters c;
  if (!strategy.runtime_counters(c)) return;
  stats_.runtime_gc_collections.store(c.gc_collections, std::memory_order_relaxed);
  stats_.runtime_allocated_bytes.store(c.allocated_bytes, std::memory_order_relaxed);
  stats_.runtime_samples.fetch_add(1, std::memory_order_release);
}

void EngineHost::loop(Strategy& strategy) {
  const std::uint32_t n = region_->symbols();
  std::vector<TickRing> rings(n);
  for (std::uint32_t i = 0; i < n; ++i) rings[i] = region_->tick_ring(i);
  // Copying strategies (native) pop into this buffer; zero-copy ones (julia) read the slots in place.
  const bool in_place = strategy.reads_ring_in_place();
  std::vector<TickEntry> buf(in_place ? 0 : options_.max_batch);  // allocated once, before the loop
  RingSink sink(region_->signal_ring(), stats_);
  auto* h = region_->header();
  auto& waiters = as_atomic(h->doorbell_waiters);
  auto& bell = as_atomic(h->doorbell);
  std::int64_t idle_since = 0;
  std::uint64_t notified_at = 0;

  StrategyParams next;
  while (!stop_.load(std::memory_order_acquire)) {
    // Commands first, between two rounds: a tick never sees half of a parameter change.
    while (commands_.pop(next)) {
      if (strategy.update_params(next))
        stats_.params_applied.fetch_add(1, std::memory_order_relaxed);
      else
        stats_.params_refused.fetch_add(1, std::memory_order_relaxed);
    }
    bool any = false;
    for (std::uint32_t i = 0; i < n; ++i) {
      if (in_place) {
        any |= consume_in_place(strategy, rings[i], i, sink);
        continue;
      }
      const PopResult r = rings[i].pop(buf.data(), options_.max_batch);
      if (r.missed) {
        stats_.missed.fetch_add(r.missed, std::memory_order_relaxed);
        strategy.on_gap(i, r.missed);
      }
      if (!r.delivered) continue;
      any = true;
      const std::int64_t pop_ns = monotonic_ns();
      for (std::uint64_t k = 0; k < r.delivered; ++k) {
        const TickView view{&buf[k], i, buf[k].sequence, pop_ns};
        strategy.on_tick(view, sink);
      }
      account(rings[i], r.delivered, pop_ns, buf[r.delivered - 1].push_ns);
    }
    if (sink.published_ != notified_at) {
      notified_at = sink.published_;
      // Coalesce: while JS has not yet run the previous notification, more signals just queue.
      if (!pending_->exchange(true, std::memory_order_acq_rel)) {
        stats_.notifies.fetch_add(1, std::memory_order_relaxed);
        if (notify_) notify_();
      }
    }
    if (any) {
      idle_since = 0;
      continue;
    }
    const std::int64_t now = monotonic_ns();
    if (idle_since == 0) idle_since = now;
    if (now - idle_since < options_.idle_spin_ns) {
      cpu_relax();
      continue;
    }
    // Sleep: announce, re-check (a producer may have pushed before seeing the announcement), wait.
    waiters.store(1, std::memory_order_seq_cst);
    const std::uint32_t seen = bell.load(std::memory_order_seq_cst);
    sample_runtime(strategy);  // off the hot path: the engine is about to sleep
    bool ready = stop_.load(std::memory_order_acquire);
    if (!commands_.empty()) ready = true;
    for (std::uint32_t i = 0; i < n && !ready; ++i) ready = rings[i].maybe_nonempty();
    if (!ready) {
      stats_.sleeps.fetch_add(1, std::memory_order_relaxed);
      region_->wait_doorbell(seen, 100'000'000);  // bounded: a lost wake-up costs at most 100 ms
    }
    waiters.store(0, std::memory_order_seq_cst);
    idle_since = 0;
  }
}

}  // namespace kestrel
