"""Dimensionality-reduction benchmark: PCA against the autoencoder (and the random-projection
baseline) through ``mlvsdl compare --task embed``, labels used for evaluation only.

Datasets (read from ../shared/datasets, skipped when absent):

* ``adult``: UCI Adult (a seeded sample of ``--adult-rows`` training rows; label ``income``) at
  D = 2 and 8: trustworthiness, continuity and kNN accuracy on the held-out rows.
* ``mnist``: the MNIST test digits (10,000 images, pixels in [0, 1]; label ``digit``) at D = 30:
  the squared reconstruction error per image on the held-out rows (the task's mean squared error
  per pixel x 784), beside Hinton & Salakhutdinov's (2006) 3.00 for a deep autoencoder
  (784-1000-500-250-30, RBM-pretrained, 60k training images) and 13.87 for PCA.

    python bench/embed.py [--datasets adult,mnist] [--time-budget 300] [--seed 0]
                          [--adult-rows 10000] [--store DIR] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
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
from mlvsdl.store import Store

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
FAMILIES = ["dummy", "pca", "ae"]
HINTON_2006 = {"ae": 3.00, "pca": 13.87}  # squared error per MNIST test image, D = 30


def adult(rows: int, seed: int) -> pd.DataFrame:
    folder = DATA / "adult_census_income"
    columns = [
        "age", "workclass", "fnlwgt", "education", "education_num", "marital_status",
        "occupation", "relationship", "race", "sex", "capital_gain", "capital_loss",
        "hours_per_week", "native_country", "income",
    ]  # fmt: skip
    frame = pd.read_csv(
        folder / "adult.data.gz", names=columns, skipinitialspace=True, na_values="?"
    )
    return frame.sample(min(rows, len(frame)), random_state=seed).reset_index(drop=True)


def mnist() -> pd.DataFrame:
    folder = DATA / "mnist_test10k"
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz")
    return pd.DataFrame({"image": list(images), "digit": labels.astype(int)})


def run(frame: pd.DataFrame, dims: int, args: argparse.Namespace, **options) -> dict:
    start = time.perf_counter()
    result = compare(
        frame,
        task="embed",
        label=options.pop("label"),
        dims=dims,
        families=FAMILIES,
        time_budget=args.time_budget,
        seed=args.seed,
        store=args.store,
        **options,
    )
    wall = time.perf_counter() - start
    rows = Store(args.store).db.metrics(result.run_id)
    test = {}
    for row in rows:
        if row["split"] == "test":
            test.setdefault(row["candidate"], {})[row["metric"]] = row["value"]
    board = result.leaderboard.set_index("model")
    models = {
        name: {
            "kind": str(board.loc[name, "kind"]),
            "val": board.loc[name, "val_score"],
            "fit_s": board.loc[name, "fit_time_s"],
            "test": test.get(name, {}),
        }
        for name in board.index
    }
    return {
        "run_id": result.run_id,
        "dims": dims,
        "metric": result.metric,
        "n_train": result.settings["n_train"],
        "n_test": result.settings["n_test"],
        "n_folds": result.settings["n_folds"],
        "wall_s": wall,
        "models": models,
    }


def show(name: str, found: dict, per_image: int | None = None) -> None:
    print(
        f"\n{name} D={found['dims']}: {found['n_train']} train / {found['n_test']} test rows, "
        f"{found['n_folds']} fold(s), ranked by {found['metric']}, {found['wall_s']:.0f} s"
    )
    print(f"{'model':10} {'kind':4} {'trust':>7} {'contin':>7} {'kNN acc':>8} {'MSE/feat':>9}")
    for model, m in found["models"].items():
        t = m["test"]
        line = (
            f"{model:10} {m['kind']:4} {t.get('trustworthiness', np.nan):7.4f} "
            f"{t.get('continuity', np.nan):7.4f} {t.get('knn_accuracy', np.nan):8.4f} "
            f"{t.get('reconstruction_error', np.nan):9.5f}"
        )
        if per_image:
            line += f"  per image {t.get('reconstruction_error', np.nan) * per_image:6.2f}"
            if model in HINTON_2006:
                line += f" (Hinton & Salakhutdinov 2006: {HINTON_2006[model]:.2f})"
        print(line + f"  fit {m['fit_s']:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="adult,mnist")
    parser.add_argument("--time-budget", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--adult-rows", type=int, default=10_000)
    parser.add_argument("--store", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    args.store = args.store or tempfile.mkdtemp(prefix="mlvsdl-bench-embed-")
    print(machine())
    results: dict = {}
    chosen = args.datasets.split(",")
    if "adult" in chosen and (DATA / "adult_census_income").is_dir():
        frame = adult(args.adult_rows, args.seed)
        for dims in (2, 8):
            found = run(frame, dims, args, label="income")
            results[f"adult_d{dims}"] = found
            show("adult", found)
    if "mnist" in chosen and (DATA / "mnist_test10k").is_dir():
        found = run(mnist(), 30, args, label="digit", cv=1)
        results["mnist_d30"] = found
        show("mnist", found, per_image=784)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
