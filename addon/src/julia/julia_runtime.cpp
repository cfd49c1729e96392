#include "julia_runtime.h"

#include <dlfcn.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <utility>

namespace kestrel::julia {

const char* error_code_name(JuliaErrorCode code) noexcept {
  switch (code) {
    case JuliaErrorCode::kJuliaNotFound:
      return "JULIA_NOT_FOUND";
    case JuliaErrorCode::kJuliaLoadFailed:
      return "JULIA_LOAD_FAILED";
    case JuliaErrorCode::kJuliaSymbolMissing:
      return "JULIA_SYMBOL_MISSING";
    case JuliaErrorCode::kJuliaVersionUnsupported:
      return "JULIA_VERSION_UNSUPPORTED";
    case JuliaErrorCode::kSysimageNotFound:
      return "SYSIMAGE_NOT_FOUND";
    case JuliaErrorCode::kSysimageInvalid:
      return "SYSIMAGE_INVALID";
    case JuliaErrorCode::kSysimageVersionMismatch:
      return "SYSIMAGE_VERSION_MISMATCH";
    case JuliaErrorCode::kJuliaInitFailed:
      return "JULIA_INIT_FAILED";
    case JuliaErrorCode::kEntryPointMissing:
      return "JULIA_ENTRYPOINT_MISSING";
    case JuliaErrorCode::kWrongThread:
      return "JULIA_WRONG_THREAD";
    case JuliaErrorCode::kJuliaSourceNotFound:
      return "JULIA_SOURCE_NOT_FOUND";
  }
  return "JULIA_UNKNOWN";
}

namespace {

// Julia's package id of julia/Project.toml; loading by id (not by name) finds the module inside
// the sysimage without depending on whichever project environment happens to be active.
constexpr const char* kPackageUuid = "ef973c0a-2f4c-410d-9e46-cb808a61c906";
constexpr const char* kPackageName = "KestrelStrategy";
constexpr std::size_t kErrBufSize = 4096;

[[noreturn]] void fail(JuliaErrorCode code, const std::string& message) {
  throw JuliaEngineError(code, std::string(error_code_name(code)) + ": " + message);
}

// A Julia string literal holding `s` exactly: `\`, `"` and `$` escaped.
std::string julia_string_literal(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\\' || c == '"' || c == '$') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

bool is_regular_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_executable_file(const std::string& p) { return is_regular_file(p) && ::access(p.c_str(), X_OK) == 0; }

std::string real_path(const std::string& p) {
  std::array<char, PATH_MAX> buf{};
  if (::realpath(p.c_str(), buf.data()) == nullptr) return p;
  return std::string(buf.data());
}

std::string dirname_of(const std::string& p) {
  const auto pos = p.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return p.substr(0, pos);
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

// Julia 1.10 installs lib/libjulia.so.1.10 (the soname) and lib/libjulia.so -> it; there is no
// libjulia.so.1 (neither the official binaries nor a source build). The soname comes first: it is
// the file the installation's own bin/julia loads. libjulia.so.1 is kept for older layouts.
constexpr const char* kLibjuliaNames[] = {"libjulia.so.1.10", "libjulia.so", "libjulia.so.1"};
constexpr const char* kLibjuliaWanted = "lib/libjulia.so.1.10 (or lib/libjulia.so)";

// The first libjulia found under <root>/lib, or "" (then `tried` lists what was looked for).
std::string libjulia_under(const std::string& root, std::string* tried = nullptr) {
  for (const char* name : kLibjuliaNames) {
    const std::string p = root + "/lib/" + name;
    if (is_regular_file(p)) return p;
  }
  if (tried != nullptr) *tried = root + "/lib/{libjulia.so.1.10,libjulia.so,libjulia.so.1}";
  return {};
}

// A sysimage is a shared object; anything else would make jl_init abort the whole process.
bool has_elf_magic(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::array<char, 4> magic{};
  if (!in.read(magic.data(), magic.size())) return false;
  return magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F';
}

std::string read_stamp(const std::string& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\n')) line.pop_back();
  return line;
}

// Directory of the addon binary itself (build/Release/x.node or prebuilds/linux-x64/x.node).
std::string addon_dir() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&addon_dir), &info) == 0 || info.dli_fname == nullptr) return {};
  return dirname_of(real_path(info.dli_fname));
}

