// Engine interface: what the addon's engine thread runs. Both engines implement Strategy:
//   native -> kestrel::ReferenceStrategy (addon/src/strategy.cpp)
//   julia  -> kestrel::julia::make_julia_strategy (addon/src/julia/, dlopen-based libjulia loader)
//
// Threading contract: the factory, every call on the Strategy, and its destructor run on the
// engine thread only (Julia needs the thread that initialised libjulia to be the only caller).
// The factory may throw kestrel::EngineError; engine start() surfaces it to JS as an Error whose
// `.code` is EngineError::code().
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "kestrel/layout.h"
#include "kestrel/ring.h"

namespace kestrel {

class EngineError : public std::runtime_error {
 public:
  EngineError(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  // `detail`: longer diagnostic text that does not belong in the one-line message (the julia
  // engine's JULIA_STRATEGY_FAILED carries Julia's stack trace here). Surfaces in JS as `.detail`.
  EngineError(std::string code, const std::string& message, std::string detail)
      : std::runtime_error(message), code_(std::move(code)), detail_(std::move(detail)) {}
  const std::string& code() const noexcept { return code_; }
  const std::string& detail() const noexcept { return detail_; }

 private:
  std::string code_;
  std::string detail_;
};

// Strategy parameters: docs/STRATEGY.md "Parameters" (same names, same defaults).
struct StrategyParams {
  std::uint32_t strategy_id = 1;
  double ewma_lambda = 0.94;
  double ofi_alpha = 0.1;
  std::int64_t vpin_bar_ns = 1'000'000'000;
  double vpin_bucket_volume = 1.0;
  std::uint32_t vpin_buckets = 50;
  std::int64_t ou_dt_ns = 100'000'000;
  std::uint32_t ou_window = 300;
  double z_entry = 2.0;
  double z_high = 3.0;
  double max_spread_bps = 5.0;
  double vpin_max = 0.8;
  double half_life_min_s = 0.5;
  double half_life_max_s = 120.0;
  std::int64_t cooldown_ns = 1'000'000'000;
  double min_confidence = 0.3;
  double kelly_fraction = 0.25;
  double capital = 100000.0;
  double max_size = 1.0;
  double min_size = 0.0001;
  double min_fill_ratio = 0.5;
  std::uint32_t ttl_ms = 50;
  double max_slippage_bps = 10.0;
  // Regime (docs/STRATEGY.md "Regime").
  std::uint32_t vr_lag = 10;
  double vr_trend = 1.5;
  double vol_ratio_threshold = 2.0;
  double vol_long_lambda = 0.995;
  bool trend_entries = false;
};

// A popped tick as the engine hands it to the strategy. For on_tick, `entry` points into the engine's
// private copy (the ring slot may be overwritten by producers at any time after the pop); for
// on_ring_slot, into the ring slot itself.
struct TickView {
  const TickEntry* entry;
  std::uint32_t symbol;    // ring index (== symbol id)
  std::uint64_t sequence;  // ring sequence of this tick
  std::int64_t pop_ns;     // monotonic ns when the engine popped it
};

// Features of one symbol after the last processed tick (golden vectors, diagnostics).
struct FeatureSnapshot {
  double mid, spread, spread_bps, microprice, ofi, ofi_norm, ewma_var, vpin;
  std::uint64_t n_buckets;
  bool ou_valid;
  double kappa, mu, sigma, half_life, zscore;
  double ou_b, vr, vol_ratio;
  std::uint8_t regime;
};

// Where a strategy writes signals. publish() copies the record; the strategy fills every field
// except sequence/signal_ns (the sink stamps those). Returns false when the signal was dropped.
class SignalSink {
 public:
  virtual ~SignalSink() = default;
  virtual bool publish(SignalRecord& record) = 0;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual const char* name() const noexcept = 0;
  // One tick of one symbol; called in ring order per symbol. Must not allocate per tick.
  virtual void on_tick(const TickView& tick, SignalSink& sink) = 0;
  // Zero copy: when true the engine loop never copies a tick for this strategy; it calls
  // on_ring_slot with the shared-memory slot instead of on_tick (ring.h consume). The Julia engine
  // does (the tick is loaded from /dev/shm inside the Julia call). The native engine keeps the copy:
  // relaxed word loads into a buffer is how C++ reads a slot a producer may be rewriting, so reading
  // in place would save nothing there (docs/JULIA_EMBEDDING.md "Zero copy").
  virtual bool reads_ring_in_place() const noexcept { return false; }
  // One tick read in place: `tick.entry` is the ring slot of `tick.sequence`, whose commit word was
  // `commit` (== sequence + 1) just before the call. The strategy must load the payload, re-check the
  // commit word (acquire fence, then it must still be `commit`) BEFORE using anything it loaded, and
  // return false with no effect at all when it changed: a producer of a later lap is rewriting the
  // slot, the engine counts an overrun and calls on_gap. Only called when reads_ring_in_place().
  // The default is the copying read, for a strategy that sets the flag but has nothing better.
  virtual bool on_ring_slot(const TickView& tick, std::uint64_t commit, SignalSink& sink) {
    TickEntry copy;
    load_words(&copy, tick.entry, sizeof copy);
    if (!TickRing::still_committed(*tick.entry, commit)) return false;
    copy.sequence = tick.sequence;
    on_tick(TickView{&copy, tick.symbol, tick.sequence, tick.pop_ns}, sink);
    return true;
  }
  // Runtime counters sampled by the engine thread off the hot path (at start and whenever it goes
  // to sleep); the Julia engine reports its GC so a test can prove a run allocated nothing.
  struct RuntimeCounters {
    std::uint64_t gc_collections = 0;   // Julia GC pauses since the runtime started
    std::uint64_t allocated_bytes = 0;  // bytes Julia has allocated since the runtime started
  };
  virtual bool runtime_counters(RuntimeCounters& out) {
    (void)out;
    return false;
  }
  // The consumer found `missed` sequences of `symbol` overwritten before it read them (overrun).
  virtual void on_gap(std::uint32_t symbol, std::uint64_t missed) = 0;
  // Live parameter change (docs/STRATEGY.md "Parameters"), called on the engine thread between two
  // ticks, never during one. `p` passed validate_params and changes no parameter named by
  // non_live_param(). Returns false when this engine takes parameters only at start.
  virtual bool update_params(const StrategyParams& p) {
    (void)p;
    return false;
  }
  // Optional diagnostics; engines that cannot snapshot return false.
  virtual bool features(std::uint32_t symbol, FeatureSnapshot& out) const {
    (void)symbol;
    (void)out;
    return false;
  }
};

// The first parameter that differs between `cur` and `next` and cannot change while the engine runs
// (it shapes per-symbol state: window sizes, bar lengths, decay constants), or nullptr.
const char* non_live_param(const StrategyParams& cur, const StrategyParams& next) noexcept;

struct EngineConfig {
  std::string engine = "native";  // "native" | "julia"
  std::uint32_t symbols = 1;      // number of tick rings (one strategy state per symbol)
  StrategyParams params;
  std::string julia_home;      // julia engine: where libjulia lives (empty = search)
  std::string julia_sysimage;  // julia engine: sysimage path (empty = default)
  // julia engine, source mode: folder of the KestrelStrategy package (holding src/KestrelStrategy.jl)
  // loaded from source into Julia's own base image instead of the sysimage. Empty: the
  // KESTREL_JULIA_SOURCE environment variable, else sysimage mode.
  std::string julia_source;
};

std::unique_ptr<Strategy> make_native_strategy(const EngineConfig& config);

namespace julia {
// Defined by addon/src/julia/ when present; otherwise by addon/src/julia_unavailable.cpp, which
// throws EngineError("JULIA_NOT_LINKED", ...). Runs on the engine thread.
std::unique_ptr<Strategy> make_julia_strategy(const EngineConfig& config);

// What the process's embedded Julia was loaded from (for `kestrel backtest --verbose`).
struct JuliaRuntimeInfo {
  std::string mode;           // "sysimage" | "source"
  std::string libjulia;       // the libjulia opened
  std::string image;          // the image Julia started from (kestrel.so, or Julia's own sys.so in source mode)
  std::string source;         // source mode: the package folder loaded
  std::string version;        // jl_ver_string()
  std::string trace_compile;  // KESTREL_JULIA_TRACE_COMPILE, passed as --trace-compile (empty: off)
};
// False when no Julia runtime was loaded in this process.
bool julia_runtime_info(JuliaRuntimeInfo& out);
}  // namespace julia

}  // namespace kestrel
