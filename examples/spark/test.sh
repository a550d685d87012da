#!/usr/bin/env bash
# The Spark example's test (issue 22): builds an Amazon Magazine index with
# examples/spark/build_index.py in Spark local mode and checks it against a
# single-process build and localrec's own collaborative model.
#
#   bash examples/spark/test.sh
#
# 1. A venv with PySpark under target/spark-venv (git-ignored), made only when
#    `import pyspark, numpy` fails there. Spark needs Java 17+ (`java` on PATH).
# 2. Converts Amazon Magazine (../shared/data/amazon-magazine, or
#    $LOCALREC_SHARED/data/amazon-magazine) into target/spark-test/.
# 3. The single-process index: `localrec index build --catalogue … -o single.lri`
#    (kept while the catalogue, the binary and the model are unchanged).
# 4. `localrec eval --collaborative --export-split split` with single.lri: the
#    eval's training events (split/train-events.jsonl) and localrec+collab.
# 5. The Spark job on split/train-events.jsonl (factors never see a test event),
#    regParam 3: the best of 0.05, 0.2, 1, 3, 10 on the validation users of
#    `index build` (its "validation NDCG@10": 0.202, 0.207, 0.215, 0.221, 0.208
#    on 2026-12-02), never on the test users.
# 6. Fails unless (i) `index inspect` reads the Spark index and its item vectors
#    (`vectors sha256:`) are single.lri's, and (ii) `localrec eval --index
#    spark/index.lri --collaborative --shipped-collab` ranks with the shipped
#    Spark factors (localrec+shipped) within the 95 % interval of NDCG@10 of
#    localrec's own ALS on the same split (localrec+collab).
# About 8 minutes on 2 cores, most of it embedding the catalogue twice (once per
# build) and the two evals.
set -euo pipefail
cd "$(dirname "$0")/../.."
shared="${LOCALREC_SHARED:-../shared}"
data="$shared/data/amazon-magazine"
venv=target/spark-venv
out=target/spark-test
model="${LOCALREC_MODEL:-models/build/minilm-l6-v2-int8.lrm}"

fail() {
  echo "spark test: FAIL: $*" >&2
  exit 1
}
step() { echo "== spark test: $* ($(date +%T))" >&2; }

for f in Magazine_Subscriptions_5.json.gz meta_Magazine_Subscriptions.json.gz; do
  [[ -f "$data/$f" ]] || fail "$data/$f is missing (set LOCALREC_SHARED)"
done
[[ -f "$model" ]] || fail "$model is missing: run bash scripts/setup.sh"
if ! command -v java >/dev/null; then
  step "installing Java 17 (Debian openjdk-17-jre-headless)"
  sudo_=""; [[ $(id -u) == 0 ]] || sudo_=sudo
  $sudo_ apt-get install -y -q openjdk-17-jre-headless >/dev/null ||
    fail "Spark needs Java 17 or newer on PATH (Debian: openjdk-17-jre-headless)"
fi

if ! "$venv/bin/python" -c "import pyspark, numpy" 2>/dev/null; then
  step "installing PySpark into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "pyspark==4.3.0" "numpy"
fi
py="$venv/bin/python"

cargo build -q --bin localrec
bin=target/debug/localrec
mkdir -p "$out"

step "converting Amazon Magazine"
"$bin" convert amazon --reviews "$data/Magazine_Subscriptions_5.json.gz" \
  --meta "$data/meta_Magazine_Subscriptions.json.gz" \
  --catalogue "$out/new-catalogue.jsonl" --events "$out/events.jsonl"
if cmp -s "$out/new-catalogue.jsonl" "$out/catalogue.jsonl"; then
  rm "$out/new-catalogue.jsonl"
else
  mv "$out/new-catalogue.jsonl" "$out/catalogue.jsonl"
  rm -f "$out/single.lri"
fi

# The single-process build, kept while its inputs are older than it.
if [[ ! -f "$out/single.lri" || "$bin" -nt "$out/single.lri" || "$model" -nt "$out/single.lri" ]]; then
  step "single-process index build"
  "$bin" index build --model "$model" --catalogue "$out/catalogue.jsonl" -o "$out/single.lri.tmp"
  mv "$out/single.lri.tmp" "$out/single.lri"
fi

step "eval with localrec's own ALS, exporting the split"
rm -rf "$out/split"
"$bin" eval --model "$model" --catalogue "$out/catalogue.jsonl" --events "$out/events.jsonl" \
  --index "$out/single.lri" --collaborative --export-split "$out/split" --json >"$out/eval-single.json"
[[ -s "$out/split/train-events.jsonl" ]] || fail "eval --export-split wrote no $out/split/train-events.jsonl"

step "the Spark job on the eval's training events"
"$py" examples/spark/build_index.py --catalogue "$out/catalogue.jsonl" \
  --events "$out/split/train-events.jsonl" --out "$out/spark" \
  --localrec "$bin" --model "$model" --master "local[2]" --reg-param 3 >"$out/spark-timings.json"
cat "$out/spark-timings.json"
[[ -f "$out/spark/index.lri" ]] || fail "the Spark job wrote no $out/spark/index.lri"

step "(i) the Spark index's item vectors are the single-process build's"
"$bin" index inspect "$out/spark/index.lri" >"$out/spark-inspect.txt" ||
  fail "index inspect cannot read $out/spark/index.lri"
"$bin" index inspect "$out/single.lri" >"$out/single-inspect.txt"
spark_vectors=$(grep '^vectors sha256:' "$out/spark-inspect.txt" || true)
single_vectors=$(grep '^vectors sha256:' "$out/single-inspect.txt" || true)
echo "spark:  $spark_vectors"
echo "single: $single_vectors"
[[ -n "$single_vectors" ]] || fail "index inspect prints no 'vectors sha256:' line"
[[ "$spark_vectors" == "$single_vectors" ]] ||
  fail "the Spark index's vectors differ from the single-process build's"

step "(ii) eval: the shipped Spark factors against localrec's own ALS"
"$bin" eval --model "$model" --catalogue "$out/catalogue.jsonl" --events "$out/events.jsonl" \
  --index "$out/spark/index.lri" --collaborative --shipped-collab --json >"$out/eval-spark.json"
"$py" - "$out/eval-spark.json" <<'EOF'
import json, sys

methods = json.load(open(sys.argv[1]))["methods"]
for name in ("localrec+collab", "localrec+shipped"):
    if name not in methods:
        sys.exit(f"spark test: FAIL: the eval has no {name} row (methods: {', '.join(methods)})")
# The metric is keyed by its cut-off: "ndcg@10".
key = next((k for k in methods["localrec+collab"] if k.startswith("ndcg")), None)
if key is None:
    sys.exit(f"spark test: FAIL: no NDCG in the eval's JSON ({', '.join(methods['localrec+collab'])})")
collab, shipped = methods["localrec+collab"][key], methods["localrec+shipped"][key]
print(
    f"{key}  localrec+collab  {collab['mean']:.4f} [{collab['low']:.4f}, {collab['high']:.4f}]"
    "  (localrec's own ALS)\n"
    f"{key}  localrec+shipped {shipped['mean']:.4f} [{shipped['low']:.4f}, {shipped['high']:.4f}]"
    "  (the Spark factors)"
)
if not collab["low"] <= shipped["mean"] <= collab["high"]:
    sys.exit(
        f"spark test: FAIL: localrec+shipped (Spark's factors) {key} "
        f"{shipped['mean']:.4f} is outside localrec+collab's 95 % interval "
        f"[{collab['low']:.4f}, {collab['high']:.4f}]"
    )
EOF
step "passed"
