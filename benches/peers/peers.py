"""Peers for `localrec eval --collaborative`: implicit ALS and LightFM (WARP,
hybrid with item text features), trained on exactly the split localrec used
(`--export-split DIR`: train.jsonl, test.jsonl), scored the same way (rank of
the held-out item among all catalogue items minus the user's touched ones,
ties by catalogue order; NDCG@10, Recall@10, MRR; 95% bootstrap intervals
over users with the same SplitMix64 resampling as src/eval/metrics.rs), and
printed in one table with localrec's figures from the same run.

Hyperparameters are chosen per peer on a validation split of the training
events (each user's last positive training interaction with a new item held
out — the rule localrec's own blend learning uses), never on test held-outs.
"""

import argparse
import json
import math
import re
import sys
import time
from collections import Counter, defaultdict

import numpy as np
import scipy.sparse as sp

MASK = (1 << 64) - 1


class SplitMix:
    def __init__(self, seed):
        self.state = seed & MASK

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        return self.next_u64() % n


def bootstrap(values, resamples, seed):
    n = len(values)
    if n == 0:
        return (0.0, 0.0, 0.0)
    mean = sum(values) / n
    rng = SplitMix(seed)
    means = sorted(sum(values[rng.below(n)] for _ in range(n)) / n for _ in range(resamples))
    pick = lambda q: means[min(int(q * resamples), resamples - 1)]
    return (mean, pick(0.025), pick(0.975))


def ndcg(rank, k=10):
    return 1.0 / math.log2(rank + 1) if rank <= k else 0.0


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def rank_of(scores, held, excluded):
    """1-based rank of `held` among items not excluded (ties: lower index first)."""
    s = scores.astype(np.float64).copy()
    s[list(excluded)] = -np.inf
    sh = s[held]
    better = np.sum(s > sh) + np.sum(s[:held] == sh)
    return int(better) + 1


def text_features(items):
    """Identity + TF-IDF bag of words of title, text, category and tags (words in ≥ 2 items)."""
    docs = []
    for it in items:
        parts = [it.get("title") or "", it.get("text") or "", it.get("category") or ""]
        parts += it.get("tags") or []
        docs.append(re.findall(r"[a-z0-9]{2,}", " ".join(parts).lower()))
    df = Counter(w for d in docs for w in set(d))
    vocab = {w: j for j, (w, c) in enumerate(sorted(df.items())) if c >= 2}
    vocab = {w: j for j, w in enumerate(sorted(vocab))}
    rows, cols, vals = [], [], []
    n = len(docs)
    for i, d in enumerate(docs):
        tf = Counter(w for w in d if w in vocab)
        weights = {w: c * math.log(n / df[w]) for w, c in tf.items()}
        norm = math.sqrt(sum(v * v for v in weights.values())) or 1.0
        for w, v in weights.items():
            rows.append(i)
            cols.append(vocab[w])
            vals.append(v / norm)
    tfidf = sp.csr_matrix((vals, (rows, cols)), shape=(n, len(vocab)), dtype=np.float32)
    return sp.hstack([sp.identity(n, dtype=np.float32, format="csr"), tfidf]).tocsr()


def validation_split(train):
    """Per user, hold out the last positive (strength ≥ 0.5) interaction with a new item."""
    by_user = defaultdict(list)
    for r in train:
        by_user[r["user"]].append(r)
    fit, held = [], {}
    for u, rows in by_user.items():
        rows = sorted(rows, key=lambda r: r["ts"])  # stable, as localrec's sort
        h = None
        for j in range(len(rows) - 1, 0, -1):
            if rows[j]["strength"] >= 0.5 and all(p["item"] != rows[j]["item"] for p in rows[:j]):
                h = j
                break
        if h is None:
            fit.extend(rows)
        else:
            fit.extend(rows[:h])
            held[u] = (rows[h]["item"], {p["item"] for p in rows[:h]})
    return fit, held


def matrix(rows, users, items):
    m = defaultdict(float)
    for r in rows:
        if r["item"] in items:
            m[(users[r["user"]], items[r["item"]])] += r["strength"]
    if not m:
        return sp.csr_matrix((len(users), len(items)), dtype=np.float32)
    (u, i), v = zip(*m.keys()), list(m.values())
    return sp.csr_matrix((v, (u, i)), shape=(len(users), len(items)), dtype=np.float32)


def evaluate_ranks(score_user, cases, users, items):
    ranks = []
    for u, (item, exclude) in cases.items():
        scores = score_user(users[u])
        ranks.append(rank_of(scores, items[item], {items[x] for x in exclude if x in items}))
    return ranks


def als_peer(X, grid):
    from implicit.als import AlternatingLeastSquares

    def fit(X, p):
        m = AlternatingLeastSquares(factors=p["factors"], regularization=p["regularization"],
                                    alpha=p["alpha"], iterations=15, random_state=42)
        m.fit(X, show_progress=False)
        uf, itf = np.asarray(m.user_factors), np.asarray(m.item_factors)
        return lambda u: itf @ uf[u]

    return fit, grid


