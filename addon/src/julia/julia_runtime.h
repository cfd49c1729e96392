// Finding, loading and starting libjulia inside the Node process.
//
// Two phases, because they have different thread rules:
//  1. preflight (any thread, usually Node's main thread when the engine is selected): locate the
//     Julia installation and the sysimage on disk, dlopen libjulia, resolve the C API, compare
//     versions. Nothing here runs Julia code, and every failure is a typed JuliaEngineError, so
//     selecting the `julia` engine on a machine without Julia fails at once with a clear message.
//  2. start (the engine thread only): jl_parse_opts + jl_init_with_image + resolve the strategy's
//     C-callable entry points. From then on that thread alone may call Julia (see
//     docs/JULIA_EMBEDDING.md: with --handle-signals=no, Julia cannot stop another thread for GC).
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "julia_api.h"
#include "kestrel/engine.h"

namespace kestrel::julia {

enum class JuliaErrorCode {
  kJuliaNotFound,            // no libjulia under JULIA_DIR or beside `julia` on PATH
  kJuliaLoadFailed,          // dlopen refused the library
  kJuliaSymbolMissing,       // a C API symbol is absent (not a libjulia, or an incompatible one)
  kJuliaVersionUnsupported,  // libjulia is not the supported Julia line
  kSysimageNotFound,         // no sysimage at any candidate path
  kSysimageInvalid,          // not an ELF shared object, or its version stamp is missing
  kSysimageVersionMismatch,  // built by another Julia build: jl_init would abort the process
  kJuliaInitFailed,          // runtime started but the strategy package could not be loaded
  kEntryPointMissing,        // the package did not provide every entry point / wrong ABI
  kWrongThread,              // Julia already belongs to another thread of this process
  kJuliaSourceNotFound,      // source mode: the package folder (KESTREL_JULIA_SOURCE / juliaSource) is missing
};

const char* error_code_name(JuliaErrorCode code) noexcept;

// An EngineError, so the engine thread rejects start() in TS with `.code` = error_code_name(code)
// ('JULIA_NOT_FOUND', 'SYSIMAGE_NOT_FOUND', ...).
class JuliaEngineError : public EngineError {
 public:
  JuliaEngineError(JuliaErrorCode code, const std::string& message)
      : EngineError(error_code_name(code), message), error_code_(code) {}
  JuliaErrorCode error_code() const noexcept { return error_code_; }

 private:
  JuliaErrorCode error_code_;
};

// Supported Julia line. The sysimage is tied to the exact build anyway (see version stamp).
inline constexpr const char* kSupportedJuliaPrefix = "1.10.";
// Name of the sysimage built by sysimage/build.jl and of its version stamp beside it.
inline constexpr const char* kSysimageRelPath = "sysimage/build/kestrel.so";
inline constexpr const char* kSysimageStampSuffix = ".julia-version";

// Where to look. Filled from the environment by from_environment(); explicit for tests.
struct JuliaSearch {
  std::string julia_dir;                       // JULIA_DIR or the juliaHome option; empty = unset
  std::string julia_dir_source = "JULIA_DIR";  // which of the two, for error messages
  std::string path_env;                        // PATH, searched for `julia` when JULIA_DIR is unset
  std::string sysimage;                        // explicit sysimage (option or KESTREL_JULIA_SYSIMAGE)
  std::vector<std::string> sysimage_defaults;  // tried in order when `sysimage` is empty
  // Source mode: the KestrelStrategy package folder (juliaSource option or KESTREL_JULIA_SOURCE).
  // When set, the sysimage is not used: Julia starts from its own base image (<root>/lib/julia/sys.so)
  // and includes <source>/src/KestrelStrategy.jl (compiled at load, so a slower start).
  std::string source;
  std::string source_origin = "KESTREL_JULIA_SOURCE";  // which of the two, for error messages

