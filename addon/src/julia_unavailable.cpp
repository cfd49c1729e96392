// Compiled only when addon/src/julia/ has no sources: the julia engine then fails with a typed
// error instead of a link error, and the native engine works as usual.
#include "kestrel/engine.h"

namespace kestrel::julia {

std::unique_ptr<Strategy> make_julia_strategy(const EngineConfig&) {
  throw EngineError("JULIA_NOT_LINKED", "this addon was built without the Julia engine sources (addon/src/julia/)");
}

bool julia_runtime_info(JuliaRuntimeInfo&) { return false; }

}  // namespace kestrel::julia
