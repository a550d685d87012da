#!/usr/bin/env bash
# Runs every test: native unit + integration tests (cargo test, including
# parity with PyTorch on ../shared/reference), then the wasm build and the
# browser tests in headless Chromium (node --test).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
chmod 700 "$XDG_RUNTIME_DIR"
cargo test --all-targets
bash scripts/build-wasm.sh
node --test --test-concurrency=1 tests/browser/*.test.mjs