struct LocatedRoot {
  std::string root;
  std::string bindir;
  std::string libjulia;
};

LocatedRoot locate_root(const JuliaSearch& s) {
  if (!s.julia_dir.empty()) {
    const std::string root = real_path(s.julia_dir);
    std::string tried;
    const std::string lib = libjulia_under(root, &tried);
    if (lib.empty()) {
      fail(JuliaErrorCode::kJuliaNotFound,
           s.julia_dir_source + "=" + s.julia_dir + " has no " + kLibjuliaWanted + " (looked for " + tried + "); set " +
               s.julia_dir_source + " to a Julia 1.10 installation, the directory holding bin/julia and lib/");
    }
    return {root, root + "/bin", lib};
  }
  std::vector<std::string> seen;
  std::size_t start = 0;
  const std::string& path = s.path_env;
  while (start <= path.size()) {
    std::size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    start = end + 1;
    if (dir.empty()) dir = ".";
    const std::string exe = dir + "/julia";
    if (!is_executable_file(exe)) continue;
    // Symlinks (e.g. /usr/local/bin/julia -> /opt/julia-1.10.8/bin/julia) lead to the install.
    const std::string resolved = real_path(exe);
    const std::string root = dirname_of(dirname_of(resolved));
    std::string tried;
    const std::string lib = libjulia_under(root, &tried);
    if (!lib.empty()) return {root, root + "/bin", lib};
    // A launcher such as juliaup's is not an installation: keep looking, and say so if nothing fits.
    seen.push_back(exe + " -> " + resolved + " (no " + tried + ")");
  }
  if (seen.empty()) {
    fail(JuliaErrorCode::kJuliaNotFound,
         "libjulia not found: JULIA_DIR is unset and there is no `julia` executable on PATH; install "
         "Julia 1.10 or set JULIA_DIR to its installation directory (holding bin/julia and " +
             std::string(kLibjuliaWanted) + ")");
  }
  fail(JuliaErrorCode::kJuliaNotFound,
       "libjulia not found: JULIA_DIR is unset and no `julia` on PATH belongs to an installation with " +
           std::string(kLibjuliaWanted) + " (checked: " + join(seen, "; ") +
           "); set JULIA_DIR to the Julia 1.10 installation directory");
}

std::pair<std::string, std::string> locate_sysimage(const JuliaSearch& s) {
  std::vector<std::string> candidates;
  if (!s.sysimage.empty()) {
    candidates.push_back(s.sysimage);  // explicit: never fall back to another image silently
  } else {
    candidates = s.sysimage_defaults;
  }
  std::string found;
  for (const auto& c : candidates) {
    if (is_regular_file(c)) {
      found = real_path(c);
      break;
    }
  }
  if (found.empty()) {
    fail(JuliaErrorCode::kSysimageNotFound,
         "Julia sysimage not found (tried: " + (candidates.empty() ? std::string("<none>") : join(candidates, ", ")) +
             "); build it with sysimage/build.sh (output " + kSysimageRelPath +
             ") or set KESTREL_JULIA_SYSIMAGE to its path");
  }
  if (!has_elf_magic(found)) {
    fail(JuliaErrorCode::kSysimageInvalid, "Julia sysimage " + found + " is not an ELF shared object");
  }
  const std::string stamp_path = found + kSysimageStampSuffix;
  if (!is_regular_file(stamp_path)) {
    fail(JuliaErrorCode::kSysimageInvalid, "Julia sysimage " + found + " has no version stamp " + stamp_path +
                                               " (written by sysimage/build.jl); rebuild it with sysimage/build.sh");
  }
  std::string stamp = read_stamp(stamp_path);
  if (stamp.empty()) {
    fail(JuliaErrorCode::kSysimageInvalid, "Julia sysimage version stamp " + stamp_path + " is empty");
  }
  return {found, stamp};
}

// Closes a dlopen handle unless released: only used while preflight can still fail.
struct DlHandle {
  void* h = nullptr;
  ~DlHandle() {
    if (h != nullptr) ::dlclose(h);
  }
  void* release() { return std::exchange(h, nullptr); }
};

std::mutex g_mutex;
std::unique_ptr<JuliaRuntime> g_runtime;  // guarded by g_mutex
// True only on the thread that initialised Julia. Not std::thread::id: a joined engine thread's id
// (its pthread_t) is reused by the next thread, which would then pass for Julia's thread while
// having none of Julia's thread-local state.
thread_local bool t_owns_julia = false;

}  // namespace

