#!/usr/bin/env bash
# Assembles the unpacked extension in examples/extension/dist/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dist=$here/dist
rm -rf "$dist.tmp" && mkdir -p "$dist.tmp/js" "$dist.tmp/pkg"
cp "$here"/manifest.json "$here"/background.js "$here"/recommend.html "$here"/recommend.css "$here"/recommend.js "$dist.tmp/"
cp "$root"/js/index.js "$root"/js/worker.js "$root"/js/download.js "$root"/js/errors.js "$root"/js/simd.js "$dist.tmp/js/"
cp "$root"/pkg/localrec.js "$root"/pkg/localrec_bg.wasm "$root"/pkg/localrec_relaxed_bg.wasm "$dist.tmp/pkg/"
cp "$root"/models/build/minilm-l6-v2-int8.lrm "$dist.tmp/model.lrm"
cp "$root"/models/build/films.lri "$dist.tmp/catalogue.lri"
rm -rf "$dist" && mv "$dist.tmp" "$dist"
echo "extension: $dist"
