#!/usr/bin/env bash
# localrec with collaborative knowledge vs server-trained peers (implicit ALS,
# LightFM WARP hybrid) on the Amazon Magazine reviews, in one run and one table.
#
#   bash benches/peers/run.sh            # needs ../shared/data/amazon-magazine (or $LOCALREC_SHARED)
#
# 1. converts the reviews, runs `localrec eval --collaborative --export-split`;
# 2. trains and scores the peers on exactly that split (benches/peers/peers.py);
# 3. prints one table. Peers live in a venv under target/peers-venv (git-ignored),
#    installed idempotently; they are not runtime dependencies.
set -euo pipefail
cd "$(dirname "$0")/../.."
shared="${LOCALREC_SHARED:-../shared}"
data="$shared/data/amazon-magazine"
out=target/peers
venv=target/peers-venv
mkdir -p "$out/split"

if ! "$venv/bin/python" -c "import implicit, lightfm, numpy, scipy" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q numpy scipy "setuptools<70" wheel cython implicit
  "$venv/bin/pip" install -q --no-build-isolation lightfm
fi

cargo build -q --bin localrec
bin=target/debug/localrec
"$bin" convert amazon --reviews "$data/Magazine_Subscriptions_5.json.gz" \
  --meta "$data/meta_Magazine_Subscriptions.json.gz" \
  --catalogue "$out/mag.jsonl" --events "$out/events.jsonl"
[ -f "$out/mag.lri" ] && "$bin" index inspect "$out/mag.lri" >/dev/null 2>&1 ||
  "$bin" index build --catalogue "$out/mag.jsonl" -o "$out/mag.lri"
"$bin" eval --catalogue "$out/mag.jsonl" --events "$out/events.jsonl" --index "$out/mag.lri" \
  --collaborative --export-split "$out/split" --json > "$out/split/localrec.json"
OPENBLAS_NUM_THREADS=1 "$venv/bin/python" benches/peers/peers.py --split "$out/split" \
  --catalogue "$out/mag.jsonl" --localrec "$out/split/localrec.json"
