// The `julia` engine: kestrel::Strategy implemented by calling the KestrelStrategy package's
// @cfunction entry points (julia/src/EntryPoints.jl) inside the embedded Julia runtime.
//
// Everything here runs on the engine thread (engine.h contract): the factory initialises Julia on
// it, and every later call comes from it. Per tick this is one indirect C call; the tick is passed
// by pointer (the engine's private copy of the ring slot) and a signal comes back in a record this
// object owns, which the sink then copies into the signal ring.
#include <array>
#include <cstdio>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "julia_runtime.h"
#include "kestrel/engine.h"
#include "kestrel/layout.h"
#include "kestrel/strategy.h"

namespace kestrel::julia {
namespace {

using CreateFn = std::int64_t (*)(const double*, std::int64_t, std::int64_t, char*, std::int64_t);
using DestroyFn = std::int32_t (*)(std::int64_t);
using OnTickFn = std::int32_t (*)(std::int64_t, const TickEntry*, std::uint32_t, std::uint64_t, std::uint64_t,
                                  SignalRecord*);
using OnGapFn = std::int32_t (*)(std::int64_t, std::uint32_t, std::uint64_t);
using FeaturesFn = std::int32_t (*)(std::int64_t, std::uint32_t, double*);
using LastErrorFn = std::int64_t (*)(std::int64_t, char*, std::int64_t);
using GcStatsFn = std::int32_t (*)(std::int64_t*, std::int64_t);

// on_tick's return codes (julia/src/EntryPoints.jl).
constexpr std::int32_t kTickSignal = 1;
constexpr std::int32_t kTickTorn = 2;

constexpr std::size_t kFeatureCount = 19;
constexpr std::size_t kMessageCap = 2048;

// Parameter vector in the order of the fields of KestrelStrategy.Params (julia/src/Params.jl),
// which is the order of docs/STRATEGY.md's table. Integers travel as exact doubles; Julia checks.
std::vector<double> params_vector(const StrategyParams& p) {
  return {
      static_cast<double>(p.strategy_id),
      p.ewma_lambda,
      p.ofi_alpha,
      static_cast<double>(p.vpin_bar_ns),
      p.vpin_bucket_volume,
      static_cast<double>(p.vpin_buckets),
      static_cast<double>(p.ou_dt_ns),
      static_cast<double>(p.ou_window),
      p.z_entry,
      p.z_high,
      p.max_spread_bps,
      p.vpin_max,
      p.half_life_min_s,
      p.half_life_max_s,
      static_cast<double>(p.cooldown_ns),
      p.min_confidence,
      p.kelly_fraction,
      p.capital,
      p.max_size,
      p.min_size,
      p.min_fill_ratio,
      static_cast<double>(p.ttl_ms),
      p.max_slippage_bps,
      static_cast<double>(p.vr_lag),
      p.vr_trend,
      p.vol_ratio_threshold,
      p.vol_long_lambda,
      p.trend_entries ? 1.0 : 0.0,
  };
}
constexpr std::int64_t kParamCount = 28;

template <typename Fn>
Fn entry_as(const JuliaRuntime& rt, EntryPoint which) {
  return reinterpret_cast<Fn>(rt.entry(which));
}

class JuliaStrategy final : public Strategy {
 public:
  JuliaStrategy(const JuliaRuntime& rt, const EngineConfig& config)
      : destroy_(entry_as<DestroyFn>(rt, EntryPoint::kDestroy)),
        on_tick_(entry_as<OnTickFn>(rt, EntryPoint::kOnTick)),
        on_gap_(entry_as<OnGapFn>(rt, EntryPoint::kOnGap)),
        features_(entry_as<FeaturesFn>(rt, EntryPoint::kFeatures)),
        last_error_(entry_as<LastErrorFn>(rt, EntryPoint::kLastError)),
        gc_stats_(entry_as<GcStatsFn>(rt, EntryPoint::kGcStats)),
        report_(kReportCap, '\0') {  // allocated here, never on the tick path
    const auto create = entry_as<CreateFn>(rt, EntryPoint::kCreate);
    const std::vector<double> params = params_vector(config.params);
    static_assert(sizeof(double) == 8);
    if (static_cast<std::int64_t>(params.size()) != kParamCount) {
      throw JuliaEngineError(JuliaErrorCode::kJuliaInitFailed, "internal: parameter vector size mismatch");
    }
    std::array<char, kMessageCap> err{};
    handle_ = create(params.data(), kParamCount, static_cast<std::int64_t>(config.symbols), err.data(),
                     static_cast<std::int64_t>(err.size()));
    if (handle_ <= 0) {
      // validate_params already ran, so this is Julia's own check disagreeing: same code as native.
      throw EngineError("BAD_STRATEGY_PARAMS", std::string("julia engine rejected the parameters: ") + err.data());
    }
  }

  ~JuliaStrategy() override {
    if (handle_ > 0) destroy_(handle_);
  }

  JuliaStrategy(const JuliaStrategy&) = delete;
  JuliaStrategy& operator=(const JuliaStrategy&) = delete;

  const char* name() const noexcept override { return "julia"; }

  bool reads_ring_in_place() const noexcept override { return true; }

  bool on_ring_slot(const TickView& tick, std::uint64_t commit, SignalSink& sink) override {
    if (failed_) return true;  // consumed and ignored: a failed strategy takes no more ticks
    return deliver(on_tick_(handle_, tick.entry, tick.symbol, tick.sequence, commit, &out_), tick, sink);
  }

