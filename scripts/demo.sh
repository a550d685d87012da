#!/usr/bin/env bash
# The main job: installs what is needed (scripts/setup.sh), builds the native CLI
# and the wasm package, then embeds the same sentences natively and in headless
# Chromium and prints them side by side, and ends with a scripted visit of the
# film shop (scripts/visit.jsonl: a wish, a like, a rejection in words) that
# prints the top 5 with their reasons after each step, natively
# (localrec recommend) and in headless Chromium through the npm package
# (scripts/browser-visit.mjs). With --serve it then serves the demo film shop at
# http://127.0.0.1:${PORT:-8080}/ until interrupted.
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
events=$(mktemp)
native_top=$(mktemp)
trap 'rm -f "$native" "$events" "$native_top"' EXIT
printf '%s\n' "$SENTENCES" | ./target/release/localrec embed > "$native"
echo "Native CLI (target/release/localrec embed), int8 bundle:"
paste -d '\t' "$native" <(printf '%s\n' "$SENTENCES") | while IFS=$'\t' read -r vec text; do
  head=$(printf '%s' "$vec" | tr -d '[]' | cut -d, -f1-5 | tr ',' '\n' | xargs printf '%7.4f ')
  printf '  [%s…]  "%s"\n' "$head" "$(printf '%.48s' "$text")"
done
echo
printf '%s\n' "$SENTENCES" | node scripts/browser-embed.mjs --native "$native"

# The scripted visit: the same events, one step at a time, in both engines.
# Natively the events file grows one line per step and the CLI ranks it afresh
# (its last line: the newest event's latency, and the load it paid first).
VISIT=scripts/visit.jsonl
describe() {
  node -e 'const e = JSON.parse(process.argv[1]);
    console.log(e.text && !e.item ? `you say \u201c${e.text}\u201d` : `you ${e.kind ?? "rate"} ${e.item}`)' "$1" < /dev/null
}
echo
echo "A scripted visit of the film shop ($VISIT), natively: localrec recommend --index models/build/films.lri --k 5"
step=0
while IFS= read -r line; do
  [ -n "${line//[[:space:]]/}" ] || continue
  step=$((step + 1))
  printf '%s\n' "$line" >> "$events"
  echo "Step $step: $(describe "$line")"
  top=$(./target/release/localrec recommend --index models/build/films.lri --feedback "$events" --k 5 < /dev/null)
  printf '%s\n' "$top" | sed 's/^/  /'
  # The ids, for the browser's run to compare with.
  printf '%s\n' "$top" | awk '$1 ~ /^[0-9]+\.$/ {printf "%s ", $2} END {print ""}' >> "$native_top"
done < "$VISIT"
echo
echo "The same visit in headless Chromium, through the npm package (scripts/browser-visit.mjs):"
node scripts/browser-visit.mjs "$VISIT" --k 5 --native "$native_top"

if [ "${1:-}" = "--serve" ]; then
  exec node scripts/serve.mjs "${PORT:-8080}"
fi
echo
echo "The demo film shop: bash scripts/demo.sh --serve, then open http://127.0.0.1:${PORT:-8080}/"