def lightfm_peer(features):
    """One thread: LightFM's parallel SGD is not deterministic, one thread with a seed is."""
    from lightfm import LightFM

    def fit(X, p):
        m = LightFM(loss="warp", no_components=p["components"], learning_rate=p["learning_rate"],
                    item_alpha=p["item_alpha"], random_state=42)
        m.fit(X.tocoo(), item_features=features, epochs=p["epochs"], num_threads=1)
        ids = np.arange(X.shape[1], dtype=np.int32)
        return lambda u: m.predict(u, ids, item_features=features, num_threads=1)

    return fit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", required=True)
    ap.add_argument("--catalogue", required=True)
    ap.add_argument("--localrec", required=True, help="localrec eval --json output of the same run")
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    items_list = read_jsonl(args.catalogue)
    items = {it["id"]: i for i, it in enumerate(items_list)}
    train = read_jsonl(f"{args.split}/train.jsonl")
    test = read_jsonl(f"{args.split}/test.jsonl")
    names = sorted({r["user"] for r in train} | {t["user"] for t in test})
    users = {u: i for i, u in enumerate(names)}
    test_cases = {t["user"]: (t["item"], t["exclude"]) for t in test}
    fit_rows, val_cases = validation_split(train)
    X_val, X_all = matrix(fit_rows, users, items), matrix(train, users, items)
    features = text_features(items_list)

    peers = {
        "implicit ALS": (
            als_peer(None, None)[0],
            [dict(factors=f, regularization=r, alpha=a)
             for f in (32, 64, 128) for r in (0.01, 0.1, 1.0) for a in (1.0, 10.0, 40.0)],
        ),
        "LightFM WARP + text": (
            lightfm_peer(features),
            [dict(components=c, learning_rate=lr, epochs=e, item_alpha=ia)
             for c in (32, 64) for lr in (0.01, 0.05) for e in (10, 30, 60) for ia in (0.0, 1e-5)],
        ),
    }
    results, chosen = {}, {}
    for m, (name, (fit, grid)) in enumerate(peers.items()):
        t0 = time.time()
        best = None
        for p in grid:
            scorer = fit(X_val, p)
            v = np.mean([ndcg(r) for r in evaluate_ranks(scorer, val_cases, users, items)])
            if best is None or v > best[1] + 1e-12:
                best = (p, v)
        scorer = fit(X_all, best[0])
        ranks = evaluate_ranks(scorer, test_cases, users, items)
        seed = args.seed + 10 + m
        results[name] = {
            "ndcg@10": bootstrap([ndcg(r) for r in ranks], args.resamples, seed),
            "recall@10": bootstrap([1.0 if r <= 10 else 0.0 for r in ranks], args.resamples, seed),
            "mrr": bootstrap([1.0 / r for r in ranks], args.resamples, seed),
        }
        chosen[name] = (best[0], best[1], len(grid), time.time() - t0)

    lr = json.load(open(args.localrec))
    rows = []
    for name in ["localrec+collab", "localrec", "popularity", "bm25", "random"]:
        if name in lr["methods"]:
            m = lr["methods"][name]
            rows.append((name, *(tuple(m[x][y] for y in ("mean", "low", "high")) for x in ("ndcg@10", "recall@10", "mrr"))))
    for name, r in results.items():
        rows.append((name, r["ndcg@10"], r["recall@10"], r["mrr"]))
    f = lambda e: f"{e[0]:.4f} ({e[1]:.4f}–{e[2]:.4f})"
    print(f"{lr['users']} users evaluated; catalogue {lr['catalogue']} items; {len(train)} training interactions")
    print()
    print("| method | NDCG@10 (95% CI) | Recall@10 (95% CI) | MRR (95% CI) |")
    print("|---|---|---|---|")
    for name, a, b, c in rows:
        print(f"| {name} | {f(a)} | {f(b)} | {f(c)} |")
    print()
    for name, (p, v, n, secs) in chosen.items():
        print(f"{name}: chose {p} (validation NDCG@10 {v:.4f}, {n} settings tried, {secs:.0f} s)")
    best_peer = max(r["ndcg@10"][0] for r in results.values())
    ours = lr["methods"].get("localrec+collab", {}).get("ndcg@10", {}).get("mean", 0.0)
    pop = lr["methods"]["popularity"]["ndcg@10"]["mean"]
    print()
    print(f"localrec+collab / best peer: {ours / best_peer:.2f}x; / popularity: {ours / pop:.2f}x")
    json.dump({"peers": results, "chosen": {k: v[0] for k, v in chosen.items()}},
              open(f"{args.split}/peers.json", "w"), indent=1)


if __name__ == "__main__":
    sys.exit(main())
