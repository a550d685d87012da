#!/usr/bin/env bash
# Builds the browser package into pkg/: cargo (wasm32, release, simd128) →
# wasm-bindgen --target web (JS glue + TypeScript types) → wasm-opt -O3 (binaryen 132).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --lib --release --target wasm32-unknown-unknown
rm -rf pkg.tmp
wasm-bindgen --target web --out-dir pkg.tmp target/wasm32-unknown-unknown/release/localrec.wasm
./node_modules/.bin/wasm-opt -O3 \
  --enable-simd --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
  --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue \
  pkg.tmp/localrec_bg.wasm -o pkg.tmp/localrec_bg.opt.wasm
mv pkg.tmp/localrec_bg.opt.wasm pkg.tmp/localrec_bg.wasm
rm -rf pkg && mv pkg.tmp pkg
echo "build-wasm: pkg/localrec_bg.wasm $(stat -c %s pkg/localrec_bg.wasm) bytes ($(gzip -9c pkg/localrec_bg.wasm | wc -c) gzip)"
