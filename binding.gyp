# The same addon as addon/CMakeLists.txt (the main build, `npm run build:addon`), for node-gyp-based
# tooling: `npx node-gyp rebuild` and `npm run build:prebuilds` (prebuildify). Same sources, same
# flags; scripts/addon-build-check.sh builds both and runs the native tests against each result.
# package.json has "gypfile": false so that npm does not run this on install (docs/ADDON.md).
{
  "targets": [
    {
      "target_name": "kestrel",
      "sources": [
        "addon/src/addon.cpp",
        "addon/src/region.cpp",
        "addon/src/strategy.cpp",
        "addon/src/engine_host.cpp",
        # The Julia engine when its sources are present, else the JULIA_NOT_LINKED stub (as CMake's glob).
        "<!@(node -e \"const fs=require('fs');const d='addon/src/julia';const f=fs.existsSync(d)?fs.readdirSync(d).filter(x=>x.endsWith('.cpp')).sort().map(x=>d+'/'+x):[];console.log((f.length?f:['addon/src/julia_unavailable.cpp']).join(' '))\")"
      ],
      "include_dirs": [
        "addon/include",
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      # node-gyp's common.gypi builds with -fno-exceptions -fno-rtti and gnu++17; the addon needs C++
      # exceptions (NAPI_CPP_EXCEPTIONS) and, for strategy determinism, no FMA contraction (docs/STRATEGY.md).
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter", "-ffp-contract=off", "-fno-fast-math", "-O3"],
      "libraries": ["-lpthread", "-lrt", "-ldl"]
    }
  ]
}
