// N-API surface of the Kestrel addon. Thin: argument checking and conversion only; the logic lives
// in region.cpp (rings), engine_host.cpp (thread) and strategy.cpp (native engine).
// Every error thrown to JS is an Error with a string `.code` (src/native/errors.ts maps them).
#include <napi.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kestrel/engine_host.h"
#include "kestrel/layout.h"
#include "kestrel/ring.h"
#include "kestrel/strategy.h"

namespace kestrel {
namespace {

struct AddonData {
  Napi::FunctionReference region_ctor;
  // JS error classes handed over by src/native/addon.ts (setErrorClasses), so the addon throws the
  // typed errors itself instead of a plain Error that TS re-wraps: NativeError(code, message) and its
  // engine subclass. Empty until registered: a raw require() of the addon still gets coded Errors.
  Napi::FunctionReference native_error;
  Napi::FunctionReference native_engine_error;
};

bool is_engine_code(const std::string& code) {
  return code.rfind("ENGINE_", 0) == 0 || code.rfind("JULIA", 0) == 0 || code.rfind("SYSIMAGE", 0) == 0 ||
         code == "BAD_ENGINE" || code == "BAD_ENGINE_OPTIONS" || code == "BAD_STRATEGY_PARAMS" ||
         code == "PARAM_NOT_LIVE" || code == "PARAM_QUEUE_FULL";
}

// Programmer misuse (a wrong argument type or an index out of range) is a TypeError / RangeError, as
// for any JS API; `.code` stays for callers that switch on it. Everything else is a NativeError.
[[noreturn]] void throw_coded(Napi::Env env, const std::string& code, const std::string& msg) {
  if (code == "BAD_ARGUMENT" || code == "BAD_RING") {
    const bool range = code == "BAD_RING" || msg.find("out of range") != std::string::npos;
    Napi::Error e = range ? static_cast<Napi::Error>(Napi::RangeError::New(env, msg))
                          : static_cast<Napi::Error>(Napi::TypeError::New(env, msg));
    e.Set("code", Napi::String::New(env, code));
    throw e;
  }
  auto* data = env.GetInstanceData<AddonData>();
  Napi::FunctionReference* cls = nullptr;
  if (data) cls = is_engine_code(code) ? &data->native_engine_error : &data->native_error;
  if (cls && !cls->IsEmpty()) {
    throw Napi::Error(env, cls->New({Napi::String::New(env, code), Napi::String::New(env, msg)}));
  }
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  throw e;
}

std::uint32_t arg_u32(const Napi::CallbackInfo& info, std::size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsNumber())
    throw_coded(info.Env(), "BAD_ARGUMENT", std::string(name) + " must be a number");
  const double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= 0 && v <= 4294967295.0 && std::floor(v) == v))
    throw_coded(info.Env(), "BAD_ARGUMENT", std::string(name) + " must be an unsigned 32-bit integer");
  return static_cast<std::uint32_t>(v);
}

std::int64_t value_i64(Napi::Env env, const Napi::Value& v, const char* name) {
  if (v.IsBigInt()) {
    bool lossless = false;
    const std::int64_t r = v.As<Napi::BigInt>().Int64Value(&lossless);
    if (!lossless) throw_coded(env, "BAD_ARGUMENT", std::string(name) + " does not fit in int64");
    return r;
  }
  if (v.IsNumber()) {
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(std::isfinite(d) && std::floor(d) == d && std::fabs(d) <= 9007199254740992.0))
      throw_coded(env, "BAD_ARGUMENT", std::string(name) + " must be an integer (use a bigint above 2^53)");
    return static_cast<std::int64_t>(d);
  }
  throw_coded(env, "BAD_ARGUMENT", std::string(name) + " must be a bigint or an integer number");
}

