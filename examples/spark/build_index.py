#!/usr/bin/env python3
"""Build a localrec catalogue index on Spark: the heavy stages on the cluster,
only the final assembly on the driver.

    python examples/spark/build_index.py \
        --catalogue catalogue.jsonl --events events.jsonl --out OUT \
        --localrec target/debug/localrec --model models/build/minilm-l6-v2-int8.lrm

What runs where:

  (a) embedding (executors). The catalogue's lines are streamed, one partition
      at a time, through `localrec embed --ids`; its output (a header line, then
      `{"id", "vector"}` per item) is saved as text part files in OUT/vectors.
      This is the expensive stage: it scales with executor cores, one
      single-threaded `localrec embed` process per running task.
  (b) interactions (executors). The store's events go through
      `localrec interactions`, which keeps the positive ones and gives each its
      strength by the rule localrec's own ALS uses (like / purchase 1, view 0.3,
      stars (s - 3)/2, ...). Events of items outside the catalogue are dropped
      (inner join), string ids are mapped to the integers ALS needs, and
      repeated (user, item) pairs are summed: Spark's implicit ALS treats every
      row as its own observation, Hu et al. (and localrec) add them up first.
  (c) validation factors (executors). `localrec index holdout` (driver) names
      the validation users on which `index build` learns how to blend text,
      collaborative and popularity scores, with the time each one's held-out
      events start. Those events are removed and implicit ALS is trained on the
      rest -> OUT/validation-factors (carrying the holdout's digest, so
      `index build` can tell the factors never saw what they are judged on).
  (d) item factors (executors). Implicit ALS on every interaction ->
      OUT/item-factors: the factors shipped in the index.
  (e) assembly (driver). `localrec index build --vectors --item-factors
      --validation-factors` reads those directories; it neither embeds nor
      trains, it learns the blend on the holdout users and writes OUT/index.lri.
  (f) timings: one JSON line on stdout (also OUT/timings.json).

Scaling out. The executors need the localrec binary (a Linux build for their
architecture) and the model bundle. This job ships both with `sc.addFile` and
every task finds its copy with `SparkFiles.get` on the executor it runs on, so
nothing has to be installed on the workers; `spark-submit --files localrec,model.lrm`
does the same. Partitions: `--partitions` sets the catalogue's split (several
per executor core keeps the cores busy to the end: texts differ in length) and
ALS's user and item blocks. OUT must be a directory both the executors and the
driver can write and read (here a local path; on a cluster a shared mount, or
copy OUT's directories down before step (e)): `localrec index build` reads
local files.

The Python workers need PySpark's dependencies (numpy): PYSPARK_PYTHON
defaults to the driver's interpreter, which is right in local mode.

`--stages` runs some of embed, validation, factors, index: e.g.
`--stages validation,factors,index` refreshes the factors on new events and
reuses OUT/vectors from an earlier run. Stdout carries only the final JSON
line; progress goes to stderr.
"""

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from pyspark import SparkFiles
from pyspark.ml.recommendation import ALS
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

# The header of an item factors directory names how the factors were trained;
# Spark's ALS multiplies regParam by each row's number of interactions.
REG_SCALING = "per-interaction"
STAGES = ("embed", "validation", "factors", "index")


