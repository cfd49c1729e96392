// The native reference strategy (docs/STRATEGY.md). One SymbolState per ring; all buffers are
// sized at construction so on_tick never allocates.
#pragma once

#include <cstdint>
#include <vector>

#include "kestrel/engine.h"

namespace kestrel {

struct OuFit {
  bool valid = false;
  double kappa, mu, sigma, half_life, sigma_eq;
  double b;  // AR(1) slope of the last fit, NaN when den <= 0 (kept when the fit is invalid)
};

// Rolling-window OU least-squares fit exactly as docs/STRATEGY.md "OU fit"; `s` oldest first.
// `start`/`count`/`cap` describe a circular buffer (start = index of the oldest sample).
OuFit fit_ou(const double* s, std::uint32_t start, std::uint32_t count, std::uint32_t cap, double dt_s) noexcept;

struct SymbolState {
  // previous clean quote
  bool has_prev = false;
  double prev_bid = 0, prev_ask = 0, prev_bid_size = 0, prev_ask_size = 0, prev_mid = 0;
  std::int64_t prev_ts = 0;
  // features of the last clean quote
  double mid, spread, spread_bps, microprice;
  double ofi = 0, ofi_abs = 0, ewma_var, ewma_var_long;
  std::uint64_t n_ret = 0;
  // OU
  std::vector<double> ou;  // circular, capacity W
  std::uint32_t ou_start = 0, ou_count = 0;
  OuFit fit;
  double zscore;
  // Regime: rolling sums of the 1-step and vr_lag-step differences inside the OU window
  double vr_s1 = 0, vr_s2 = 0, vr_k1 = 0, vr_k2 = 0;
  double vr, vol_ratio;
  std::uint8_t regime = kRegimeUnknown;
  // VPIN
  bool has_bar = false;
  std::int64_t bar_idx = 0;
  double bar_first = 0, bar_last = 0, bar_vol = 0;
  double nb = 0, wmean = 0, wm2 = 0;
  double bkt_vol = 0, bkt_buy = 0, bkt_sell = 0;
  std::vector<double> oi;  // circular, capacity n
  std::uint32_t oi_start = 0, oi_count = 0;
  std::uint64_t n_buckets = 0;
  double vpin;
  // ordering / cooldown
  bool has_quote_ts = false, has_trade_ts = false, has_signal = false;
  std::int64_t last_quote_ts = 0, last_trade_ts = 0, last_signal_ts = 0;
  // counters
  std::uint64_t skipped = 0, resets = 0, signals = 0;
};

class ReferenceStrategy final : public Strategy {
 public:
  ReferenceStrategy(const StrategyParams& p, std::uint32_t symbols);
  const char* name() const noexcept override { return "native"; }
  void on_tick(const TickView& tick, SignalSink& sink) override;
  void on_gap(std::uint32_t symbol, std::uint64_t missed) override;
  bool features(std::uint32_t symbol, FeatureSnapshot& out) const override;
  bool update_params(const StrategyParams& p) override;
  const StrategyParams& params() const noexcept { return p_; }
  const SymbolState& state(std::uint32_t symbol) const { return states_[symbol]; }

 private:
  void reset(SymbolState& s) noexcept;
  void ou_push(SymbolState& s, double x) noexcept;
  void vr_recompute(SymbolState& s) noexcept;
  void classify(SymbolState& s) noexcept;
  void on_quote(SymbolState& s, const TickEntry& t) noexcept;
  void on_trade(SymbolState& s, const TickEntry& t) noexcept;
  void close_bar(SymbolState& s) noexcept;
  // Records `count` completed buckets of imbalance `oi` and refreshes VPIN.
  void push_bucket(SymbolState& s, double oi, double count) noexcept;
  void evaluate(SymbolState& s, const TickView& tick, SignalSink& sink) noexcept;

  StrategyParams p_;
  std::vector<SymbolState> states_;
};

// Throws EngineError("BAD_STRATEGY_PARAMS", ...) naming the first invalid parameter.
void validate_params(const StrategyParams& p);

}  // namespace kestrel
