// The engine thread: drains every tick ring of a region, runs a Strategy, publishes signals into
// the region's signal ring and tells the JS side (coalesced) that signals are waiting.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <utility>
#include <string>
#include <thread>
#include <vector>

#include "kestrel/engine.h"
#include "kestrel/ring.h"

namespace kestrel {

struct EngineStats {
  std::atomic<std::uint64_t> ticks{0};    // ticks handed to the strategy
  std::atomic<std::uint64_t> missed{0};   // ring sequences overwritten before the engine read them
  std::atomic<std::uint64_t> signals{0};  // signals published
  std::atomic<std::uint64_t> batches{0};  // non-empty ring pops
  std::atomic<std::uint64_t> max_batch{0};
  std::atomic<std::uint64_t> sleeps{0};          // times the thread slept on the doorbell
  std::atomic<std::uint64_t> notifies{0};        // JS wake-ups requested
  std::atomic<std::uint64_t> busy_ns{0};         // time spent inside strategy calls
  std::atomic<std::uint64_t> params_applied{0};  // parameter commands the strategy took (between ticks)
  std::atomic<std::uint64_t> params_refused{0};  // parameter commands the strategy refused
  // Strategy::runtime_counters as last sampled (at start and each time the engine went to sleep);
  // runtime_samples counts the samples (0: the engine has no runtime counters, i.e. native).
  std::atomic<std::uint64_t> runtime_gc_collections{0};
  std::atomic<std::uint64_t> runtime_allocated_bytes{0};
  std::atomic<std::uint64_t> runtime_samples{0};
};

// Single-producer (the JS thread) single-consumer (the engine thread) command queue of parameter
// sets. Fixed capacity, no allocation; the engine drains it between rounds, never mid-tick.
class ParamsQueue {
 public:
  static constexpr std::uint32_t kCapacity = 8;
  bool push(const StrategyParams& p) noexcept {
    const std::uint64_t t = tail_.load(std::memory_order_relaxed);
    if (t - head_.load(std::memory_order_acquire) >= kCapacity) return false;
    slots_[t % kCapacity] = p;
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }
  bool pop(StrategyParams& out) noexcept {
    const std::uint64_t h = head_.load(std::memory_order_relaxed);
    if (h == tail_.load(std::memory_order_acquire)) return false;
    out = slots_[h % kCapacity];
    head_.store(h + 1, std::memory_order_release);
    return true;
  }
  bool empty() const noexcept { return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire); }

 private:
  StrategyParams slots_[kCapacity];
  std::atomic<std::uint64_t> head_{0};
  std::atomic<std::uint64_t> tail_{0};
};

struct EngineHostOptions {
  EngineConfig config;
  std::int64_t idle_spin_ns = 50'000;  // spin this long after the last tick before sleeping
  std::uint32_t max_batch = 256;       // ticks popped per ring per round (fairness across symbols)
  int cpu = -1;  // pin the engine thread to this CPU (isolated core in production); -1 = no pinning
};

class EngineHost {
 public:
  // `notify` runs on the engine thread when signals were published and no earlier notification
  // is still pending; the JS side calls clear_pending() before it drains.
  using Notify = std::function<void()>;
  EngineHost(std::shared_ptr<ShmRegion> region, EngineHostOptions options, Notify notify);
  ~EngineHost();
  EngineHost(const EngineHost&) = delete;
  EngineHost& operator=(const EngineHost&) = delete;

  // Starts the thread and waits until the strategy is constructed on it; throws EngineError.
  void start();
  // Idempotent; joins the thread.
  void stop();
  // False once stopped, or once the strategy threw (see last_error()).
  bool running() const noexcept {
    return running_.load(std::memory_order_acquire) && !failed_.load(std::memory_order_acquire);
  }
  // The exception that ended the loop; empty code when none.
  struct Failure {
    std::string code, message, detail;
  };
  Failure last_error() const;
  const EngineStats& stats() const noexcept { return stats_; }
  std::shared_ptr<std::atomic<bool>> pending_flag() const { return pending_; }
  const std::string& engine_name() const noexcept { return options_.config.engine; }
  // Queue a full parameter set for the engine thread (applied between ticks); false when the queue
  // is full. The caller checked validate_params and non_live_param.
  bool update_params(const StrategyParams& p);

 private:
  void run(std::promise<void>* ready);
  void loop(Strategy& strategy);
  bool consume_in_place(Strategy& strategy, TickRing& ring, std::uint32_t i, SignalSink& sink);
  void account(TickRing& ring, std::uint64_t delivered, std::int64_t pop_ns, std::int64_t last_push_ns);
  void sample_runtime(Strategy& strategy);
  void record_failure(const std::string& code, const std::string& message, const std::string& detail = {});

  std::shared_ptr<ShmRegion> region_;
  EngineHostOptions options_;
  Notify notify_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> running_{false};
  std::atomic<bool> failed_{false};
  mutable std::mutex error_mu_;
  std::string error_code_, error_message_, error_detail_;
  std::shared_ptr<std::atomic<bool>> pending_ = std::make_shared<std::atomic<bool>>(false);
  EngineStats stats_;
  ParamsQueue commands_;
};

}  // namespace kestrel