JuliaSearch JuliaSearch::from_environment(const std::string& explicit_sysimage, const std::string& explicit_source) {
  JuliaSearch s;
  if (!explicit_source.empty()) {
    s.source = explicit_source;
    s.source_origin = "juliaSource";
  } else {
    s.source = env_or_empty("KESTREL_JULIA_SOURCE");
  }
  s.julia_dir = env_or_empty("JULIA_DIR");
  s.path_env = env_or_empty("PATH");
  s.sysimage = explicit_sysimage.empty() ? env_or_empty("KESTREL_JULIA_SYSIMAGE") : explicit_sysimage;
  const std::string here = addon_dir();
  if (!here.empty()) s.sysimage_defaults.push_back(dirname_of(dirname_of(here)) + "/" + kSysimageRelPath);
  std::array<char, PATH_MAX> cwd{};
  if (::getcwd(cwd.data(), cwd.size()) != nullptr) {
    std::string c = std::string(cwd.data()) + "/" + kSysimageRelPath;
    if (s.sysimage_defaults.empty() || s.sysimage_defaults.front() != c) s.sysimage_defaults.push_back(c);
  }
  return s;
}

JuliaInstall locate_julia(const JuliaSearch& search) {
  if (!search.source.empty()) {
    // Source mode: the folder is checked first (it is what the researcher just typed), then Julia.
    const std::string entry = search.source + "/src/KestrelStrategy.jl";
    if (!is_regular_file(entry)) {
      struct stat st {};
      const bool dir = ::stat(search.source.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
      fail(JuliaErrorCode::kJuliaSourceNotFound,
           search.source_origin + "=" + search.source +
               (dir ? " has no src/KestrelStrategy.jl (point it at the julia/ folder of a Kestrel checkout)"
                    : " is not a folder (point it at the julia/ folder of a Kestrel checkout)"));
    }
    LocatedRoot r = locate_root(search);
    // Julia's own base image of that installation: the one `julia` itself starts from.
    const std::string base = r.root + "/lib/julia/sys.so";
    if (!is_regular_file(base)) {
      fail(JuliaErrorCode::kSysimageNotFound,
           "source mode needs the installation's base image " + base + ", which is missing");
    }
    return JuliaInstall{r.root, r.bindir, r.libjulia, real_path(base), "", real_path(search.source)};
  }
  // libjulia first: "no Julia" is the more fundamental answer when both are missing.
  LocatedRoot r = locate_root(search);
  auto [sysimage, stamp] = locate_sysimage(search);
  return JuliaInstall{r.root, r.bindir, r.libjulia, sysimage, stamp, ""};
}

const JuliaRuntime* JuliaRuntime::loaded() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_runtime.get();
}

JuliaRuntime::JuliaRuntime(Key, JuliaInstall install, void* handle, JlApi api, std::string version)
    : install_(std::move(install)),
      handle_(handle),
      api_(api),
      version_(std::move(version)),
      err_buf_(kErrBufSize, '\0') {}

