#!/usr/bin/env bash
# Throughput of the index's two heavy stages, one process vs Spark local mode,
# on the same inputs (issue 22):
#
#   bash examples/spark/measure.sh [N] [MASTER]   # N synthetic events (default 1000000), MASTER local[2]
#
#   embedding  items/s   one process: `localrec embed --ids` on the whole Amazon
#                        Magazine catalogue (one thread: embed runs one encoder);
#                        Spark: build_index.py --stages embed (one embed process
#                        per task, MASTER's cores).
#   factors    events/s  one process: `localrec factors train` (events -> interactions
#                        -> implicit ALS, every core), Spark: build_index.py --stages
#                        factors (`localrec interactions` through pipes, then MLlib
#                        ALS); on the Magazine events and on N synthetic events (Zipf
#                        item popularity over the Magazine ids, seeded:
#                        synthetic_events.py). Same settings on both sides: rank 64,
#                        regParam 1 scaled per interaction (Spark's rule), α 20,
#                        15 sweeps.
#
# Prints a markdown table with the date, the CPU and the command; everything is
# under target/spark-measure/. Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-1000000}"
master="${2:-local[2]}"
shared="${LOCALREC_SHARED:-../shared}"
data="$shared/data/amazon-magazine"
venv=target/spark-venv
out=target/spark-measure
model="${LOCALREC_MODEL:-models/build/minilm-l6-v2-int8.lrm}"
rank=64 reg=1 alpha=20 iters=15

[[ -f "$model" ]] || { echo "measure: $model is missing: run bash scripts/setup.sh" >&2; exit 1; }
if ! "$venv/bin/python" -c "import pyspark, numpy" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "pyspark==4.3.0" "numpy"
fi
py="$venv/bin/python"
cargo build -q --bin localrec
bin=target/debug/localrec
mkdir -p "$out"

"$bin" convert amazon --reviews "$data/Magazine_Subscriptions_5.json.gz" \
  --meta "$data/meta_Magazine_Subscriptions.json.gz" \
  --catalogue "$out/catalogue.jsonl" --events "$out/events.jsonl" 2>/dev/null
synthetic="$out/synthetic-$n.jsonl"
[[ -f "$synthetic" ]] || "$py" examples/spark/synthetic_events.py "$out/catalogue.jsonl" "$n" "$synthetic"

now() { date +%s.%N; }
rate() { "$py" -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.1f}')" "$@"; }
secs() { "$py" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$@"; }
field() { "$py" -c "import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$@"; }
lines() { grep -c . "$1"; }

items=$(lines "$out/catalogue.jsonl")
echo "measure: one-process embedding of $items items" >&2
t0=$(now)
"$bin" embed --ids --model "$model" <"$out/catalogue.jsonl" >"$out/one-process-vectors.jsonl"
t1=$(now)
embed_one_s=$(secs "$t0" "$t1")

echo "measure: Spark embedding ($master)" >&2
"$py" examples/spark/build_index.py --catalogue "$out/catalogue.jsonl" --events "$out/events.jsonl" \
  --out "$out/spark-embed" --localrec "$bin" --model "$model" --master "$master" \
  --stages embed >"$out/spark-embed.json"
embed_spark_s=$(field "$out/spark-embed.json" embed_s)

# factors SET EVENTS: one process then Spark; sets rows[SET].
declare -A one_s one_rate spark_s spark_rate count
factors() {
  local set=$1 events=$2
  count[$set]=$(lines "$events")
  echo "measure: one-process factors on $set (${count[$set]} events)" >&2
  local t0 t1
  t0=$(now)
  "$bin" factors train --catalogue "$out/catalogue.jsonl" --events "$events" --rank $rank \
    --reg-param $reg --reg-scaling per-interaction --alpha $alpha --max-iter $iters \
    -o "$out/one-process-factors-$set.jsonl" >&2
  t1=$(now)
  one_s[$set]=$(secs "$t0" "$t1")
  one_rate[$set]=$(rate "${count[$set]}" "${one_s[$set]}")
  echo "measure: Spark factors on $set ($master)" >&2
  "$py" examples/spark/build_index.py --catalogue "$out/catalogue.jsonl" --events "$events" \
    --out "$out/spark-$set" --localrec "$bin" --model "$model" --master "$master" \
    --rank $rank --reg-param $reg --alpha $alpha --max-iter $iters \
    --stages factors >"$out/spark-$set.json"
  spark_s[$set]=$("$py" -c "import json, sys; t = json.load(open(sys.argv[1])); print(round(t['interactions_s'] + t['als_s'], 1))" "$out/spark-$set.json")
  spark_rate[$set]=$(field "$out/spark-$set.json" events_per_s)
}
factors magazine "$out/events.jsonl"
factors synthetic "$synthetic"

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
cores=$(nproc)
cat <<EOF

Measured $(date +%F) on ${cpu:-unknown CPU}, $cores cores; \`bash examples/spark/measure.sh $n $master\`
(debug localrec build with optimised dependencies, PySpark $("$py" -c 'import pyspark; print(pyspark.__version__)'), $(java -version 2>&1 | head -1)).
Spark times leave out its start-up ($(field "$out/spark-embed.json" spark_start_s) s here).

| stage | input | one process | Spark $master |
|---|---|---|---|
| embedding (items/s) | Amazon Magazine catalogue, $items items | $(rate "$items" "$embed_one_s") ($embed_one_s s) | $(field "$out/spark-embed.json" items_per_s) ($embed_spark_s s) |
| interactions + ALS (events/s) | Amazon Magazine events, ${count[magazine]} | ${one_rate[magazine]} (${one_s[magazine]} s) | ${spark_rate[magazine]} (${spark_s[magazine]} s) |
| interactions + ALS (events/s) | synthetic events, ${count[synthetic]} | ${one_rate[synthetic]} (${one_s[synthetic]} s) | ${spark_rate[synthetic]} (${spark_s[synthetic]} s) |

ALS: rank $rank, regParam $reg × interactions per row, α $alpha, $iters sweeps; one process =
\`localrec factors train\` on every core, Spark = \`localrec interactions\` through pipes then MLlib ALS.
EOF
