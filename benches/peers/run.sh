#!/usr/bin/env bash
# localrec (text only, and with collaborative knowledge) vs server-trained peers
# (implicit ALS, LightFM WARP hybrid), in one run and one table per data set.
#
#   bash benches/peers/run.sh                     # amazon-magazine (the default)
#   bash benches/peers/run.sh amazon-industrial   # the second data set
#   bash benches/peers/run.sh all                 # both, one after the other
#
# Data sets live under ../shared/data/NAME (or $LOCALREC_SHARED/data/NAME), each
# with a SOURCE.md (data/eval/NAME/SOURCE.md here says where each came from):
#   amazon-magazine    Amazon Review Data (2018), Magazine Subscriptions: reviews + metadata
#   amazon-industrial  Amazon Review Data (2018), Industrial and Scientific: next-item rows
#                      (valid.csv.gz, test.csv.gz) + items.json.gz
#
# Per data set: 1. converts it (`localrec convert amazon` / `convert windows`) and
# builds the index once (kept while the catalogue is unchanged), runs `localrec
# eval --collaborative --export-split`; 2. trains and scores the peers on exactly
# that split (benches/peers/peers.py); 3. prints one table. Outputs under
# target/peers/NAME/. Peers live in a venv under target/peers-venv (git-ignored),
# installed idempotently; they are not runtime dependencies.
set -euo pipefail
cd "$(dirname "$0")/../.."
shared="${LOCALREC_SHARED:-../shared}"
venv=target/peers-venv
which="${1:-amazon-magazine}"
case "$which" in
  all) sets=(amazon-magazine amazon-industrial) ;;
  amazon-magazine | amazon-industrial) sets=("$which") ;;
  *)
    echo "run.sh: unknown data set '$which' (amazon-magazine, amazon-industrial or all)" >&2
    exit 2
    ;;
esac

if ! "$venv/bin/python" -c "import implicit, lightfm, numpy, scipy" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q numpy scipy "setuptools<70" wheel cython implicit
  "$venv/bin/pip" install -q --no-build-isolation lightfm
fi

cargo build -q --bin localrec
bin=target/debug/localrec

# convert NAME DATA OUT: writes OUT/catalogue.jsonl and OUT/events.jsonl.
convert() {
  local name=$1 data=$2 out=$3
  case "$name" in
    amazon-magazine)
      "$bin" convert amazon --reviews "$data/Magazine_Subscriptions_5.json.gz" \
        --meta "$data/meta_Magazine_Subscriptions.json.gz" \
        --catalogue "$out/new-catalogue.jsonl" --events "$out/events.jsonl"
      ;;
    amazon-industrial)
      "$bin" convert windows --items "$data/items.json.gz" \
        --windows "$data/valid.csv.gz" --windows "$data/test.csv.gz" \
        --catalogue "$out/new-catalogue.jsonl" --events "$out/events.jsonl"
      ;;
  esac
  # Keep the old catalogue (and so its index) when nothing changed.
  if cmp -s "$out/new-catalogue.jsonl" "$out/catalogue.jsonl"; then
    rm "$out/new-catalogue.jsonl"
  else
    mv "$out/new-catalogue.jsonl" "$out/catalogue.jsonl"
  fi
}

for name in "${sets[@]}"; do
  data="$shared/data/$name"
  out="target/peers/$name"
  if [ ! -d "$data" ]; then
    echo "run.sh: $data is missing (see data/eval/$name/SOURCE.md for where it comes from)" >&2
    exit 1
  fi
  mkdir -p "$out/split"
  echo "== $name"
  convert "$name" "$data" "$out"
  if ! { [ "$out/index.lri" -nt "$out/catalogue.jsonl" ] &&
    "$bin" index inspect "$out/index.lri" >/dev/null 2>&1; }; then
    "$bin" index build --catalogue "$out/catalogue.jsonl" -o "$out/index.lri"
  fi
  "$bin" eval --catalogue "$out/catalogue.jsonl" --events "$out/events.jsonl" --index "$out/index.lri" \
    --collaborative --export-split "$out/split" --json > "$out/split/localrec.json"
  OPENBLAS_NUM_THREADS=1 "$venv/bin/python" benches/peers/peers.py --split "$out/split" \
    --catalogue "$out/catalogue.jsonl" --localrec "$out/split/localrec.json"
done
