#!/usr/bin/env bash
# Builds the addon with node-gyp from binding.gyp (the second build path; cmake-js is the main one).
#
#   bash scripts/addon-gyp.sh              -> build-gyp/build/Release/kestrel.node
#   bash scripts/addon-gyp.sh --prebuilds  -> prebuilds/linux-x64/*.node (prebuildify --napi --strip)
#
# node-gyp always builds into ./build and `rebuild` deletes it first, which would wipe cmake-js's
# build/ (build/Release/kestrel.node, build/kestrel_bench). So node-gyp runs in a staging folder,
# build-gyp/, that holds binding.gyp, package.json and links to addon/ and node_modules/.
# Node's headers: npm_config_nodedir when npm sets it, else the distribution's /usr/include/node when
# present (no download); otherwise node-gyp fetches them as usual.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stage="$repo/build-gyp"
mkdir -p "$stage"
cp "$repo/binding.gyp" "$repo/package.json" "$stage/"
ln -sfn "$repo/addon" "$stage/addon"
ln -sfn "$repo/node_modules" "$stage/node_modules"

nodedir="${npm_config_nodedir:-}"
if [[ -z "$nodedir" && -f /usr/include/node/node_api.h ]]; then nodedir=/usr; fi
gyp_args=()
[[ -n "$nodedir" ]] && gyp_args+=("--nodedir=$nodedir")
export npm_config_nodedir="$nodedir"
export PATH="$repo/node_modules/.bin:$PATH"

case "${1:-}" in
  "")
    (cd "$stage" && node-gyp rebuild "${gyp_args[@]}" -j 2)
    echo "addon-gyp: $stage/build/Release/kestrel.node"
    ;;
  --prebuilds)
    (cd "$stage" && prebuildify --napi --strip)
    mkdir -p "$repo/prebuilds"
    cp -r "$stage/prebuilds/." "$repo/prebuilds/"
    echo "addon-gyp: $(ls "$repo"/prebuilds/*/*.node)"
    ;;
  *) echo "usage: scripts/addon-gyp.sh [--prebuilds]" >&2; exit 2 ;;
esac
