// Native reference strategy. Every line follows docs/STRATEGY.md; the order of floating-point
// operations is part of the contract (the Julia engine must reproduce it), so do not "simplify".
#include "kestrel/strategy.h"

#include <cmath>
#include <limits>
#include <string>

namespace kestrel {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// 2^53: below it a bucket count is an exact double and v - k*VBS is meaningful.
constexpr double kExactBuckets = 9007199254740992.0;

inline std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  // ts >= 0 is enforced before this is called; keep floor semantics anyway.
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

void validate_params(const StrategyParams& p) {
  auto bad = [](const char* name, const std::string& why) {
    throw EngineError("BAD_STRATEGY_PARAMS", std::string("strategy parameter ") + name + " " + why);
  };
  auto finite = [](double v) { return std::isfinite(v); };
  if (!(p.ewma_lambda > 0 && p.ewma_lambda < 1)) bad("ewma_lambda", "must be in (0, 1)");
  if (!(p.ofi_alpha > 0 && p.ofi_alpha <= 1)) bad("ofi_alpha", "must be in (0, 1]");
  if (p.vpin_bar_ns <= 0) bad("vpin_bar_ns", "must be > 0");
  if (!(finite(p.vpin_bucket_volume) && p.vpin_bucket_volume > 0)) bad("vpin_bucket_volume", "must be > 0");
  if (p.vpin_buckets < 1 || p.vpin_buckets > 100000) bad("vpin_buckets", "must be in 1..100000");
  if (p.ou_dt_ns <= 0) bad("ou_dt_ns", "must be > 0");
  if (p.ou_window < 4 || p.ou_window > 1000000) bad("ou_window", "must be in 4..1000000");
  if (!(finite(p.z_entry) && p.z_entry > 0)) bad("z_entry", "must be > 0");
  if (!(finite(p.z_high) && p.z_high >= p.z_entry)) bad("z_high", "must be >= z_entry");
  if (!(p.max_spread_bps > 0)) bad("max_spread_bps", "must be > 0");
  if (!(p.vpin_max > 0 && p.vpin_max <= 1)) bad("vpin_max", "must be in (0, 1]");
  if (!(finite(p.half_life_min_s) && p.half_life_min_s >= 0)) bad("half_life_min_s", "must be >= 0");
  if (!(p.half_life_max_s > p.half_life_min_s)) bad("half_life_max_s", "must be > half_life_min_s");
  if (p.cooldown_ns < 0) bad("cooldown_ns", "must be >= 0");
  if (!(p.min_confidence >= 0 && p.min_confidence <= 1)) bad("min_confidence", "must be in [0, 1]");
  if (!(p.kelly_fraction > 0 && p.kelly_fraction <= 1)) bad("kelly_fraction", "must be in (0, 1]");
  if (!(finite(p.capital) && p.capital > 0)) bad("capital", "must be > 0");
  if (!(finite(p.max_size) && p.max_size > 0)) bad("max_size", "must be > 0");
  if (!(finite(p.min_size) && p.min_size >= 0 && p.min_size <= p.max_size)) bad("min_size", "must be in [0, max_size]");
  if (!(p.min_fill_ratio > 0 && p.min_fill_ratio <= 1)) bad("min_fill_ratio", "must be in (0, 1]");
  if (p.ttl_ms < 1) bad("ttl_ms", "must be >= 1");
  if (!(finite(p.max_slippage_bps) && p.max_slippage_bps >= 0)) bad("max_slippage_bps", "must be >= 0");
  if (p.vr_lag < 2 || p.vr_lag > p.ou_window - 2) bad("vr_lag", "must be in 2..ou_window-2");
  if (!(finite(p.vr_trend) && p.vr_trend > 0)) bad("vr_trend", "must be > 0");
  if (!(finite(p.vol_ratio_threshold) && p.vol_ratio_threshold > 0)) bad("vol_ratio_threshold", "must be > 0");
  if (!(p.vol_long_lambda > 0 && p.vol_long_lambda < 1)) bad("vol_long_lambda", "must be in (0, 1)");
}

const char* non_live_param(const StrategyParams& cur, const StrategyParams& next) noexcept {
  if (cur.strategy_id != next.strategy_id) return "strategy_id";
  if (cur.ewma_lambda != next.ewma_lambda) return "ewma_lambda";
  if (cur.ofi_alpha != next.ofi_alpha) return "ofi_alpha";
  if (cur.vpin_bar_ns != next.vpin_bar_ns) return "vpin_bar_ns";
  if (cur.vpin_bucket_volume != next.vpin_bucket_volume) return "vpin_bucket_volume";
  if (cur.vpin_buckets != next.vpin_buckets) return "vpin_buckets";
  if (cur.ou_dt_ns != next.ou_dt_ns) return "ou_dt_ns";
  if (cur.ou_window != next.ou_window) return "ou_window";
  return nullptr;
}

OuFit fit_ou(const double* s, std::uint32_t start, std::uint32_t count, std::uint32_t cap, double dt_s) noexcept {
  OuFit f;
  f.valid = false;
  f.kappa = f.mu = f.sigma = f.half_life = f.sigma_eq = f.b = kNaN;
  if (count < 4) return f;
  auto at = [&](std::uint32_t i) { return s[(start + i) % cap]; };
  double sum = 0;
  for (std::uint32_t i = 0; i < count; ++i) sum += at(i);
  const double m = sum / static_cast<double>(count);
  const std::uint32_t n_i = count - 1;
  const double n = static_cast<double>(n_i);
  double Sx = 0, Sy = 0, Sxx = 0, Sxy = 0;
  for (std::uint32_t i = 0; i < n_i; ++i) {
    const double x = at(i) - m;
    const double y = at(i + 1) - m;
    Sx += x;
    Sy += y;
    Sxx += x * x;
    Sxy += x * y;
  }
  const double den = n * Sxx - Sx * Sx;
  if (!(den > 0)) return f;
  const double b = (n * Sxy - Sx * Sy) / den;
  f.b = b;
  const double a = (Sy - b * Sx) / n;
  double sse = 0;
  for (std::uint32_t i = 0; i < n_i; ++i) {
    const double x = at(i) - m;
    const double y = at(i + 1) - m;
    const double e = (y - a) - b * x;
    sse += e * e;
  }
  if (!(b > 0 && b < 1 && sse > 0 && n > 2)) return f;
  const double kappa = -std::log(b) / dt_s;
  const double mu = m + a / (1 - b);
  const double sd = std::sqrt(sse / (n - 2));
  const double sigma = sd * std::sqrt(-2 * std::log(b) / (dt_s * (1 - b * b)));
  f.valid = true;
  f.kappa = kappa;
  f.mu = mu;
  f.sigma = sigma;
  f.half_life = std::log(2.0) / kappa;
  f.sigma_eq = sigma / std::sqrt(2 * kappa);
  return f;
}

ReferenceStrategy::ReferenceStrategy(const StrategyParams& p, std::uint32_t symbols) : p_(p) {
  validate_params(p_);
  states_.resize(symbols);
  for (auto& s : states_) {
    s.ou.assign(p_.ou_window, 0.0);
    s.oi.assign(p_.vpin_buckets, 0.0);
    s.mid = s.spread = s.spread_bps = s.microprice = kNaN;
    s.ewma_var = s.ewma_var_long = kNaN;
    s.zscore = kNaN;
    s.vpin = kNaN;
    s.vr = s.vol_ratio = kNaN;
    s.fit.valid = false;
    s.fit.kappa = s.fit.mu = s.fit.sigma = s.fit.half_life = s.fit.sigma_eq = s.fit.b = kNaN;
  }
}

bool ReferenceStrategy::update_params(const StrategyParams& p) {
  // Thresholds and sizing only: the state-shaping parameters were refused before the queue.
  if (non_live_param(p_, p) != nullptr) return false;
  p_ = p;
  return true;
}

void ReferenceStrategy::reset(SymbolState& s) noexcept {
  s.has_prev = false;
  s.ou_start = 0;
  s.ou_count = 0;
  s.fit.valid = false;
  s.fit.kappa = s.fit.mu = s.fit.sigma = s.fit.half_life = s.fit.sigma_eq = s.fit.b = kNaN;
  s.zscore = kNaN;
  s.vr_s1 = s.vr_s2 = s.vr_k1 = s.vr_k2 = 0;
  s.vr = kNaN;
  s.regime = kRegimeUnknown;
  s.has_bar = false;
  ++s.resets;
}

void ReferenceStrategy::on_gap(std::uint32_t symbol, std::uint64_t /*missed*/) {
  if (symbol < states_.size()) reset(states_[symbol]);
}

void ReferenceStrategy::on_tick(const TickView& tick, SignalSink& sink) {
  if (tick.symbol >= states_.size()) return;
  SymbolState& s = states_[tick.symbol];
  const TickEntry& t = *tick.entry;
  if (t.flags & kResetMask) {
    reset(s);
    ++s.skipped;
    return;
  }
  if ((t.flags & kTaintMask) || t.ts_ns < 0) {
    ++s.skipped;
    return;
  }
  if (!(t.flags & kFlagTrade)) {
    const bool ok = std::isfinite(t.bid) && std::isfinite(t.ask) && t.bid > 0 && t.ask > 0 && t.bid < t.ask &&
                    std::isfinite(t.bid_size) && std::isfinite(t.ask_size) && t.bid_size >= 0 && t.ask_size >= 0 &&
                    !(s.has_quote_ts && t.ts_ns < s.last_quote_ts);
    if (!ok) {
      ++s.skipped;
      return;
    }
    on_quote(s, t);
    evaluate(s, tick, sink);
  } else {
    const bool ok = std::isfinite(t.bid) && t.bid > 0 && std::isfinite(t.bid_size) && t.bid_size > 0 &&
                    !(s.has_trade_ts && t.ts_ns < s.last_trade_ts);
    if (!ok) {
      ++s.skipped;
      return;
    }
    on_trade(s, t);
  }
}

void ReferenceStrategy::on_quote(SymbolState& s, const TickEntry& t) noexcept {
  const double bid = t.bid, ask = t.ask, bs = t.bid_size, as = t.ask_size;
  const double mid = (bid + ask) * 0.5;
  if (s.has_prev) {
    const double e = (bid >= s.prev_bid ? bs : 0.0) - (bid <= s.prev_bid ? s.prev_bid_size : 0.0) -
                     (ask <= s.prev_ask ? as : 0.0) + (ask >= s.prev_ask ? s.prev_ask_size : 0.0);
    s.ofi = (1 - p_.ofi_alpha) * s.ofi + p_.ofi_alpha * e;
    s.ofi_abs = (1 - p_.ofi_alpha) * s.ofi_abs + p_.ofi_alpha * std::fabs(e);
    const double r = std::log(mid / s.prev_mid);
    s.ewma_var = (s.n_ret == 0) ? r * r : p_.ewma_lambda * s.ewma_var + (1 - p_.ewma_lambda) * (r * r);
    s.ewma_var_long =
        (s.n_ret == 0) ? r * r : p_.vol_long_lambda * s.ewma_var_long + (1 - p_.vol_long_lambda) * (r * r);
    s.vol_ratio = s.ewma_var_long > 0 ? std::sqrt(s.ewma_var / s.ewma_var_long) : kNaN;
    s.n_ret += 1;
    const std::int64_t k = floor_div(t.ts_ns, p_.ou_dt_ns) - floor_div(s.prev_ts, p_.ou_dt_ns);
    const std::uint32_t W = p_.ou_window;
    const std::int64_t pushes = k < static_cast<std::int64_t>(W) ? k : static_cast<std::int64_t>(W);
    for (std::int64_t j = 0; j < pushes; ++j) ou_push(s, s.prev_mid);
    if (k > 0 && s.ou_count == W) {
      s.fit = fit_ou(s.ou.data(), s.ou_start, s.ou_count, W, static_cast<double>(p_.ou_dt_ns) / 1e9);
      const double n1 = static_cast<double>(W - 1);
      const double nk = static_cast<double>(W - p_.vr_lag);
      const double var1 = (s.vr_s2 - s.vr_s1 * s.vr_s1 / n1) / (n1 - 1);
      const double vark = (s.vr_k2 - s.vr_k1 * s.vr_k1 / nk) / (nk - 1);
      s.vr = var1 > 0 ? vark / (static_cast<double>(p_.vr_lag) * var1) : kNaN;
    }
  }
  s.last_quote_ts = t.ts_ns;
  s.has_quote_ts = true;
  s.has_prev = true;
  s.prev_bid = bid;
  s.prev_ask = ask;
  s.prev_bid_size = bs;
  s.prev_ask_size = as;
  s.prev_mid = mid;
  s.prev_ts = t.ts_ns;
  s.mid = mid;
  s.spread = ask - bid;
  s.spread_bps = (ask - bid) / mid * 1e4;
  s.microprice = (bs + as) > 0 ? (bid * as + ask * bs) / (bs + as) : mid;
  s.zscore = s.fit.valid ? (mid - s.fit.mu) / s.fit.sigma_eq : kNaN;
  classify(s);
}

void ReferenceStrategy::ou_push(SymbolState& s, double x) noexcept {
  const std::uint32_t W = p_.ou_window, L = p_.vr_lag;
  if (s.ou_count < W) {
    const std::uint32_t c = s.ou_count;
    if (c >= 1) {
      const double d = x - s.ou[(s.ou_start + c - 1) % W];
      s.vr_s1 = s.vr_s1 + d;
      s.vr_s2 = s.vr_s2 + d * d;
    }
    if (c >= L) {
      const double d = x - s.ou[(s.ou_start + c - L) % W];
      s.vr_k1 = s.vr_k1 + d;
      s.vr_k2 = s.vr_k2 + d * d;
    }
    s.ou[(s.ou_start + c) % W] = x;
    ++s.ou_count;
    return;
  }
  // Full: drop the differences that start at the oldest sample, add the ones ending at x.
  const double o = s.ou[s.ou_start];
  const double d1o = s.ou[(s.ou_start + 1) % W] - o;
  const double dko = s.ou[(s.ou_start + L) % W] - o;
  const double d1n = x - s.ou[(s.ou_start + W - 1) % W];
  const double dkn = x - s.ou[(s.ou_start + W - L) % W];
  s.vr_s1 = (s.vr_s1 - d1o) + d1n;
  s.vr_s2 = (s.vr_s2 - d1o * d1o) + d1n * d1n;
  s.vr_k1 = (s.vr_k1 - dko) + dkn;
  s.vr_k2 = (s.vr_k2 - dko * dko) + dkn * dkn;
  s.ou[s.ou_start] = x;
  s.ou_start = (s.ou_start + 1) % W;
  // Once per window turn the sums are rebuilt exactly, so add/remove rounding cannot accumulate.
  if (s.ou_start == 0) vr_recompute(s);
}

void ReferenceStrategy::vr_recompute(SymbolState& s) noexcept {
  const std::uint32_t W = p_.ou_window, L = p_.vr_lag;
  auto at = [&](std::uint32_t i) { return s.ou[(s.ou_start + i) % W]; };
  double a1 = 0, a2 = 0, b1 = 0, b2 = 0;
  for (std::uint32_t i = 0; i + 1 < W; ++i) {
    const double d = at(i + 1) - at(i);
    a1 += d;
    a2 += d * d;
  }
  for (std::uint32_t i = 0; i + L < W; ++i) {
    const double d = at(i + L) - at(i);
    b1 += d;
    b2 += d * d;
  }
  s.vr_s1 = a1;
  s.vr_s2 = a2;
  s.vr_k1 = b1;
  s.vr_k2 = b2;
}

void ReferenceStrategy::classify(SymbolState& s) noexcept {
  if (s.ou_count < p_.ou_window || s.n_ret < p_.ou_window) {
    s.regime = kRegimeUnknown;
  } else if (s.vol_ratio > p_.vol_ratio_threshold) {
    s.regime = kRegimeHighVol;
  } else if (s.vr > p_.vr_trend || s.fit.b >= 1) {
    s.regime = kRegimeTrending;
  } else {
    s.regime = kRegimeMeanReverting;
  }
}

void ReferenceStrategy::on_trade(SymbolState& s, const TickEntry& t) noexcept {
  const double p = t.bid, q = t.bid_size;
  const std::int64_t idx = floor_div(t.ts_ns, p_.vpin_bar_ns);
  if (s.has_bar && idx != s.bar_idx) close_bar(s);
  if (!s.has_bar) {
    s.has_bar = true;
    s.bar_idx = idx;
    s.bar_first = p;
    s.bar_vol = 0;
  }
  s.bar_last = p;
  s.bar_vol = s.bar_vol + q;
  s.last_trade_ts = t.ts_ns;
  s.has_trade_ts = true;
}

void ReferenceStrategy::close_bar(SymbolState& s) noexcept {
  s.has_bar = false;
  const double dp = s.bar_last - s.bar_first;
  s.nb += 1;
  const double d = dp - s.wmean;
  s.wmean = s.wmean + d / s.nb;
  s.wm2 = s.wm2 + d * (dp - s.wmean);
  const double sd = s.nb >= 2 ? std::sqrt(s.wm2 / (s.nb - 1)) : 0.0;
  const double z = sd > 0 ? dp / sd : 0.0;
  const double phi = 0.5 * std::erfc(-z / std::sqrt(2.0));
  const double vbs = p_.vpin_bucket_volume;
  double v = s.bar_vol;
  if (!(v > 0)) return;
  // 1. Top up the bucket in progress.
  const double room = vbs - s.bkt_vol;
  if (v < room) {
    s.bkt_buy = s.bkt_buy + v * phi;
    s.bkt_sell = s.bkt_sell + v * (1 - phi);
    s.bkt_vol = s.bkt_vol + v;
    return;
  }
  s.bkt_buy = s.bkt_buy + room * phi;
  s.bkt_sell = s.bkt_sell + room * (1 - phi);
  push_bucket(s, std::fabs(s.bkt_buy - s.bkt_sell), 1);
  v = v - room;
  // 2. Whole buckets at once: each holds exactly VBS at the same phi, so all have the same imbalance.
  // Closed form instead of one iteration per bucket keeps the work per bar bounded by the window n,
  // whatever the bar's volume (a single absurd trade used to spin here for ever).
  double k = std::floor(v / vbs);
  double rem;
  if (!(k < kExactBuckets)) {
    // The volume is beyond 2^53 buckets (or infinite): its remainder is below its own precision.
    rem = 0;
  } else {
    rem = v - k * vbs;
    // floor(v / vbs) can be one off at a bucket boundary; settle on 0 <= rem < VBS as the loop did.
    if (rem >= vbs) {
      k = k + 1;
      rem = rem - vbs;
    } else if (rem < 0) {
      k = k - 1;
      rem = rem + vbs;
    }
  }
  if (k > 0) push_bucket(s, std::fabs(vbs * phi - vbs * (1 - phi)), k);
  // 3. The remainder starts the next bucket.
  if (rem > 0) {
    s.bkt_buy = rem * phi;
    s.bkt_sell = rem * (1 - phi);
    s.bkt_vol = rem;
  }
}

void ReferenceStrategy::push_bucket(SymbolState& s, double oi, double count) noexcept {
  const std::uint32_t n = p_.vpin_buckets;
  // Only the last n imbalances are kept, so at most n ring writes whatever the count.
  const std::uint32_t writes = count >= static_cast<double>(n) ? n : static_cast<std::uint32_t>(count);
  for (std::uint32_t j = 0; j < writes; ++j) {
    if (s.oi_count < n) {
      s.oi[(s.oi_start + s.oi_count) % n] = oi;
      ++s.oi_count;
    } else {
      s.oi[s.oi_start] = oi;
      s.oi_start = (s.oi_start + 1) % n;
    }
  }
  // Saturating count (at 2^63 - 1, the Julia engine's Int64): far beyond any meaningful volume, and
  // never a wrap to a small number.
  constexpr std::uint64_t kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  const std::uint64_t c = count >= 9223372036854775808.0 ? kMax : static_cast<std::uint64_t>(count);
  s.n_buckets = c > kMax - s.n_buckets ? kMax : s.n_buckets + c;
  s.bkt_vol = 0;
  s.bkt_buy = 0;
  s.bkt_sell = 0;
  if (s.n_buckets >= n) {
    double sum = 0;
    for (std::uint32_t i = 0; i < n; ++i) sum += s.oi[(s.oi_start + i) % n];
    s.vpin = sum / (static_cast<double>(n) * p_.vpin_bucket_volume);
  }
}

void ReferenceStrategy::evaluate(SymbolState& s, const TickView& tick, SignalSink& sink) noexcept {
  if (!s.fit.valid) return;
  const double z = s.zscore;
  const std::int64_t ts = tick.entry->ts_ns;
  if (std::fabs(z) < p_.z_entry) return;
  if (s.spread_bps > p_.max_spread_bps) return;
  if (s.fit.half_life < p_.half_life_min_s || s.fit.half_life > p_.half_life_max_s) return;
  if (!std::isnan(s.vpin) && s.vpin > p_.vpin_max) return;
  if (s.has_signal && ts - s.last_signal_ts < p_.cooldown_ns) return;
  if (!p_.trend_entries && (s.regime == kRegimeTrending || s.regime == kRegimeHighVol)) return;
  const double ofi_norm = s.ofi_abs > 0 ? s.ofi / s.ofi_abs : 0.0;
  const std::uint8_t side = z > 0 ? kSideSell : kSideBuy;
  const double conf_z = 1 - std::erfc(std::fabs(z) / std::sqrt(2.0));
  const double vpin_factor = std::isnan(s.vpin) ? 1.0 : 1 - s.vpin;
  const double align = z > 0 ? -ofi_norm : ofi_norm;
  const double ofi_factor = 0.5 + 0.5 * align;
  const double confidence = conf_z * vpin_factor * ofi_factor;
  if (confidence < p_.min_confidence) return;
  const double mid = s.mid;
  const double edge = std::fabs(mid - s.fit.mu) * 0.5;
  const double var_h = s.fit.sigma * s.fit.sigma * 0.75 / (2 * s.fit.kappa);
  const double f_star = edge * mid / var_h;
  if (!(f_star > 0)) return;  // NaN (degenerate fit) must not size at the cap
  // f* is the Kelly stake as a fraction of capital; above 1 it asks for leverage, which a spot
  // strategy does not take. Uncapped, f* (often in the hundreds) swamped capital and max_size.
  const double f_unlev = f_star < 1 ? f_star : 1.0;
  const double f = p_.kelly_fraction * confidence * f_unlev;
  const double raw = f * p_.capital / mid;
  const double size = raw < p_.max_size ? raw : p_.max_size;
  if (!(size >= p_.min_size)) return;
  const std::uint8_t urgency =
      std::fabs(z) >= p_.z_high ? kUrgencyHigh : (confidence < 0.5 ? kUrgencyLow : kUrgencyNormal);
  SignalRecord r{};
  r.trace_hi = (static_cast<std::uint64_t>(p_.strategy_id) << 32) | tick.symbol;
  r.trace_lo = tick.sequence;
  r.strategy_id = p_.strategy_id;
  r.symbol_id = static_cast<std::uint16_t>(tick.symbol);
  r.venue_id = tick.entry->venue_id;
  r.side = side;
  r.urgency = urgency;
  r.engine = kEngineNative;
  r.regime = s.regime;
  r.ttl_ms = p_.ttl_ms;
  r.size = size;
  r.confidence = confidence;
  r.max_slippage_bps = p_.max_slippage_bps;
  r.min_fill_qty = size * p_.min_fill_ratio;
  r.ref_price = mid;
  r.zscore = z;
  r.source_seq = tick.sequence;
  r.tick_ts_ns = ts;
  r.tick_push_ns = tick.entry->push_ns;
  r.engine_pop_ns = tick.pop_ns;
  s.last_signal_ts = ts;
  s.has_signal = true;
  ++s.signals;
  sink.publish(r);
}

bool ReferenceStrategy::features(std::uint32_t symbol, FeatureSnapshot& o) const {
  if (symbol >= states_.size()) return false;
  const SymbolState& s = states_[symbol];
  o.mid = s.mid;
  o.spread = s.spread;
  o.spread_bps = s.spread_bps;
  o.microprice = s.microprice;
  o.ofi = s.ofi;
  o.ofi_norm = s.ofi_abs > 0 ? s.ofi / s.ofi_abs : 0.0;
  o.ewma_var = s.ewma_var;
  o.vpin = s.vpin;
  o.n_buckets = s.n_buckets;
  o.ou_valid = s.fit.valid;
  o.kappa = s.fit.kappa;
  o.mu = s.fit.mu;
  o.sigma = s.fit.sigma;
  o.half_life = s.fit.half_life;
  o.zscore = s.zscore;
  o.ou_b = s.fit.b;
  o.vr = s.vr;
  o.vol_ratio = s.vol_ratio;
  o.regime = s.regime;
  return true;
}

std::unique_ptr<Strategy> make_native_strategy(const EngineConfig& config) {
  return std::make_unique<ReferenceStrategy>(config.params, config.symbols);
}

}  // namespace kestrel
