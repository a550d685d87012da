#!/usr/bin/env bash
# The main job: installs what is needed (scripts/setup.sh), builds the native CLI
# and the wasm package, then embeds the same sentences natively and in headless
# Chromium and prints them side by side. With --serve it then serves the demo
# film shop at http://127.0.0.1:${PORT:-8080}/ until interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --quiet --release --bin localrec
bash scripts/build-wasm.sh

SENTENCES=$(cat <<'TXT'
I want short, light reads for the train
the service was terrible, I don't recommend it
A slow-burning war epic with a great score
Un film d'auteur, lent et contemplatif
TXT
)
native=$(mktemp)
trap 'rm -f "$native"' EXIT
printf '%s\n' "$SENTENCES" | ./target/release/localrec embed > "$native"
echo "Native CLI (target/release/localrec embed), int8 bundle:"
paste -d '\t' "$native" <(printf '%s\n' "$SENTENCES") | while IFS=$'\t' read -r vec text; do
  head=$(printf '%s' "$vec" | tr -d '[]' | cut -d, -f1-5 | tr ',' '\n' | xargs printf '%7.4f ')
  printf '  [%s…]  "%s"\n' "$head" "$(printf '%.48s' "$text")"
done
echo
printf '%s\n' "$SENTENCES" | node scripts/browser-embed.mjs --native "$native"

if [ "${1:-}" = "--serve" ]; then
  exec node scripts/serve.mjs "${PORT:-8080}"
fi
echo
echo "The demo film shop: bash scripts/demo.sh --serve, then open http://127.0.0.1:${PORT:-8080}/"