  // A tick the caller already holds privately (not the engine loop): its own commit word is the one
  // Julia re-checks, which trivially holds.
  void on_tick(const TickView& tick, SignalSink& sink) override {
    if (failed_) return;
    deliver(on_tick_(handle_, tick.entry, tick.symbol, tick.sequence, tick.entry->sequence, &out_), tick, sink);
  }

  bool runtime_counters(RuntimeCounters& out) override {
    std::array<std::int64_t, 2> c{};
    if (gc_stats_(c.data(), static_cast<std::int64_t>(c.size())) != 0) return false;
    out.gc_collections = static_cast<std::uint64_t>(c[0]);
    out.allocated_bytes = static_cast<std::uint64_t>(c[1]);
    return true;
  }

  void on_gap(std::uint32_t symbol, std::uint64_t missed) override {
    if (failed_) return;
    const std::int32_t r = on_gap_(handle_, symbol, missed);
    if (r < 0) fail("on_gap", r, symbol, 0);
  }

  bool features(std::uint32_t symbol, FeatureSnapshot& out) const override {
    std::array<double, kFeatureCount> f{};
    if (features_(handle_, symbol, f.data()) != 0) return false;
    out.mid = f[0];
    out.spread = f[1];
    out.spread_bps = f[2];
    out.microprice = f[3];
    out.ofi = f[4];
    out.ofi_norm = f[5];
    out.ewma_var = f[6];
    out.vpin = f[7];
    out.n_buckets = static_cast<std::uint64_t>(f[8]);
    out.ou_valid = f[9] != 0.0;
    out.kappa = f[10];
    out.mu = f[11];
    out.sigma = f[12];
    out.half_life = f[13];
    out.zscore = f[14];
    out.ou_b = f[15];
    out.vr = f[16];
    out.vol_ratio = f[17];
    out.regime = static_cast<std::uint8_t>(f[18]);
    return true;
  }

 private:
  // An entry point reported an error (a bug in the Julia strategy: the hot path has no expected
  // failure; Julia caught the exception, so none crossed into C). The strategy stops for good: it
  // throws EngineError JULIA_STRATEGY_FAILED, which ends the engine loop (EngineHost::run catches
  // it on the engine thread, records it for lastError() and wakes JS); the message is
  // "julia strategy failed in <entry> (symbol S, sequence N): <Julia's message>" and `detail` is
  // the Julia stack trace captured inside the entry point (EntryPoints.jl, error_report).
  [[noreturn]] void fail(const char* where, std::int32_t code, std::uint32_t symbol, std::uint64_t sequence) {
    failed_ = true;
    std::fill(report_.begin(), report_.end(), '\0');
    const std::int64_t n = last_error_(handle_, report_.data(), static_cast<std::int64_t>(report_.size()));
    std::string message(report_.data());  // first C string: the message
    std::string trace;
    if (n > static_cast<std::int64_t>(message.size()) && static_cast<std::size_t>(n) < report_.size()) {
      trace.assign(report_.data() + message.size() + 1);  // second C string: the stack trace
    }
    if (message.empty()) message = "entry point returned " + std::to_string(code) + " without a message";
    char head[160];
    std::snprintf(head, sizeof head,
                  "JULIA_STRATEGY_FAILED: julia strategy failed in %s (symbol %u, sequence %llu): ", where, symbol,
                  static_cast<unsigned long long>(sequence));
    throw EngineError("JULIA_STRATEGY_FAILED", head + message, trace);
  }

  bool deliver(std::int32_t r, const TickView& tick, SignalSink& sink) {
    if (r == kTickSignal) {
      out_.engine = kEngineJulia;
      out_.engine_pop_ns = tick.pop_ns;
      sink.publish(out_);
    } else if (r == kTickTorn) {
      return false;
    } else if (r < 0) {
      fail("on_tick", r, tick.symbol, tick.sequence);
    }
    return true;
  }

  DestroyFn destroy_;
  OnTickFn on_tick_;
  OnGapFn on_gap_;
  FeaturesFn features_;
  LastErrorFn last_error_;
  GcStatsFn gc_stats_;
  std::int64_t handle_ = 0;
  bool failed_ = false;
  // last_error's output: message NUL stack-trace NUL. A deep Julia stack trace is a few KiB.
  static constexpr std::size_t kReportCap = 64 * 1024;
  std::vector<char> report_;
  SignalRecord out_{};  // Julia writes the signal here; reused, never reallocated
};

}  // namespace

std::unique_ptr<Strategy> make_julia_strategy(const EngineConfig& config) {
  // Same parameter rules and error as the native engine, before any Julia is looked for.
  validate_params(config.params);
  JuliaSearch search = JuliaSearch::from_environment(config.julia_sysimage, config.julia_source);
  if (!config.julia_home.empty()) {
    search.julia_dir = config.julia_home;
    search.julia_dir_source = "juliaHome";
  }
  JuliaRuntime& rt = JuliaRuntime::preflight(search);
  rt.start_on_this_thread();
  return std::make_unique<JuliaStrategy>(rt, config);
}

bool julia_runtime_info(JuliaRuntimeInfo& out) {
  const JuliaRuntime* rt = JuliaRuntime::loaded();
  if (rt == nullptr) return false;
  const JuliaInstall& in = rt->install();
  out.mode = in.source.empty() ? "sysimage" : "source";
  out.libjulia = in.libjulia;
  out.image = in.sysimage;
  out.source = in.source;
  out.version = rt->julia_version();
  out.trace_compile = rt->trace_compile();
  return true;
}

}  // namespace kestrel::julia
