"""Clustering benchmark: classical and deep clusterers through ``mlvsdl compare --task cluster``
on real data, the label used for evaluation only.

Datasets (read from ../shared/datasets, skipped when absent):

* ``mnist``: the 10,000 MNIST test digits as 28 x 28 images, ``--k 10``, the digit as the label.
  Classical clusterers work on 50 principal components of the pixels, the networks on the pixels.
* ``banking77``: the 3,080 banking77 test texts (77 intents as the label), ``--k 77``: TF-IDF +
  truncated SVD (LSA) vs frozen MiniLM embeddings.
* ``tickets``: the 2,125 German support tickets (subject and body), queues (10) as the label,
  ``--k 10``. MiniLM (all-MiniLM-L6-v2) was trained on English text.

Published anchors differ from this protocol: they fit and score on the whole set, while here each
model is fitted on the training part (64 % of the rows with one validation holdout) and scored on
the 20 % held-out test rows it never saw, assigned by its ``predict``.

    python bench/cluster.py [--datasets mnist,banking77,tickets] [--time-budget 900] [--seed 0]
                            [--store DIR] [--out results.json] [--torch-threads N]
                            [--families dummy,kmeans,...]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine
from images import read_idx

from mlvsdl import compare
from mlvsdl.evaluate.analysis import load_analysis
from mlvsdl.store import Store

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
FOLDERS = {
    "mnist": "mnist_test10k",
    "banking77": "banking77",
    "tickets": "support_tickets_tobi_bueck_de",
}


def mnist() -> tuple[object, str, int]:
    folder = DATA / "mnist_test10k"
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz")
    return (list(images), labels), "label", 10


def banking77() -> tuple[object, str, int]:
    return pd.read_csv(DATA / "banking77" / "test.csv"), "category", 77


def tickets() -> tuple[object, str, int]:
    path = DATA / "support_tickets_tobi_bueck_de" / "dataset-tickets-german_normalized.csv.gz"
    frame = pd.read_csv(path)
    return frame[["subject", "body", "queue"]], "queue", 10


DATASETS = {"mnist": mnist, "banking77": banking77, "tickets": tickets}


def run(
    name: str, budget: float, seed: int, store: Store, families: list[str] | None = None
) -> dict:
    data, label, k = DATASETS[name]()
    start = time.perf_counter()
    result = compare(
        data,
        task="cluster",
        label=label,
        k=k,
        time_budget=budget,
        seed=seed,
        store=store.root,
        families=families,
    )
    wall = time.perf_counter() - start
    metrics = store.db.metrics(result.run_id)
    test = {(m["candidate"], m["metric"]): m["value"] for m in metrics if m["split"] == "test"}
    rows = []
    for row in result.leaderboard.to_dict("records"):
        name_ = row["model"]
        rows.append(
            {
                "model": name_,
                "kind": row["kind"],
                "status": row["status"],
                "val_nmi": row["val_score"],
                **{
                    f"test_{m}": test.get((name_, m))
                    for m in ("nmi", "ari", "cluster_accuracy", "silhouette", "n_clusters")
                },
                "fit_s": row["fit_time_s"],
                "predict_s_per_1k": row["predict_time_s_per_1k"],
                "n_train_rows": row["n_train_rows"],
                "note": row["note"],
            }
        )
    analysis = load_analysis(store, result.run_id) or {}
    return {
        "dataset": name,
        "rows": result.schema.n_rows,
        "k": k,
        "run_id": result.run_id,
        "wall_s": wall,
        "budget_s": budget,
        "leaderboard": rows,
        "recommendation": (analysis.get("recommendation") or {}).get("model"),
    }


def _num(value: object, fmt: str = ".3f") -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    return format(value, fmt)


def show(result: dict) -> None:
    print(
        f"\n== {result['dataset']}: {result['rows']:,} rows, k = {result['k']}; "
        f"{result['wall_s']:.0f} s for a {result['budget_s']:.0f}-s budget; recommended: "
        f"{result['recommendation']}"
    )
    print(
        f"{'model':<18}{'kind':<5}{'val NMI':>8}{'NMI':>7}{'ARI':>7}{'acc':>7}{'silh':>7}"
        f"{'fit s':>8}{'ms/1k':>8}  note"
    )
    for r in result["leaderboard"]:
        ms = None if r["predict_s_per_1k"] is None else 1000 * r["predict_s_per_1k"]
        print(
            f"{r['model']:<18}{r['kind']:<5}{_num(r['val_nmi']):>8}{_num(r['test_nmi']):>7}"
            f"{_num(r['test_ari']):>7}{_num(r['test_cluster_accuracy']):>7}"
            f"{_num(r['test_silhouette']):>7}{_num(r['fit_s'], '.1f'):>8}{_num(ms, '.0f'):>8}  "
            f"{r['status'] if r['status'] != 'completed' else ''} {r['note'] or ''}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="mnist,banking77,tickets")
    parser.add_argument("--time-budget", type=float, default=900)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--store", default=None)
    parser.add_argument("--out", default=None)
    parser.add_argument("--families", default=None, help="comma-separated (default: all)")
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=None,
        help="torch's intra-op threads (on a 2-core machine shared with other work, 1 trains "
        "the small autoencoders about 3x faster than 2, whose threads wait on each other)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    print(machine())
    store = Store(args.store or tempfile.mkdtemp(prefix="mlvsdl-bench-cluster-"))
    results = []
    for name in args.datasets.split(","):
        if not (DATA / FOLDERS[name]).exists():
            print(f"skipping {name}: ../shared/datasets is not here")
            continue
        families = args.families.split(",") if args.families else None
        results.append(run(name, args.time_budget, args.seed, store, families))
        show(results[-1])
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