double arg_f64(const Napi::CallbackInfo& info, std::size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsNumber())
    throw_coded(info.Env(), "BAD_ARGUMENT", std::string(name) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

// Bytes of a Uint8Array / ArrayBuffer / any TypedArray argument.
std::pair<std::uint8_t*, std::size_t> arg_bytes(const Napi::CallbackInfo& info, std::size_t i, const char* name) {
  if (i < info.Length()) {
    if (info[i].IsTypedArray()) {
      auto ta = info[i].As<Napi::TypedArray>();
      auto ab = ta.ArrayBuffer();
      return {static_cast<std::uint8_t*>(ab.Data()) + ta.ByteOffset(), ta.ByteLength()};
    }
    if (info[i].IsArrayBuffer()) {
      auto ab = info[i].As<Napi::ArrayBuffer>();
      return {static_cast<std::uint8_t*>(ab.Data()), ab.ByteLength()};
    }
  }
  throw_coded(info.Env(), "BAD_ARGUMENT", std::string(name) + " must be a TypedArray or ArrayBuffer");
}

Napi::Value u64(Napi::Env env, std::uint64_t v) { return Napi::Number::New(env, static_cast<double>(v)); }

// ---------------------------------------------------------------------------------------------
// Strategy params from a JS object with the docs/STRATEGY.md names; unknown keys are an error.
// ---------------------------------------------------------------------------------------------
StrategyParams parse_params(Napi::Env env, const Napi::Value& v, StrategyParams p = StrategyParams{}) {
  if (v.IsUndefined() || v.IsNull()) return p;
  if (!v.IsObject()) throw_coded(env, "BAD_STRATEGY_PARAMS", "params must be an object");
  Napi::Object o = v.As<Napi::Object>();
  Napi::Array keys = o.GetPropertyNames();
  for (std::uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
    Napi::Value val = o.Get(k);
    if (val.IsUndefined()) continue;
    if (!val.IsNumber()) throw_coded(env, "BAD_STRATEGY_PARAMS", "strategy parameter " + k + " must be a number");
    const double d = val.As<Napi::Number>().DoubleValue();
    auto as_int = [&](double lo, double hi) -> double {
      if (!(std::isfinite(d) && std::floor(d) == d && d >= lo && d <= hi))
        throw_coded(env, "BAD_STRATEGY_PARAMS", "strategy parameter " + k + " must be an integer");
      return d;
    };
    if (k == "strategy_id")
      p.strategy_id = static_cast<std::uint32_t>(as_int(0, 4294967295.0));
    else if (k == "ewma_lambda")
      p.ewma_lambda = d;
    else if (k == "ofi_alpha")
      p.ofi_alpha = d;
    else if (k == "vpin_bar_ns")
      p.vpin_bar_ns = static_cast<std::int64_t>(as_int(1, 9e15));
    else if (k == "vpin_bucket_volume")
      p.vpin_bucket_volume = d;
    else if (k == "vpin_buckets")
      p.vpin_buckets = static_cast<std::uint32_t>(as_int(0, 4294967295.0));
    else if (k == "ou_dt_ns")
      p.ou_dt_ns = static_cast<std::int64_t>(as_int(1, 9e15));
    else if (k == "ou_window")
      p.ou_window = static_cast<std::uint32_t>(as_int(0, 4294967295.0));
    else if (k == "z_entry")
      p.z_entry = d;
    else if (k == "z_high")
      p.z_high = d;
    else if (k == "max_spread_bps")
      p.max_spread_bps = d;
    else if (k == "vpin_max")
      p.vpin_max = d;
    else if (k == "half_life_min_s")
      p.half_life_min_s = d;
    else if (k == "half_life_max_s")
      p.half_life_max_s = d;
    else if (k == "cooldown_ns")
      p.cooldown_ns = static_cast<std::int64_t>(as_int(0, 9e15));
    else if (k == "min_confidence")
      p.min_confidence = d;
    else if (k == "kelly_fraction")
      p.kelly_fraction = d;
    else if (k == "capital")
      p.capital = d;
    else if (k == "max_size")
      p.max_size = d;
    else if (k == "min_size")
      p.min_size = d;
    else if (k == "min_fill_ratio")
      p.min_fill_ratio = d;
    else if (k == "ttl_ms")
      p.ttl_ms = static_cast<std::uint32_t>(as_int(0, 4294967295.0));
    else if (k == "max_slippage_bps")
      p.max_slippage_bps = d;
    else if (k == "vr_lag")
      p.vr_lag = static_cast<std::uint32_t>(as_int(0, 4294967295.0));
    else if (k == "vr_trend")
      p.vr_trend = d;
    else if (k == "vol_ratio_threshold")
      p.vol_ratio_threshold = d;
    else if (k == "vol_long_lambda")
      p.vol_long_lambda = d;
    else if (k == "trend_entries")
      p.trend_entries = as_int(0, 1) != 0;
    else
      throw_coded(env, "BAD_STRATEGY_PARAMS", "unknown strategy parameter " + k);
  }
  try {
    validate_params(p);
  } catch (const EngineError& e) {
    throw_coded(env, e.code(), e.what());
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// Region
// ---------------------------------------------------------------------------------------------
class Region : public Napi::ObjectWrap<Region> {
 public:
  static Napi::Function Init(Napi::Env env) {
    Napi::Function f = DefineClass(
        env, "Region",
        {InstanceMethod<&Region::Buffer>("buffer"), InstanceMethod<&Region::PushTick>("pushTick"),
         InstanceMethod<&Region::PushBatch>("pushBatch"), InstanceMethod<&Region::PopTicks>("popTicks"),
         InstanceMethod<&Region::DrainSignals>("drainSignals"), InstanceMethod<&Region::Counters>("counters"),
         InstanceMethod<&Region::SymbolName>("symbolName"), InstanceMethod<&Region::Unlink>("unlink"),
         InstanceMethod<&Region::Close>("close"), InstanceAccessor<&Region::Symbols>("symbols"),
         InstanceAccessor<&Region::Name>("name"), InstanceAccessor<&Region::Size>("size"),
         InstanceAccessor<&Region::Owner>("owner"), InstanceAccessor<&Region::TickCapacity>("tickCapacity"),
         InstanceAccessor<&Region::SignalCapacity>("signalCapacity")});
    return f;
  }

  // new Region('create', {name, symbols: string[], tickCapacity, signalCapacity, replace})
  // new Region('attach', name)
  explicit Region(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Region>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsString())
      throw_coded(env, "BAD_ARGUMENT", "use createRegion() or attachRegion()");
    const std::string mode = info[0].As<Napi::String>().Utf8Value();
    try {
      if (mode == "create") {
        if (!info[1].IsObject()) throw_coded(env, "BAD_ARGUMENT", "createRegion options must be an object");
        Napi::Object o = info[1].As<Napi::Object>();
        ShmRegion::Options opt;
        if (!o.Get("name").IsString()) throw_coded(env, "BAD_REGION_NAME", "options.name must be a string");
        opt.name = o.Get("name").As<Napi::String>().Utf8Value();
        if (!o.Get("symbols").IsArray())
          throw_coded(env, "BAD_REGION_OPTIONS", "options.symbols must be an array of symbol names");
        Napi::Array syms = o.Get("symbols").As<Napi::Array>();
        std::vector<std::string> names;
        for (std::uint32_t i = 0; i < syms.Length(); ++i) {
          if (!syms.Get(i).IsString()) throw_coded(env, "BAD_REGION_OPTIONS", "options.symbols must be strings");
          names.push_back(syms.Get(i).As<Napi::String>().Utf8Value());
          if (names.back().empty() || names.back().size() >= kSymbolNameSize)
            throw_coded(env, "BAD_REGION_OPTIONS", "symbol names must be 1..31 bytes: '" + names.back() + "'");
        }
        opt.symbols = static_cast<std::uint32_t>(names.size());
        if (o.Get("tickCapacity").IsNumber())
          opt.tick_capacity = o.Get("tickCapacity").As<Napi::Number>().Uint32Value();
        if (o.Get("signalCapacity").IsNumber())
          opt.signal_capacity = o.Get("signalCapacity").As<Napi::Number>().Uint32Value();
        const bool replace = o.Get("replace").ToBoolean().Value();
        std::vector<const char*> ptrs;
        for (auto& s : names) ptrs.push_back(s.c_str());
        region_ = std::make_shared<ShmRegion>(ShmRegion::create(opt, ptrs.data(), replace));
      } else if (mode == "attach") {
        if (!info[1].IsString()) throw_coded(env, "BAD_REGION_NAME", "region name must be a string");
        region_ = std::make_shared<ShmRegion>(ShmRegion::attach(info[1].As<Napi::String>().Utf8Value()));
      } else {
        throw_coded(env, "BAD_ARGUMENT", "unknown region mode " + mode);
      }
    } catch (const RegionError& e) {
      throw_coded(env, e.code(), e.what());
    }
    rings_.resize(region_->symbols());
    for (std::uint32_t i = 0; i < region_->symbols(); ++i) rings_[i] = region_->tick_ring(i);
    signals_ = region_->signal_ring();
  }

  std::shared_ptr<ShmRegion> region(Napi::Env env) const {
    if (!region_) throw_coded(env, "REGION_CLOSED", "region is closed");
    return region_;
  }

 private:
  ShmRegion& r(Napi::Env env) const {
    if (!region_) throw_coded(env, "REGION_CLOSED", "region is closed");
    return *region_;
  }
  std::uint32_t ring_arg(const Napi::CallbackInfo& info, std::size_t i) const {
    const std::uint32_t ring = arg_u32(info, i, "ring");
    if (ring >= rings_.size())
      throw_coded(info.Env(), "BAD_RING",
                  "ring " + std::to_string(ring) + " out of range 0.." + std::to_string(rings_.size() - 1));
    return ring;
  }

  // External ArrayBuffer over the whole mapping; it keeps the mapping alive after close().
  Napi::Value Buffer(const Napi::CallbackInfo& info) {
    auto keep = std::make_unique<std::shared_ptr<ShmRegion>>(region(info.Env()));
    ShmRegion& reg = **keep;
    auto ab = Napi::ArrayBuffer::New(
        info.Env(), reg.base(), reg.size(),
        [](Napi::Env, void*, std::shared_ptr<ShmRegion>* hint) {
          std::unique_ptr<std::shared_ptr<ShmRegion>> drop(hint);
        },
        keep.get());
    keep.release();  // owned by the finalizer now
    return ab;
  }

  // pushTick(ring, tsNs, flags, bid, ask, bidSize, askSize, venueId?) -> sequence
  Napi::Value PushTick(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    r(env);
    const std::uint32_t ring = ring_arg(info, 0);
    if (info.Length() < 7)
      throw_coded(env, "BAD_ARGUMENT", "pushTick(ring, tsNs, flags, bid, ask, bidSize, askSize, venueId?)");
    TickEntry t{};
    t.ts_ns = value_i64(env, info[1], "tsNs");
    t.flags = arg_u32(info, 2, "flags");
    t.bid = arg_f64(info, 3, "bid");
    t.ask = arg_f64(info, 4, "ask");
    t.bid_size = arg_f64(info, 5, "bidSize");
    t.ask_size = arg_f64(info, 6, "askSize");
    t.venue_id = info.Length() > 7 && info[7].IsNumber() ? static_cast<std::uint16_t>(arg_u32(info, 7, "venueId")) : 0;
    t.symbol_id = static_cast<std::uint16_t>(ring);
    const std::uint64_t seq = rings_[ring].push(t, monotonic_ns());
    region_->ring_doorbell();
    return u64(env, seq);
  }

  // pushBatch(ring, records: 64-byte TickEntry records, count) -> first sequence
  Napi::Value PushBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    r(env);
    const std::uint32_t ring = ring_arg(info, 0);
    auto [bytes, len] = arg_bytes(info, 1, "records");
    const std::uint32_t count = arg_u32(info, 2, "count");
    if (std::uint64_t(count) * kTickEntrySize > len)
      throw_coded(
          env, "BAD_ARGUMENT",
          "records holds " + std::to_string(len / kTickEntrySize) + " ticks, count is " + std::to_string(count));
    std::uint64_t first = 0;
    TickEntry t;
    for (std::uint32_t i = 0; i < count; ++i) {
      std::memcpy(static_cast<void*>(&t), bytes + std::size_t(i) * kTickEntrySize, kTickEntrySize);
      t.symbol_id = static_cast<std::uint16_t>(ring);
      const std::uint64_t s = rings_[ring].push(t, monotonic_ns());
      if (i == 0) first = s;
    }
    if (count) region_->ring_doorbell();
    return u64(env, first);
  }

  // popTicks(ring, out, max) -> {delivered, missed}: a consumer for processes without an engine.
  Napi::Value PopTicks(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    r(env);
    const std::uint32_t ring = ring_arg(info, 0);
    auto [bytes, len] = arg_bytes(info, 1, "out");
    std::uint32_t max = arg_u32(info, 2, "max");
    if (std::uint64_t(max) * kTickEntrySize > len) max = static_cast<std::uint32_t>(len / kTickEntrySize);
    if (reinterpret_cast<std::uintptr_t>(bytes) % alignof(std::uint64_t) != 0)
      throw_coded(env, "BAD_ARGUMENT", "out must be 8-byte aligned");
    // A ring has ONE consumer: popping here while an engine runs on the region steals its ticks.
    const PopResult pr = rings_[ring].pop(reinterpret_cast<TickEntry*>(bytes), max);
    Napi::Object o = Napi::Object::New(env);
    o.Set("delivered", u64(env, pr.delivered));
    o.Set("missed", u64(env, pr.missed));
    return o;
  }

  // drainSignals(out, max?) -> {count, missed}
  Napi::Value DrainSignals(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    r(env);
    auto [bytes, len] = arg_bytes(info, 0, "out");
    std::uint64_t max = len / kSignalRecordSize;
    if (info.Length() > 1 && info[1].IsNumber()) max = std::min<std::uint64_t>(max, arg_u32(info, 1, "max"));
    if (reinterpret_cast<std::uintptr_t>(bytes) % alignof(std::uint64_t) != 0)
      throw_coded(env, "BAD_ARGUMENT", "out must be 8-byte aligned");
    const PopResult pr = signals_.pop(reinterpret_cast<SignalRecord*>(bytes), max);
    Napi::Object o = Napi::Object::New(env);
    o.Set("count", u64(env, pr.delivered));
    o.Set("missed", u64(env, pr.missed));
    return o;
  }

  static Napi::Object ring_counters(Napi::Env env, RingHeader* h) {
    Napi::Object o = Napi::Object::New(env);
    const std::uint64_t head = as_atomic(h->head).load(std::memory_order_acquire);
    const std::uint64_t tail = as_atomic(h->tail).load(std::memory_order_acquire);
    const std::uint64_t occ = head > tail ? head - tail : 0;
    o.Set("head", u64(env, head));
    o.Set("tail", u64(env, tail));
    o.Set("occupancy", u64(env, occ > h->capacity ? h->capacity : occ));
    o.Set("drops", u64(env, as_atomic(h->overruns).load()));
    o.Set("consumed", u64(env, as_atomic(h->consumed).load()));
    o.Set("lagNs", u64(env, as_atomic(h->consumer_lag_ns).load()));
    o.Set("capacity", u64(env, h->capacity));
    return o;
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ShmRegion& reg = r(env);
    Napi::Array ticks = Napi::Array::New(env, rings_.size());
    for (std::uint32_t i = 0; i < rings_.size(); ++i) {
      Napi::Object o = ring_counters(env, rings_[i].header());
      o.Set("symbol", reg.symbol_name(i));
      ticks.Set(i, o);
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("ticks", ticks);
    out.Set("signals", ring_counters(env, signals_.header()));
    out.Set("engineRunning", Napi::Boolean::New(env, as_atomic(reg.header()->engine_running).load() != 0));
    return out;
  }

  Napi::Value SymbolName(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), r(info.Env()).symbol_name(ring_arg(info, 0)));
  }
  Napi::Value Unlink(const Napi::CallbackInfo& info) {
    r(info.Env()).unlink();
    return info.Env().Undefined();
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    region_.reset();  // the mapping goes away once the engine and any buffer() let go too
    rings_.clear();
    return info.Env().Undefined();
  }
  Napi::Value Symbols(const Napi::CallbackInfo& info) { return u64(info.Env(), r(info.Env()).symbols()); }
  Napi::Value Name(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), r(info.Env()).name()); }
  Napi::Value Size(const Napi::CallbackInfo& info) { return u64(info.Env(), r(info.Env()).size()); }
  Napi::Value Owner(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), r(info.Env()).owner()); }
  Napi::Value TickCapacity(const Napi::CallbackInfo& info) {
    return u64(info.Env(), r(info.Env()).header()->tick_capacity);
  }
  Napi::Value SignalCapacity(const Napi::CallbackInfo& info) {
    return u64(info.Env(), r(info.Env()).header()->signal_capacity);
  }

  std::shared_ptr<ShmRegion> region_;
  std::vector<TickRing> rings_;
  SignalRing signals_;
};
// Per-environment data (main thread and each worker get their own; freed by N-API at env teardown).
// ---------------------------------------------------------------------------------------------
// Engine
// ---------------------------------------------------------------------------------------------
// Wake-up path: a typed ThreadSafeFunction whose calls carry no data (nothing is allocated per
// call, nothing can leak if calls are still queued at release). The context lives until N-API
// finalizes the TSFN; `alive` turns calls queued before stop() into no-ops.
struct NotifyCtx {
  std::shared_ptr<std::atomic<bool>> pending;
  std::atomic<bool> alive{true};
};
void CallJs(Napi::Env env, Napi::Function cb, NotifyCtx* ctx, std::nullptr_t*) {
  if (env == nullptr || ctx == nullptr) return;  // env teardown
  ctx->pending->store(false, std::memory_order_release);
  if (!ctx->alive.load(std::memory_order_acquire)) return;
  cb.Call({});
}
using SignalTsfn = Napi::TypedThreadSafeFunction<NotifyCtx, std::nullptr_t, CallJs>;

