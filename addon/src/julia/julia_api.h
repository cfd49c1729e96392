// The few entry points of libjulia's C API that the Julia engine uses, declared by us.
//
// The addon never includes julia.h and never links libjulia: one binary serves both engines,
// and this code compiles (and its failure paths run) on machines without Julia. The library
// is opened at run time with dlopen and these symbols are resolved with dlsym, the way
// juliacall does it. Signatures are those of Julia 1.10's julia.h / jloptions.h.
#pragma once

namespace kestrel::julia {

// Opaque: we only ever test these for null.
struct jl_value_t;

struct JlApi {
  // jloptions.c: parses Julia command-line options into jl_options; must precede init.
  void (*jl_parse_opts)(int* argcp, char*** argvp) = nullptr;
  // init.c: initialises the runtime from `image_path` with Sys.BINDIR = `julia_bindir`.
  void (*jl_init_with_image)(const char* julia_bindir, const char* image_path) = nullptr;
  int (*jl_is_initialized)(void) = nullptr;
  // Parses and evaluates in Main; returns null when an exception was thrown.
  jl_value_t* (*jl_eval_string)(const char* str) = nullptr;
  jl_value_t* (*jl_exception_occurred)(void) = nullptr;
  // "1.10.8" etc.; a constant, safe to call before init.
  const char* (*jl_ver_string)(void) = nullptr;
  void (*jl_atexit_hook)(int status) = nullptr;
};

// Symbol names, in the order of the struct fields, so that a missing one can be named.
inline constexpr const char* kJlApiSymbols[] = {
    "jl_parse_opts",         "jl_init_with_image", "jl_is_initialized", "jl_eval_string",
    "jl_exception_occurred", "jl_ver_string",      "jl_atexit_hook",
};

}  // namespace kestrel::julia