JuliaRuntime& JuliaRuntime::preflight(const JuliaSearch& search) {
  JuliaInstall inst = locate_julia(search);
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_runtime) {
    // One runtime per process: a second engine may reuse it only with the same image.
    if (g_runtime->install_.sysimage != inst.sysimage || g_runtime->install_.libjulia != inst.libjulia ||
        g_runtime->install_.source != inst.source) {
      fail(JuliaErrorCode::kJuliaInitFailed, "Julia is already loaded in this process from " +
                                                 g_runtime->install_.libjulia + " with sysimage " +
                                                 g_runtime->install_.sysimage + "; it cannot be reloaded with " +
                                                 inst.libjulia + " / " + inst.sysimage + " (restart the process)");
    }
    return *g_runtime;
  }
  DlHandle lib;
  // RTLD_GLOBAL: the sysimage's compiled code resolves jl_* runtime symbols through the global scope.
  lib.h = ::dlopen(inst.libjulia.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (lib.h == nullptr) {
    const char* why = ::dlerror();
    fail(JuliaErrorCode::kJuliaLoadFailed,
         "cannot load " + inst.libjulia + ": " + (why != nullptr ? why : "unknown dlopen error"));
  }
  JlApi api;
  void** fields[] = {
      reinterpret_cast<void**>(&api.jl_parse_opts),         reinterpret_cast<void**>(&api.jl_init_with_image),
      reinterpret_cast<void**>(&api.jl_is_initialized),     reinterpret_cast<void**>(&api.jl_eval_string),
      reinterpret_cast<void**>(&api.jl_exception_occurred), reinterpret_cast<void**>(&api.jl_ver_string),
      reinterpret_cast<void**>(&api.jl_atexit_hook),
  };
  static_assert(sizeof(fields) / sizeof(fields[0]) == sizeof(kJlApiSymbols) / sizeof(kJlApiSymbols[0]));
  std::vector<std::string> missing;
  for (std::size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); ++i) {
    ::dlerror();
    void* sym = ::dlsym(lib.h, kJlApiSymbols[i]);
    if (sym == nullptr) missing.emplace_back(kJlApiSymbols[i]);
    *fields[i] = sym;
  }
  if (!missing.empty()) {
    fail(JuliaErrorCode::kJuliaSymbolMissing,
         inst.libjulia + " lacks " + join(missing, ", ") + "; it is not a Julia 1.10 libjulia");
  }
  const char* ver = api.jl_ver_string();
  std::string version = ver != nullptr ? ver : "";
  if (version.rfind(kSupportedJuliaPrefix, 0) != 0) {
    fail(
        JuliaErrorCode::kJuliaVersionUnsupported,
        inst.libjulia + " is Julia " + version + "; the embedded engine supports Julia " + kSupportedJuliaPrefix + "x");
  }
  if (inst.source.empty() && version != inst.sysimage_built_with) {
    // A sysimage only loads into the exact Julia build that wrote it; jl_init would abort the process.
    fail(JuliaErrorCode::kSysimageVersionMismatch,
         "sysimage " + inst.sysimage + " was built with Julia " + inst.sysimage_built_with + " but " + inst.libjulia +
             " is Julia " + version + "; rebuild it with sysimage/build.sh using this Julia");
  }
  g_runtime = std::make_unique<JuliaRuntime>(Key{}, std::move(inst), lib.release(), api, std::move(version));
  return *g_runtime;
}

void JuliaRuntime::start_on_this_thread() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (started_) {
    if (!t_owns_julia) {
      fail(JuliaErrorCode::kWrongThread,
           "Julia was initialised on another thread of this process and may only be called from it "
           "(single-threaded embedding without signal handling); restart the process to move it" +
               (init_error_.empty() ? std::string() : " (its initialisation had failed: " + init_error_ + ")"));
    }
    if (!init_error_.empty()) throw JuliaEngineError(init_error_code_, init_error_);
    return;
  }
  if (api_.jl_is_initialized() != 0) {
    fail(JuliaErrorCode::kJuliaInitFailed, "libjulia was already initialised by someone else in this process");
  }
  // Options, parsed by Julia itself as if given on its command line (docs/JULIA_EMBEDDING.md):
  //  --handle-signals=no : Julia's SIGSEGV handler would swallow the faults V8 uses for WebAssembly
  //                        bounds checks (measured: the process dies at once), and SIGINT/SIGTERM
  //                        belong to Node.
  //  --threads=1         : one Julia thread, this one; GC never has to stop another thread, which
  //                        it could only do with the signal handlers we just turned off.
  //  --startup-file=no / --history-file=no : no user files change engine behaviour.
  // Storage is static: jl_options keeps pointers into argv for the life of the process.
  //  --trace-compile=F  : only with KESTREL_JULIA_TRACE_COMPILE=F: every method Julia compiles at run
  //                        time is logged to F (the benchmark's proof that ticks run no JIT).
  static std::vector<std::string> args = {"kestrel-engine",    "--handle-signals=no", "--threads=1",
                                          "--startup-file=no", "--history-file=no",   "--color=no"};
  trace_compile_ = env_or_empty("KESTREL_JULIA_TRACE_COMPILE");
  if (!trace_compile_.empty()) args.push_back("--trace-compile=" + trace_compile_);
  static std::vector<char*> argv_storage;
  argv_storage.clear();
  for (auto& a : args) argv_storage.push_back(a.data());
  argv_storage.push_back(nullptr);
  int argc = static_cast<int>(args.size());
  char** argv = argv_storage.data();
  api_.jl_parse_opts(&argc, &argv);
  api_.jl_init_with_image(install_.bindir.c_str(), install_.sysimage.c_str());
  if (api_.jl_is_initialized() == 0) {
    fail(JuliaErrorCode::kJuliaInitFailed, "jl_init_with_image returned without initialising Julia");
  }
  started_ = true;
  t_owns_julia = true;
  try {
    resolve_entry_points();
  } catch (const JuliaEngineError& e) {
    // Julia stays initialised (it cannot be undone): remember why it is unusable.
    init_error_ = e.what();
    init_error_code_ = e.error_code();
    throw;
  }
}

