#!/usr/bin/env bash
# Ring stress test (addon/test/ring_stress.cpp), built twice from the same sources: optimised, and under
# ThreadSanitizer. Both must exit 0; TSan must report no race (halt_on_error makes any report fatal).
set -euo pipefail
cd "$(dirname "$0")/.."
per_producer=${1:-200000}

cmake -S addon -B build/stress -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/stress --target kestrel_ring_stress >/dev/null
build/stress/kestrel_ring_stress "$per_producer"

cmake -S addon -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKESTREL_TSAN=ON >/dev/null
cmake --build build/tsan --target kestrel_ring_stress >/dev/null
# TSan needs the classic address-space layout on kernels with high mmap randomisation.
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" setarch "$(uname -m)" -R \
  build/tsan/kestrel_ring_stress "$((per_producer / 4))"