def log(message):
    print(f"[build_index] {message}", file=sys.stderr, flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--catalogue", required=True, help="catalogue JSONL (optionally .gz)")
    p.add_argument("--events", required=True, help="store events JSONL (localrec's events format)")
    p.add_argument("--out", required=True, help="output directory (vectors, factors, index.lri)")
    p.add_argument("--localrec", default="target/debug/localrec", help="the localrec binary")
    p.add_argument(
        "--model",
        default=os.environ.get("LOCALREC_MODEL", "models/build/minilm-l6-v2-int8.lrm"),
        help="model bundle (default: $LOCALREC_MODEL, else models/build/minilm-l6-v2-int8.lrm)",
    )
    p.add_argument("--master", default="local[2]", help="Spark master (default local[2])")
    p.add_argument(
        "--partitions",
        type=int,
        default=0,
        help="catalogue partitions and ALS blocks (default: 2 x the default parallelism)",
    )
    p.add_argument("--rank", type=int, default=64, help="latent factors (ALS rank)")
    p.add_argument(
        "--reg-param",
        type=float,
        default=1.0,
        help="ALS regParam (Spark scales it by each user's / item's interaction count); "
        "tune it with the validation NDCG@10 `index build` prints",
    )
    p.add_argument("--alpha", type=float, default=20.0, help="confidence slope: c = 1 + alpha*r")
    p.add_argument("--max-iter", type=int, default=15, help="ALS sweeps")
    p.add_argument("--seed", type=int, default=42, help="ALS seed")
    p.add_argument(
        "--rating-scale",
        help="the events' rating scale when the events file names none on its first line",
    )
    p.add_argument(
        "--conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra Spark configuration (repeatable), e.g. spark.driver.memory=8g",
    )
    p.add_argument(
        "--stages",
        default=",".join(STAGES),
        help="comma-separated stages to run (default: all): embed (OUT/vectors), validation "
        "(OUT/validation-factors), factors (OUT/item-factors), index (OUT/index.lri from "
        "those three directories, e.g. kept from an earlier run)",
    )
    return p.parse_args(argv)


# --------------------------------------------------------------------------
# Running localrec inside tasks
# --------------------------------------------------------------------------


def pipe_through(rdd, command):
    """Streams every partition of `rdd` (lines of text) through a process and
    returns its stdout lines as an RDD.

    `command` is a function called *on the executor* that returns the argv; it
    resolves shipped files there with `SparkFiles.get`. Unlike `RDD.pipe`, a
    non-zero exit fails the task with the process's stderr (RDD.pipe ignores
    exit codes by default), the process inherits the worker's environment,
    and an empty partition starts no process.
    """

    def run(lines):
        lines = iter(lines)
        first = next(lines, None)
        if first is None:
            return
        argv = command()
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err
            )

            def feed():
                try:
                    for line in itertools.chain([first], lines):
                        proc.stdin.write(line.encode("utf-8") + b"\n")
                    proc.stdin.close()
                except BrokenPipeError:
                    pass  # the process died; its exit code and stderr say why

            feeder = threading.Thread(target=feed, daemon=True)
            feeder.start()
            for out in proc.stdout:
                yield out.decode("utf-8").rstrip("\n")
            feeder.join()
            if proc.wait() != 0:
                err.seek(0)
                message = err.read().decode("utf-8", "replace").strip()
                raise RuntimeError(
                    f"{' '.join(argv[:2])} exited with {proc.returncode}: {message}"
                )

    return rdd.mapPartitions(run)


def shipped(name, executable=False):
    """The executor-local path of a file added with `sc.addFile`."""
    path = SparkFiles.get(name)
    if executable and not os.access(path, os.X_OK):
        os.chmod(path, 0o755)
    return path


# --------------------------------------------------------------------------
# Stages
# --------------------------------------------------------------------------


def embed_catalogue(sc, args, bin_name, model_name, out_dir, partitions):
    """(a) catalogue lines -> `localrec embed --ids` -> OUT/vectors part files."""
    lines = sc.textFile(args.catalogue, minPartitions=partitions).filter(lambda l: l.strip())
    if lines.getNumPartitions() < partitions:  # a .gz file is a single partition
        lines = lines.repartition(partitions)
    items = sc.accumulator(0)

    def count(line):
        items.add(1)
        return line

    command = lambda: [shipped(bin_name, True), "embed", "--ids", "--model", shipped(model_name)]
    pipe_through(lines.map(count), command).saveAsTextFile(out_dir)
    return items.value


def read_interactions(spark, args, bin_name, catalogue_ids, partitions):
    """(b) events -> `localrec interactions` -> DataFrame(user, item, strength, ts)
    of catalogue items only, with the integer ids ALS needs (u, i)."""
    sc = spark.sparkContext
    raw = sc.textFile(args.events, minPartitions=partitions)
    # An events file may name its rating scale on its first line; such a line
    # is no event. Its scale is passed on, so stars mean the same everywhere.
    scale = args.rating_scale or events_scale(raw)
    if raw.getNumPartitions() < partitions:  # a .gz file is a single partition
        raw = raw.repartition(partitions)

    def is_event(line):
        if not line.strip():
            return False
        if '"rating_scale"' in line:
            value = json.loads(line)
            return "user" in value
        return True

    events = raw.filter(is_event)
    counted = sc.accumulator(0)

    def count(line):
        counted.add(1)
        return line

    extra = ["--rating-scale", scale] if scale else []
    command = lambda: [shipped(bin_name, True), "interactions", *extra]
    piped = pipe_through(events.map(count), command)
    schema = "user STRING, item STRING, strength DOUBLE, ts LONG"
    positive = spark.read.schema(schema).json(piped)

    # Only items of the catalogue: the index has no row for others. Cached: the
    # user ids below and the join read it, and the events go through once.
    known = positive.join(catalogue_ids, on="item", how="inner").cache()
    users = with_index(spark, known.select("user").distinct(), "user", "u")
    frame = known.join(users, "user").select("user", "item", "u", "i", "strength", "ts").cache()
    n = frame.count()
    known.unpersist()
    return frame, n, counted.value, scale


