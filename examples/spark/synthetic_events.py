#!/usr/bin/env python3
"""Synthetic store events over a real catalogue, for timing the factors stage.

    python examples/spark/synthetic_events.py CATALOGUE.jsonl N OUT.jsonl [--seed 7]

N events in localrec's events format (the `eval` format): users drawn uniformly
from N/10 of them (so about 10 events each), items from a Zipf law over the
catalogue's ids (the k-th most popular item, in a seeded shuffle of the
catalogue, is drawn with probability proportional to 1/k), timestamps
increasing over one year. Kinds: 60 % views, 25 % purchases, 10 % likes, 5 %
star ratings (1-5 stars; 1-3 stars are no positive interaction). Same seed,
same file.
"""

import argparse
import json

import numpy as np


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("catalogue")
    p.add_argument("n", type=int)
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--zipf", type=float, default=1.0, help="Zipf exponent of item popularity")
    args = p.parse_args()

    ids = []
    with open(args.catalogue) as f:
        for line in f:
            if line.strip():
                ids.append(json.loads(line)["id"])
    rng = np.random.default_rng(args.seed)
    ids = np.array(ids, dtype=object)[rng.permutation(len(ids))]

    n = args.n
    weights = 1.0 / np.arange(1, len(ids) + 1) ** args.zipf
    items = rng.choice(len(ids), size=n, p=weights / weights.sum())
    users = rng.integers(0, max(1, n // 10), size=n)
    start = 1_700_000_000
    ts = np.sort(rng.integers(start, start + 365 * 86_400, size=n))
    kind = rng.choice(4, size=n, p=[0.60, 0.25, 0.10, 0.05])
    stars = rng.integers(1, 6, size=n)

    names = ["view", "purchase", "like"]
    with open(args.out, "w") as f:
        for u, i, t, k, s in zip(users.tolist(), items.tolist(), ts.tolist(), kind.tolist(),
                                 stars.tolist()):
            what = f'"rating":{s}.0' if k == 3 else f'"kind":"{names[k]}"'
            f.write(f'{{"user":"u{u}","ts":{t},"item":"{ids[i]}",{what}}}\n')


if __name__ == "__main__":
    main()