class Engine : public Napi::ObjectWrap<Engine> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Engine",
                       {InstanceMethod<&Engine::Start>("start"), InstanceMethod<&Engine::Stop>("stop"),
                        InstanceMethod<&Engine::Stats>("stats"), InstanceMethod<&Engine::UpdateParams>("updateParams"),
                        InstanceMethod<&Engine::Params>("params"), InstanceMethod<&Engine::LastError>("lastError"),
                        InstanceAccessor<&Engine::Running>("running")});
  }

  // new Engine(region, {engine, params, idleSpinNs, maxBatch, juliaHome, juliaSysimage, juliaSource}, onSignals?)
  explicit Engine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Engine>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject() ||
        !info[0].As<Napi::Object>().InstanceOf(env.GetInstanceData<AddonData>()->region_ctor.Value()))
      throw_coded(env, "BAD_ARGUMENT", "new Engine(region, options, onSignals?)");
    region_ = Napi::ObjectWrap<Region>::Unwrap(info[0].As<Napi::Object>())->region(env);
    EngineHostOptions opt;
    if (info.Length() > 1 && info[1].IsObject()) {
      Napi::Object o = info[1].As<Napi::Object>();
      if (o.Has("engine")) {
        if (!o.Get("engine").IsString()) throw_coded(env, "BAD_ENGINE", "engine must be 'native' or 'julia'");
        opt.config.engine = o.Get("engine").As<Napi::String>().Utf8Value();
        if (opt.config.engine != "native" && opt.config.engine != "julia")
          throw_coded(env, "BAD_ENGINE", "engine must be 'native' or 'julia', got '" + opt.config.engine + "'");
      }
      opt.config.params = parse_params(env, o.Get("params"));
      if (o.Get("idleSpinNs").IsNumber()) opt.idle_spin_ns = o.Get("idleSpinNs").As<Napi::Number>().Int64Value();
      if (o.Get("maxBatch").IsNumber()) opt.max_batch = o.Get("maxBatch").As<Napi::Number>().Uint32Value();
      if (o.Get("cpu").IsNumber()) opt.cpu = o.Get("cpu").As<Napi::Number>().Int32Value();
      if (o.Get("juliaHome").IsString()) opt.config.julia_home = o.Get("juliaHome").As<Napi::String>().Utf8Value();
      if (o.Get("juliaSysimage").IsString())
        opt.config.julia_sysimage = o.Get("juliaSysimage").As<Napi::String>().Utf8Value();
      if (o.Get("juliaSource").IsString())
        opt.config.julia_source = o.Get("juliaSource").As<Napi::String>().Utf8Value();
    }
    if (info.Length() > 2 && info[2].IsFunction()) callback_ = Napi::Persistent(info[2].As<Napi::Function>());
    options_ = std::move(opt);
  }

  ~Engine() override { shutdown(/*keep_error=*/false); }  // GC finalizer: touch no JS values

 private:
  void shutdown(bool keep_error = true) {
    if (host_) {
      host_->stop();  // joined: no further NonBlockingCall can happen
      const EngineHost::Failure f = host_->last_error();
      if (keep_error && !f.code.empty()) last_error_ = Napi::Persistent(failure_object(Env(), f));
    }
    host_.reset();
    if (ctx_) ctx_->alive.store(false, std::memory_order_release);
    ctx_ = nullptr;
    if (tsfn_) {
      tsfn_.Release();
      tsfn_ = SignalTsfn();
    }
  }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (host_ && host_->running()) throw_coded(env, "ENGINE_ALREADY_RUNNING", "engine is already running");
    shutdown();
    last_error_.Reset();
    EngineHost::Notify notify;
    if (!callback_.IsEmpty()) {
      auto ctx = std::make_unique<NotifyCtx>();
      ctx_ = ctx.get();
      tsfn_ = SignalTsfn::New(env, callback_.Value(), "kestrel-signals", 0, 1, ctx.get(),
                              [](Napi::Env, void*, NotifyCtx* c) { std::unique_ptr<NotifyCtx> drop(c); });
      ctx.release();  // owned by the TSFN finalizer now
      SignalTsfn tsfn = tsfn_;
      notify = [tsfn]() { tsfn.NonBlockingCall(); };
    }
    host_ = std::make_unique<EngineHost>(region_, options_, std::move(notify));
    if (ctx_) ctx_->pending = host_->pending_flag();  // before start(): the thread does not exist yet
    try {
      host_->start();
    } catch (const EngineError& e) {
      shutdown();
      throw_coded(env, e.code(), e.what());
    }
    return env.Undefined();
  }

  // updateParams({name: value, ...}): a partial change over the current parameters. Stopped: taken
  // for the next start. Running: validated here, queued to the engine thread (applied between ticks);
  // a state-shaping parameter is refused with PARAM_NOT_LIVE, a full queue with PARAM_QUEUE_FULL.
  Napi::Value UpdateParams(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw_coded(env, "BAD_ARGUMENT", "updateParams(params)");
    const StrategyParams next = parse_params(env, info[0], options_.config.params);
    if (host_ && host_->running()) {
      if (options_.config.engine != "native")
        throw_coded(env, "PARAM_NOT_LIVE",
                    "the " + options_.config.engine + " engine takes strategy parameters only at start");
      if (const char* k = non_live_param(options_.config.params, next))
        throw_coded(
            env, "PARAM_NOT_LIVE",
            std::string("strategy parameter ") + k + " cannot change while the engine runs (restart to change it)");
      if (!host_->update_params(next)) throw_coded(env, "PARAM_QUEUE_FULL", "engine parameter queue is full; retry");
    }
    options_.config.params = next;
    return env.Undefined();
  }

  Napi::Value Params(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const StrategyParams& p = options_.config.params;
    Napi::Object o = Napi::Object::New(env);
    o.Set("strategy_id", p.strategy_id);
    o.Set("ewma_lambda", p.ewma_lambda);
    o.Set("ofi_alpha", p.ofi_alpha);
    o.Set("vpin_bar_ns", static_cast<double>(p.vpin_bar_ns));
    o.Set("vpin_bucket_volume", p.vpin_bucket_volume);
    o.Set("vpin_buckets", p.vpin_buckets);
    o.Set("ou_dt_ns", static_cast<double>(p.ou_dt_ns));
    o.Set("ou_window", p.ou_window);
    o.Set("z_entry", p.z_entry);
    o.Set("z_high", p.z_high);
    o.Set("max_spread_bps", p.max_spread_bps);
    o.Set("vpin_max", p.vpin_max);
    o.Set("half_life_min_s", p.half_life_min_s);
    o.Set("half_life_max_s", p.half_life_max_s);
    o.Set("cooldown_ns", static_cast<double>(p.cooldown_ns));
    o.Set("min_confidence", p.min_confidence);
    o.Set("kelly_fraction", p.kelly_fraction);
    o.Set("capital", p.capital);
    o.Set("max_size", p.max_size);
    o.Set("min_size", p.min_size);
    o.Set("min_fill_ratio", p.min_fill_ratio);
    o.Set("ttl_ms", p.ttl_ms);
    o.Set("max_slippage_bps", p.max_slippage_bps);
    return o;
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    shutdown();
    return info.Env().Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    if (!host_) {
      for (const char* k :
           {"ticks", "missed", "signals", "batches", "maxBatch", "sleeps", "notifies", "busyNs", "paramsApplied",
            "paramsRefused", "runtimeSamples", "runtimeGcCollections", "runtimeAllocatedBytes"})
        o.Set(k, u64(env, 0));
      return o;
    }
    const EngineStats& s = host_->stats();
    o.Set("ticks", u64(env, s.ticks.load()));
    o.Set("missed", u64(env, s.missed.load()));
    o.Set("signals", u64(env, s.signals.load()));
    o.Set("batches", u64(env, s.batches.load()));
    o.Set("maxBatch", u64(env, s.max_batch.load()));
    o.Set("sleeps", u64(env, s.sleeps.load()));
    o.Set("notifies", u64(env, s.notifies.load()));
    o.Set("busyNs", u64(env, s.busy_ns.load()));
    o.Set("paramsApplied", u64(env, s.params_applied.load()));
    o.Set("paramsRefused", u64(env, s.params_refused.load()));
    o.Set("runtimeSamples", u64(env, s.runtime_samples.load(std::memory_order_acquire)));
    o.Set("runtimeGcCollections", u64(env, s.runtime_gc_collections.load()));
    o.Set("runtimeAllocatedBytes", u64(env, s.runtime_allocated_bytes.load()));
    return o;
  }

  Napi::Value LastError(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!host_) return last_error_.IsEmpty() ? env.Null() : last_error_.Value();
    const EngineHost::Failure f = host_->last_error();
    if (f.code.empty()) return env.Null();
    return failure_object(env, f);
  }

  static Napi::Object failure_object(Napi::Env env, const EngineHost::Failure& f) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("code", f.code);
    o.Set("message", f.message);
    if (!f.detail.empty()) o.Set("detail", f.detail);
    return o;
  }

  Napi::Value Running(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), host_ && host_->running());
  }

  std::shared_ptr<ShmRegion> region_;
  EngineHostOptions options_;
  Napi::FunctionReference callback_;
  SignalTsfn tsfn_;
  NotifyCtx* ctx_ = nullptr;          // owned by tsfn_'s finalizer
  Napi::ObjectReference last_error_;  // survives stop() so callers can read why the engine ended
  std::unique_ptr<EngineHost> host_;
};