  // explicit_sysimage wins over KESTREL_JULIA_SYSIMAGE; defaults are <repo>/sysimage/build/kestrel.so
  // derived from the addon binary's location and from the current directory. explicit_source wins
  // over KESTREL_JULIA_SOURCE.
  static JuliaSearch from_environment(const std::string& explicit_sysimage, const std::string& explicit_source = {});
};

struct JuliaInstall {
  std::string root;                 // <root>/bin/julia, <root>/lib/libjulia.so.1.10 (soname; or libjulia.so)
  std::string bindir;               // <root>/bin, becomes Sys.BINDIR
  std::string libjulia;             // absolute path of the libjulia found
  std::string sysimage;             // absolute path of the sysimage
  std::string sysimage_built_with;  // content of the version stamp, e.g. "1.10.8"; empty in source mode
  std::string source;               // source mode: absolute path of the package folder; empty = sysimage mode
};

// Filesystem only: finds libjulia and the sysimage, checks the sysimage is an ELF file with a
// version stamp. Throws JuliaEngineError (JULIA_NOT_FOUND, SYSIMAGE_NOT_FOUND, SYSIMAGE_INVALID).
JuliaInstall locate_julia(const JuliaSearch& search);

// Filled by the Julia package (KestrelStrategy.fill_entry_points!) with @cfunction pointers.
// Layout shared with julia/src/EntryPoints.jl: 8-byte slots, indices below.
struct JuliaEntryTable {
  static constexpr std::uint64_t kAbiVersion = 2;  // 2: on_tick reads the ring slot in place; gc_stats
  static constexpr std::size_t kSlots = 9;
  // slot 0: ABI version written by Julia; slot 1: number of entry points written.
  // slots 2..: function pointers, in the order of EntryPoint below.
  std::uint64_t slots[kSlots] = {};
};

// Signatures: julia/src/EntryPoints.jl (header comment) and the typedefs in julia_strategy.cpp.
enum class EntryPoint : std::size_t {
  kCreate = 2,   // (const double* params, int64 n, int64 symbols, char* err, int64 cap) -> int64 handle
  kDestroy = 3,  // (int64 h) -> int32
  // (int64 h, const TickEntry* slot, uint32 symbol, uint64 seq, uint64 commit, SignalRecord* out) -> int32:
  // 1 signal in *out, 0 none, 2 torn (the slot's commit word is no longer `commit`: nothing was used),
  // < 0 error. `slot` is the ring slot itself (zero copy); Julia does the seqlock re-check.
  kOnTick = 4,
  kOnGap = 5,      // (int64 h, uint32 symbol, uint64 missed) -> int32
  kFeatures = 6,   // (int64 h, uint32 symbol, double out[15]) -> int32
  kLastError = 7,  // (int64 h, char* buf, int64 cap) -> int64
  kGcStats = 8,    // (int64* out, int64 n) -> int32: out[0] GC pauses, out[1] bytes allocated, since start
};
inline constexpr std::size_t kEntryPointCount = 7;

// The process-wide Julia runtime. Julia can be initialised once per process and never unloaded,
// so this object lives until exit; the library handle is deliberately never closed.
class JuliaRuntime {
 public:
  // Phase 1 (any thread). Returns the runtime loaded earlier in this process if there is one,
  // after checking that the same sysimage is requested. Throws JuliaEngineError.
  static JuliaRuntime& preflight(const JuliaSearch& search);

  // Phase 2 (engine thread). Initialises Julia on the calling thread the first time; later calls
  // from the same thread return at once; a call from another thread throws WRONG_THREAD.
  void start_on_this_thread();

  // Entry point address (valid after start). The caller casts it to the documented signature.
  void* entry(EntryPoint which) const;

  const JuliaInstall& install() const { return install_; }
  const std::string& julia_version() const { return version_; }
  const std::string& trace_compile() const { return trace_compile_; }
  // The runtime loaded in this process, or null.
  static const JuliaRuntime* loaded();

  JuliaRuntime(const JuliaRuntime&) = delete;
  JuliaRuntime& operator=(const JuliaRuntime&) = delete;

 private:
  // Passkey: only preflight() can construct, yet std::make_unique can call the constructor.
  struct Key {
    explicit Key() = default;
  };

 public:
  JuliaRuntime(Key, JuliaInstall install, void* handle, JlApi api, std::string version);

 private:
  void resolve_entry_points();
  // Evaluates `code` in Main; the code writes any caught error text into err_buf_ (NUL-terminated).
  bool eval_checked(const std::string& code, std::string& error);

  JuliaInstall install_;
  void* handle_;  // dlopen handle, never closed (Julia cannot be unloaded)
  JlApi api_;
  std::string version_;
  bool started_ = false;    // the owning thread is marked by a thread_local in julia_runtime.cpp
  std::string init_error_;  // set when Julia started but the entry points could not be resolved
  JuliaErrorCode init_error_code_ = JuliaErrorCode::kJuliaInitFailed;
  JuliaEntryTable table_{};
  std::string trace_compile_;  // set at start from KESTREL_JULIA_TRACE_COMPILE
  std::vector<char> err_buf_;
};

}  // namespace kestrel::julia