bool JuliaRuntime::eval_checked(const std::string& code, std::string& error) {
  jl_value_t* r = api_.jl_eval_string(code.c_str());
  if (r == nullptr || api_.jl_exception_occurred() != nullptr) {
    error = err_buf_[0] != '\0' ? std::string(err_buf_.data())
                                : std::string("Julia raised an exception (no message captured)");
    return false;
  }
  if (err_buf_[0] != '\0') {
    error = std::string(err_buf_.data());
    return false;
  }
  return true;
}

void JuliaRuntime::resolve_entry_points() {
  std::fill(err_buf_.begin(), err_buf_.end(), '\0');  // same storage: its address goes into the code
  char addr_table[32];
  char addr_err[32];
  std::snprintf(addr_table, sizeof addr_table, "0x%016llx",
                static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(table_.slots)));
  std::snprintf(addr_err, sizeof addr_err, "0x%016llx",
                static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(err_buf_.data())));
  // Only Base is used outside the package, so a sysimage without the package still reports why.
  // Sysimage mode: the package is in the image, loaded by its id. Source mode: its main file is
  // included into Main (compiled now, from the researcher's sources; no precompile cache written).
  std::string load;
  if (install_.source.empty()) {
    load = std::string("Base.require(Base.PkgId(Base.UUID(\"") + kPackageUuid + "\"), \"" + kPackageName + "\"))";
  } else {
    load = "Base.include(Main, " + julia_string_literal(install_.source + "/src/KestrelStrategy.jl") + ")";
  }
  std::ostringstream code;
  code << "let errbuf = Ptr{UInt8}(UInt(" << addr_err << ")), errcap = " << kErrBufSize << "\n"
       << "  try\n"
       << "    pkg = " << load << "\n"
       << "    Base.invokelatest(pkg.fill_entry_points!, Ptr{UInt64}(UInt(" << addr_table << ")), "
       << JuliaEntryTable::kSlots << ")\n"
       << "  catch err\n"
       << "    msg = sprint(showerror, err)\n"
       << "    n = min(sizeof(msg), errcap - 1)\n"
       << "    GC.@preserve msg unsafe_copyto!(errbuf, pointer(msg), n)\n"
       << "    unsafe_store!(errbuf, 0x00, n + 1)\n"
       << "  end\n"
       << "  nothing\n"
       << "end\n";
  std::string error;
  if (!eval_checked(code.str(), error)) {
    fail(JuliaErrorCode::kJuliaInitFailed,
         "loading " + std::string(kPackageName) +
             (install_.source.empty() ? " from sysimage " + install_.sysimage : " from source " + install_.source) +
             " failed: " + error);
  }
  if (table_.slots[0] != JuliaEntryTable::kAbiVersion) {
    fail(JuliaErrorCode::kEntryPointMissing,
         std::string(kPackageName) + " entry-point ABI is " + std::to_string(table_.slots[0]) + ", addon expects " +
             std::to_string(JuliaEntryTable::kAbiVersion) + "; rebuild the sysimage from this checkout");
  }
  if (table_.slots[1] < kEntryPointCount) {
    fail(JuliaErrorCode::kEntryPointMissing, std::string(kPackageName) + " provided " +
                                                 std::to_string(table_.slots[1]) + " entry points, expected " +
                                                 std::to_string(kEntryPointCount));
  }
  for (std::size_t i = 0; i < kEntryPointCount; ++i) {
    if (table_.slots[2 + i] == 0) {
      fail(JuliaErrorCode::kEntryPointMissing,
           std::string(kPackageName) + " left entry point " + std::to_string(i) + " null");
    }
  }
}

void* JuliaRuntime::entry(EntryPoint which) const {
  return reinterpret_cast<void*>(static_cast<std::uintptr_t>(table_.slots[static_cast<std::size_t>(which)]));
}

}  // namespace kestrel::julia