// ---------------------------------------------------------------------------------------------
// Deterministic synchronous replay through the native strategy (golden vectors, instant replay).
// replay(records: Uint8Array of TickEntry, count, {params, symbols, featureStride})
//   -> {signals: Uint8Array (128-byte SignalRecords), signalCount, features: Float64Array,
//       featureRows, featureColumns: string[]}
// Sequence of tick i is i (its index in `records`).
// ---------------------------------------------------------------------------------------------
class VectorSink final : public SignalSink {
 public:
  bool publish(SignalRecord& r) override {
    r.sequence = out.size();
    r.signal_ns = 0;  // replay is clock-free: latency fields stay 0 for determinism
    r.engine_pop_ns = 0;
    out.push_back(r);
    return true;
  }
  std::vector<SignalRecord> out;
};

Napi::Value Replay(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto [bytes, len] = arg_bytes(info, 0, "records");
  const std::uint32_t count = arg_u32(info, 1, "count");
  if (std::uint64_t(count) * kTickEntrySize > len) throw_coded(env, "BAD_ARGUMENT", "records is shorter than count");
  Napi::Object o = info.Length() > 2 && info[2].IsObject() ? info[2].As<Napi::Object>() : Napi::Object::New(env);
  const StrategyParams params = parse_params(env, o.Get("params"));
  std::uint32_t symbols = o.Get("symbols").IsNumber() ? o.Get("symbols").As<Napi::Number>().Uint32Value() : 1;
  std::uint32_t stride =
      o.Get("featureStride").IsNumber() ? o.Get("featureStride").As<Napi::Number>().Uint32Value() : 0;
  if (symbols == 0 || symbols > kMaxTickRings) throw_coded(env, "BAD_ARGUMENT", "symbols out of range");
  ReferenceStrategy strat(params, symbols);
  VectorSink sink;
  static const char* kCols[] = {"index",    "symbol",    "mid",    "spread",    "spread_bps", "microprice", "ofi",
                                "ofi_norm", "ewma_var",  "vpin",   "n_buckets", "ou_valid",   "kappa",      "mu",
                                "sigma",    "half_life", "zscore", "ou_b",      "vr",         "vol_ratio",  "regime"};
  constexpr std::size_t kNCols = sizeof(kCols) / sizeof(kCols[0]);
  std::vector<double> feats;
  TickEntry t;
  for (std::uint32_t i = 0; i < count; ++i) {
    std::memcpy(static_cast<void*>(&t), bytes + std::size_t(i) * kTickEntrySize, kTickEntrySize);
    const std::uint32_t sym = t.symbol_id < symbols ? t.symbol_id : 0;
    const std::size_t before = sink.out.size();
    strat.on_tick(TickView{&t, sym, i, 0}, sink);
    const bool emitted = sink.out.size() != before;
    if (stride && (i % stride == 0 || i + 1 == count || emitted)) {
      FeatureSnapshot f{};
      strat.features(sym, f);
      const double row[kNCols] = {double(i),
                                  double(sym),
                                  f.mid,
                                  f.spread,
                                  f.spread_bps,
                                  f.microprice,
                                  f.ofi,
                                  f.ofi_norm,
                                  f.ewma_var,
                                  f.vpin,
                                  double(f.n_buckets),
                                  f.ou_valid ? 1.0 : 0.0,
                                  f.kappa,
                                  f.mu,
                                  f.sigma,
                                  f.half_life,
                                  f.zscore,
                                  f.ou_b,
                                  f.vr,
                                  f.vol_ratio,
                                  double(f.regime)};
      feats.insert(feats.end(), row, row + kNCols);
    }
  }
  Napi::Object out = Napi::Object::New(env);
  auto sigbuf = Napi::Uint8Array::New(env, sink.out.size() * kSignalRecordSize);
  if (!sink.out.empty()) std::memcpy(sigbuf.Data(), sink.out.data(), sink.out.size() * kSignalRecordSize);
  out.Set("signals", sigbuf);
  out.Set("signalCount", u64(env, sink.out.size()));
  auto fbuf = Napi::Float64Array::New(env, feats.size());
  if (!feats.empty()) std::memcpy(fbuf.Data(), feats.data(), feats.size() * sizeof(double));
  out.Set("features", fbuf);
  out.Set("featureRows", u64(env, feats.size() / kNCols));
  Napi::Array cols = Napi::Array::New(env, kNCols);
  for (std::size_t i = 0; i < kNCols; ++i) cols.Set(static_cast<std::uint32_t>(i), kCols[i]);
  out.Set("featureColumns", cols);
  std::uint64_t skipped = 0, resets = 0;
  for (std::uint32_t s = 0; s < symbols; ++s) {
    skipped += strat.state(s).skipped;
    resets += strat.state(s).resets;
  }
  out.Set("skipped", u64(env, skipped));
  out.Set("resets", u64(env, resets));
  return out;
}