def events_scale(raw):
    """The rating scale named on an events file's first line, or None."""
    first = raw.filter(lambda l: l.strip()).take(1)  # the first partition starts the file
    if not first:
        return None
    head = json.loads(first[0])
    return head.get("rating_scale") if "user" not in head else None


def with_index(spark, frame, column, index_column):
    """`frame` (one column of distinct string ids) with a dense integer id
    0..n-1 alongside, as ALS wants (StringIndexer would do the same, but keeps
    its labels on the driver)."""
    rdd = frame.rdd.map(lambda row: row[0]).zipWithIndex()
    return spark.createDataFrame(rdd, f"{column} STRING, {index_column} INT")


def summed(interactions):
    """One row per (user, item): strengths added up, as localrec's ALS does."""
    return interactions.groupBy("u", "i").agg(F.sum("strength").alias("strength"))


def train_factors(pairs, args, partitions):
    """Implicit ALS (Hu et al., with Spark's per-interaction regularisation)."""
    als = ALS(
        rank=args.rank,
        maxIter=args.max_iter,
        regParam=args.reg_param,
        alpha=args.alpha,
        implicitPrefs=True,
        nonnegative=False,
        seed=args.seed,
        userCol="u",
        itemCol="i",
        ratingCol="strength",
        numUserBlocks=partitions,
        numItemBlocks=partitions,
        checkpointInterval=5,
    )
    return als.fit(pairs).itemFactors  # (id: int, features: array<float>)


def write_factors(factors, catalogue_ids, out_dir, header):
    """Item factors with their catalogue ids -> OUT/<dir>/part-*.json + header.json."""
    rows = factors.join(catalogue_ids, factors.id == catalogue_ids.i).select(
        F.col("item").alias("id"), "features"
    )
    rows.write.mode("overwrite").json(out_dir)
    # One header for the whole directory, written once by the driver.
    with open(os.path.join(out_dir, "header.json"), "w") as f:
        f.write(json.dumps(header) + "\n")


def run_local(argv):
    """Runs a localrec command on the driver; its stderr passes through."""
    log("$ " + " ".join(argv))
    subprocess.run(argv, check=True, stdout=sys.stderr)


def read_holdout(path):
    """The holdout file: its header's digest and the (user, from_ts) rows."""
    digest, rows = None, []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            value = json.loads(line)
            if "holdout" in value:
                digest = value["holdout"]
            else:
                rows.append((value["user"], int(value["from_ts"])))
    if digest is None:
        raise SystemExit(f"{path}: no header line with the holdout digest")
    return digest, rows


# --------------------------------------------------------------------------
# The job
# --------------------------------------------------------------------------


