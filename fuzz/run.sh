#!/usr/bin/env bash
# Fuzzes localrec's parsers with cargo-fuzz (libFuzzer + AddressSanitizer).
#
#   bash fuzz/run.sh smoke            every target for 12 s (the test command runs this)
#   bash fuzz/run.sh TARGET SECONDS   one target, e.g. `bash fuzz/run.sh profile 1800`
#   bash fuzz/run.sh all SECONDS      every target in turn
#   FUZZ_RUNS=10000000 bash fuzz/run.sh profile 1800   stop at 10 million executions or 30 min
#
# Installs cargo-fuzz once (crates.io). Built with the machine's default toolchain; its
# unstable sanitizer flags are unlocked with RUSTC_BOOTSTRAP=1, so no second toolchain is
# needed. Seeds are written from real files by fuzz/seeds.sh when missing; the corpus
# grows in fuzz/corpus/ (git-ignored). A crash stops the run with its input in
# fuzz/artifacts/TARGET/: copy it to fuzz/regressions/TARGET/ (replayed by `cargo test`
# in fuzz/) and fix the parser.
#
# Allocation cap: inputs are at most 64 KiB, and no single allocation may exceed 16 MiB
# (-malloc_limit_mb): a declared length that is not backed by the input is caught there.
# feedback_text loads the shipped 15 MB model and the 8.6 MB film index once, so its cap is
# what that load needs; each text then allocates per token.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS=(bundle index profile catalogue_jsonl events_jsonl feedback_text)
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz (crates.io, once)"
  cargo install cargo-fuzz --version 0.13.2 --locked
fi
[ -d fuzz/seeds/profile ] || bash fuzz/seeds.sh
export RUSTC_BOOTSTRAP=1

run() {
  local target=$1 seconds=$2 malloc=16 sanitizer=address
  # feedback_text runs the real model: under AddressSanitizer a text takes ~1 s, so it
  # runs without it (the kernels' bounds are checked by the other targets, which run the
  # same code on the tiny model under AddressSanitizer).
  # ... in a build folder of its own: switching sanitizer flags in one folder rebuilds everything.
  local own=()
  [ "$target" = feedback_text ] && malloc=256 && sanitizer=none && own=(--target-dir fuzz/target/nosan)
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
  # Every run starts by replaying the seeds and the crashes found before (regressions/). A
  # smoke run leaves the grown corpus out (its replay alone can take minutes) and keeps its own
  # finds in a scratch folder.
  local corpus="fuzz/corpus/$target"
  [ "$SMOKE" = 1 ] && corpus=$(mktemp -d)
  local dirs=("$corpus" "fuzz/seeds/$target")
  [ -d "fuzz/regressions/$target" ] && dirs+=("fuzz/regressions/$target")
  echo "fuzz: $target for ${seconds}s"
  cargo fuzz run -O -s "$sanitizer" "${own[@]}" "$target" "${dirs[@]}" -- \
    -max_total_time="$seconds" ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} -max_len=65536 -timeout=20 -rss_limit_mb=2048 \
    -malloc_limit_mb="$malloc" -print_final_stats=1 \
    -artifact_prefix="fuzz/artifacts/$target/" 2>&1 | grep -E "^(stat::|==|SUMMARY|Done|INFO: -max_total_time|.*panicked|.*ERROR|.*malloc)" || true
  # libFuzzer's status is lost in the pipe: a crash, leak, timeout or out-of-memory leaves an
  # artifact of that name (a slow-unit-* file is only a report: a unit over 10 s).
  local kind
  for kind in crash leak timeout oom; do
    if compgen -G "fuzz/artifacts/$target/$kind-*" >/dev/null; then
      echo "fuzz: $target failed: $(ls fuzz/artifacts/$target)" >&2
      return 1
    fi
  done
}

SMOKE=0
case "${1:-smoke}" in
  smoke) SMOKE=1; for t in "${TARGETS[@]}"; do run "$t" 12; done ;;
  all) for t in "${TARGETS[@]}"; do run "$t" "${2:?seconds}"; done ;;
  *) run "$1" "${2:?seconds}" ;;
esac