// fitOu(samples: Float64Array, dtSeconds) -> {valid, kappa, mu, sigma, halfLife, sigmaEq}
Napi::Value FitOu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw_coded(env, "BAD_ARGUMENT", "fitOu(samples: Float64Array, dtSeconds: number)");
  auto a = info[0].As<Napi::Float64Array>();
  const double dt = arg_f64(info, 1, "dtSeconds");
  const OuFit f = fit_ou(a.Data(), 0, static_cast<std::uint32_t>(a.ElementLength()),
                         static_cast<std::uint32_t>(a.ElementLength() ? a.ElementLength() : 1), dt);
  Napi::Object o = Napi::Object::New(env);
  o.Set("valid", f.valid);
  o.Set("kappa", f.kappa);
  o.Set("mu", f.mu);
  o.Set("sigma", f.sigma);
  o.Set("halfLife", f.half_life);
  o.Set("sigmaEq", f.sigma_eq);
  return o;
}

Napi::Value Layout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  auto set = [&](const char* k, double v) { o.Set(k, Napi::Number::New(env, v)); };
#define K(name) set(#name, static_cast<double>(name))
  K(kLayoutVersion);
  K(kCacheLine);
  K(kFlagCrossed);
  K(kFlagStale);
  K(kFlagGap);
  K(kFlagSkew);
  K(kFlagResync);
  K(kFlagTrade);
  K(kFlagBuyAggressor);
  K(kResetMask);
  K(kTaintMask);
  K(kTickEntrySize);
  K(kTickTsOffset);
  K(kTickVenueOffset);
  K(kTickSymbolOffset);
  K(kTickFlagsOffset);
  K(kTickBidOffset);
  K(kTickAskOffset);
  K(kTickBidSizeOffset);
  K(kTickAskSizeOffset);
  K(kTickSequenceOffset);
  K(kTickPushNsOffset);
  K(kSideBuy);
  K(kSideSell);
  K(kUrgencyLow);
  K(kUrgencyNormal);
  K(kUrgencyHigh);
  K(kEngineNative);
  K(kEngineJulia);
  K(kRegimeUnknown);
  K(kRegimeMeanReverting);
  K(kRegimeTrending);
  K(kRegimeHighVol);
  K(kSignalRecordSize);
  K(kSigSequenceOffset);
  K(kSigTraceHiOffset);
  K(kSigTraceLoOffset);
  K(kSigStrategyOffset);
  K(kSigSymbolOffset);
  K(kSigVenueOffset);
  K(kSigSideOffset);
  K(kSigUrgencyOffset);
  K(kSigEngineOffset);
  K(kSigRegimeOffset);
  K(kSigTtlOffset);
  K(kSigSizeOffset);
  K(kSigConfidenceOffset);
  K(kSigMaxSlippageOffset);
  K(kSigMinFillOffset);
  K(kSigRefPriceOffset);
  K(kSigZscoreOffset);
  K(kSigSourceSeqOffset);
  K(kSigTickTsOffset);
  K(kSigTickPushNsOffset);
  K(kSigEnginePopNsOffset);
  K(kSigSignalNsOffset);
  K(kRingHeaderSize);
  K(kRingCapacityOffset);
  K(kRingMaskOffset);
  K(kRingRecordSizeOffset);
  K(kRingKindOffset);
  K(kRingSymbolOffset);
  K(kRingHeadOffset);
  K(kRingTailOffset);
  K(kRingOverrunsOffset);
  K(kRingConsumedOffset);
  K(kRingConsumerLagOffset);
  K(kSymbolNameSize);
  K(kRegionHeaderSize);
  K(kRegionMagicOffset);
  K(kRegionVersionOffset);
  K(kRegionHeaderSizeOffset);
  K(kRegionSizeOffset);
  K(kRegionTickRingCountOffset);
  K(kRegionTickCapacityOffset);
  K(kRegionSignalCapacityOffset);
  K(kRegionTickRecordSizeOffset);
  K(kRegionSignalRecordSizeOffset);
  K(kRegionRingHeaderSizeOffset);
  K(kRegionSymbolsOffset);
  K(kRegionTickRingsOffset);
  K(kRegionTickRingStrideOffset);
  K(kRegionSignalRingOffset);
  K(kRegionCreatorPidOffset);
  K(kRegionDoorbellOffset);
  K(kRegionDoorbellWaitersOffset);
  K(kRegionEngineRunningOffset);
  K(kRegionEnginePidOffset);
  K(kDefaultTickCapacity);
  K(kDefaultSignalCapacity);
  K(kMaxTickRings);
