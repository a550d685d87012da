#!/usr/bin/env bash
# Runs every test: native unit + integration tests (cargo test, including
# parity with PyTorch on ../shared/reference), the GPU tests on lavapipe, a
# fuzzing smoke run of every parser (fuzz/run.sh: the seeds and past crashes
# replayed, then 12 s each), the Spark example job (examples/spark/test.sh), then the wasm build and the browser tests in
# Chromium, Firefox ESR and WebKitGTK (node --test).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
chmod 700 "$XDG_RUNTIME_DIR"
cargo test --all-targets
# The GPU tests are #[ignore]d with their reason in a plain `cargo test` (a machine
# may have no adapter); here lavapipe is installed, so they run, and a missing
# adapter fails them instead of passing silently.
cargo test --all-targets -- --ignored
bash fuzz/run.sh smoke
# The Spark example (issue 22): PySpark local mode on Amazon Magazine (~11 min).
bash examples/spark/test.sh
bash scripts/build-wasm.sh
node --test --test-concurrency=1 tests/browser/*.test.mjs
