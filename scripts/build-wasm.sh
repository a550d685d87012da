#!/usr/bin/env bash
# Builds the browser package into pkg/, twice from the same code:
#   pkg/localrec_bg.wasm          simd128 (every browser with wasm SIMD)
#   pkg/localrec_relaxed_bg.wasm  + relaxed SIMD (cargo feature relaxed-simd: the narrow
#                                 int8 product on i32x4.relaxed_dot_i8x16_i7x16_add_s)
# Each: cargo (wasm32, profile wasm-release: fat LTO, dependencies at opt-level z)
#       → wasm-bindgen --target web → wasm-opt -O3 (binaryen 132).
# Both builds export the same functions and imports, so one JS glue (pkg/localrec.js)
# loads either; js/simd.js picks one at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
OPT_FLAGS=(--enable-simd --enable-bulk-memory --enable-sign-ext --enable-mutable-globals
  --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue)

# build OUT_DIR [cargo args…] -- [wasm-opt args…]
build() {
  local out=$1
  shift
  local cargo_args=() opt_args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do cargo_args+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  opt_args=("$@")
  cargo build --quiet --lib --profile wasm-release --target wasm32-unknown-unknown ${cargo_args[@]+"${cargo_args[@]}"}
  rm -rf "$out"
  wasm-bindgen --target web --out-dir "$out" target/wasm32-unknown-unknown/wasm-release/localrec.wasm
  ./node_modules/.bin/wasm-opt -O3 "${OPT_FLAGS[@]}" ${opt_args[@]+"${opt_args[@]}"} \
    "$out/localrec_bg.wasm" -o "$out/localrec_bg.opt.wasm"
  mv "$out/localrec_bg.opt.wasm" "$out/localrec_bg.wasm"
}

rm -rf pkg.tmp pkg.relaxed.tmp
build pkg.tmp --
build pkg.relaxed.tmp --features relaxed-simd -- --enable-relaxed-simd
# The glue's code must be identical (its comments name internal shim indices).
code() { grep -v '^[[:space:]]*//' "$1"; }
if ! cmp -s <(code pkg.tmp/localrec.js) <(code pkg.relaxed.tmp/localrec.js); then
  echo "build-wasm: the simd128 and relaxed-SIMD builds have different JS glue" >&2
  diff <(code pkg.tmp/localrec.js) <(code pkg.relaxed.tmp/localrec.js) | head -20 >&2
  exit 1
fi
mv pkg.relaxed.tmp/localrec_bg.wasm pkg.tmp/localrec_relaxed_bg.wasm
rm -rf pkg.relaxed.tmp
rm -rf pkg && mv pkg.tmp pkg
for f in localrec_bg.wasm localrec_relaxed_bg.wasm; do
  echo "build-wasm: pkg/$f $(stat -c %s "pkg/$f") bytes ($(gzip -9c "pkg/$f" | wc -c) gzip)"
done