def main(argv=None):
    args = parse_args(argv)
    stages = set(args.stages.split(","))
    if not stages <= set(STAGES):
        raise SystemExit(f"build_index: --stages takes some of {','.join(STAGES)}")
    for path in (args.catalogue, args.events, args.localrec, args.model):
        if not os.path.exists(path):
            raise SystemExit(f"build_index: {path} does not exist")
    binary = os.path.abspath(args.localrec)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    paths = {
        name: os.path.join(out, name)
        for name in ("vectors", "item-factors", "validation-factors", "_checkpoints")
    }
    for stage, name in (("embed", "vectors"), ("factors", "item-factors"),
                        ("validation", "validation-factors"), ("factors", "_checkpoints")):
        if stage in stages:
            shutil.rmtree(paths[name], ignore_errors=True)  # Spark will not overwrite text output
    timings = {"master": args.master}
    started = time.time()

    # Python workers run this file's functions: in local mode, the same
    # interpreter as the driver (it has pyspark's numpy); on a cluster, set
    # PYSPARK_PYTHON to the executors' Python.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    builder = (
        SparkSession.builder.master(args.master)
        .appName("localrec-index")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "4g")  # local mode: the driver's JVM is the executor
    )
    for kv in args.conf:
        key, _, value = kv.partition("=")
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    sc = spark.sparkContext
    sc.setLogLevel("WARN")
    partitions = args.partitions or 2 * sc.defaultParallelism
    timings["partitions"] = partitions
    spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
    sc.setCheckpointDir(paths["_checkpoints"])  # ALS cuts its lineage every few sweeps

    # The binary and the model travel to every executor with the job; a task
    # finds its copy by file name (SparkFiles.get).
    bin_name, model_name = os.path.basename(binary), os.path.basename(args.model)
    if bin_name == model_name:
        raise SystemExit("build_index: the binary and the model need different file names")
    sc.addFile(binary)
    sc.addFile(os.path.abspath(args.model))
    timings["spark_start_s"] = round(time.time() - started, 2)

    # (a) Embedding.
    if "embed" in stages:
        t = time.time()
        items = embed_catalogue(sc, args, bin_name, model_name, paths["vectors"], partitions)
        timings["embed_s"] = round(time.time() - t, 2)
        timings["items"] = items
        timings["items_per_s"] = round(items / timings["embed_s"], 2)
        log(f"embedded {items} items in {timings['embed_s']} s")

    scale = args.rating_scale
    if stages & {"validation", "factors"}:
        # (b) Interactions.
        t = time.time()
        ids = spark.read.schema("id STRING").json(args.catalogue).dropna().distinct()
        catalogue_ids = with_index(spark, ids, "item", "i").cache()
        interactions, n_interactions, n_events, scale = read_interactions(
            spark, args, bin_name, catalogue_ids, partitions
        )
        timings["interactions_s"] = round(time.time() - t, 2)
        timings["events"] = n_events
        timings["interactions"] = n_interactions
        log(f"{n_events} events -> {n_interactions} interactions in {timings['interactions_s']} s")

    settings = {
        "item_factors": 1,
        "rank": args.rank,
        "reg_param": args.reg_param,
        "alpha": args.alpha,
        "max_iter": args.max_iter,
        "reg_scaling": REG_SCALING,
    }
    scale_args = ["--rating-scale", scale] if scale else []

    # (c) Validation factors: the holdout users' held-out events removed.
    if "validation" in stages:
        t = time.time()
        holdout_file = os.path.join(out, "holdout.jsonl")
        run_local(
            [binary, "index", "holdout", "--catalogue", args.catalogue,
             "--interactions", args.events, *scale_args, "-o", holdout_file]
        )
        digest, held = read_holdout(holdout_file)
        timings["holdout_users"] = len(held)
        holdout = spark.createDataFrame(held, "user STRING, from_ts LONG")
        kept = interactions.join(F.broadcast(holdout), "user", "left").filter(
            F.col("from_ts").isNull() | (F.col("ts") < F.col("from_ts"))
        )
        validation = train_factors(summed(kept), args, partitions)
        write_factors(
            validation, catalogue_ids, paths["validation-factors"], {**settings, "holdout": digest}
        )
        timings["als_validation_s"] = round(time.time() - t, 2)
        log(f"validation factors ({len(held)} holdout users) in {timings['als_validation_s']} s")

    # (d) Item factors: every interaction.
    if "factors" in stages:
        t = time.time()
        factors = train_factors(summed(interactions), args, partitions)
        write_factors(factors, catalogue_ids, paths["item-factors"], settings)
        timings["als_s"] = round(time.time() - t, 2)
        # Events in -> shipped factors out: the interactions stage and one ALS.
        timings["events_per_s"] = round(
            n_events / (timings["interactions_s"] + timings["als_s"]), 1
        )
        log(f"item factors in {timings['als_s']} s")

    spark.stop()
    shutil.rmtree(paths["_checkpoints"], ignore_errors=True)

    # (e) Assembly on the driver: no embedding, no ALS.
    if "index" in stages:
        t = time.time()
        run_local(
            [binary, "index", "build", "--model", args.model, "--catalogue", args.catalogue,
             "--vectors", paths["vectors"], "--item-factors", paths["item-factors"],
             "--validation-factors", paths["validation-factors"],
             "--interactions", args.events, *scale_args, "-o", os.path.join(out, "index.lri")]
        )
        timings["index_build_s"] = round(time.time() - t, 2)
    timings["total_s"] = round(time.time() - started, 2)

    # (f) Timings.
    line = json.dumps(timings)
    with open(os.path.join(out, "timings.json"), "w") as f:
        f.write(line + "\n")
    print(line, flush=True)


if __name__ == "__main__":
    main()
