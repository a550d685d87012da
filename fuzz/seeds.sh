#!/usr/bin/env bash
# Rewrites fuzz/seeds/ from real files (examples/seeds.rs says which). Needs
# ../shared/data/amazon-magazine and the localrec CLI; run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${LOCALREC_SHARED:-../shared}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cargo build --quiet --bin localrec
./target/debug/localrec convert amazon \
  --reviews "$SHARED/data/amazon-magazine/Magazine_Subscriptions_5.json.gz" \
  --meta "$SHARED/data/amazon-magazine/meta_Magazine_Subscriptions.json.gz" \
  --catalogue "$TMP/catalogue.jsonl" --events "$TMP/events.jsonl"
rm -rf fuzz/seeds
cargo run --quiet --manifest-path fuzz/Cargo.toml --example seeds -- \
  fuzz/seeds data/films/films.jsonl.gz "$TMP/catalogue.jsonl" "$TMP/events.jsonl" \
  "$SHARED/intent/queries.jsonl" scripts/visit.jsonl