#undef K
  o.Set("kRegionMagic", Napi::BigInt::New(env, kRegionMagic));
  return o;
}

// juliaRuntimeInfo() -> {mode, libjulia, image, source, version, traceCompile} | null (no Julia loaded)
Napi::Value JuliaRuntimeInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  julia::JuliaRuntimeInfo ri;
  if (!julia::julia_runtime_info(ri)) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  o.Set("mode", ri.mode);
  o.Set("libjulia", ri.libjulia);
  o.Set("image", ri.image);
  o.Set("source", ri.source);
  o.Set("version", ri.version);
  o.Set("traceCompile", ri.trace_compile);
  return o;
}

Napi::Value MonotonicNs(const Napi::CallbackInfo& info) {
  return Napi::BigInt::New(info.Env(), static_cast<std::int64_t>(monotonic_ns()));
}

void SetErrorClasses(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject())
    throw Napi::TypeError::New(env, "setErrorClasses({ NativeError, NativeEngineError })");
  auto o = info[0].As<Napi::Object>();
  if (!o.Get("NativeError").IsFunction() || !o.Get("NativeEngineError").IsFunction())
    throw Napi::TypeError::New(env, "setErrorClasses: NativeError and NativeEngineError must be classes");
  auto* data = env.GetInstanceData<AddonData>();
  data->native_error = Napi::Persistent(o.Get("NativeError").As<Napi::Function>());
  data->native_engine_error = Napi::Persistent(o.Get("NativeEngineError").As<Napi::Function>());
}

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  auto data = std::make_unique<AddonData>();
  Napi::Function region = Region::Init(env);
  data->region_ctor = Napi::Persistent(region);
  env.SetInstanceData<AddonData>(data.release());  // N-API deletes it at env teardown
  exports.Set("Region", region);
  exports.Set("Engine", Engine::Init(env));
  exports.Set("replay", Napi::Function::New(env, Replay));
  exports.Set("fitOu", Napi::Function::New(env, FitOu));
  exports.Set("layout", Napi::Function::New(env, Layout));
  exports.Set("monotonicNs", Napi::Function::New(env, MonotonicNs));
  exports.Set("juliaRuntimeInfo", Napi::Function::New(env, JuliaRuntimeInfo));
  exports.Set("setErrorClasses", Napi::Function::New(env, SetErrorClasses));
  return exports;
}

}  // namespace
}  // namespace kestrel

static Napi::Object KestrelInit(Napi::Env env, Napi::Object exports) { return kestrel::InitModule(env, exports); }
NODE_API_MODULE(kestrel, KestrelInit)
