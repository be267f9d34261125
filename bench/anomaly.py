"""Anomaly-detection benchmark: every detector, classical and deep, through ``mlvsdl compare
--task anomaly`` on real data, with labels used for evaluation only.

Datasets (read from ../shared/datasets, skipped when absent):

* ``fraud``: the ULB credit-card fraud sample (5,412 rows, 9.1 % fraud; label ``Class``). Also
  scored re-weighted to the full data's prevalence of 0.17 % fraud: each normal test row counts
  as many times as it takes for frauds to be 0.17 % of the weight, since a detector's precision
  depends on how rare the anomalies are.
* ``ai4i``: AI4I 2020 predictive maintenance (10,000 rows, 3.4 % failures; label ``Machine
  failure``; the five failure-mode columns, which leak it, and the identifiers are dropped).
* ``mnist``: MNIST test digits as 784 pixel columns, one digit as normal and a 5 % sample of the
  others as anomalies (a table of pixels: dense autoencoders against PCA reconstruction).

For each, the leaderboard (validation and test average precision, test ROC AUC, fit time,
scoring time per 1,000 rows), the best ML and best DL detector side by side, and the supervised
reference the report computes (a LightGBM classifier trained on the labels).

    python bench/anomaly.py [--datasets fraud,ai4i,mnist] [--time-budget 300] [--seed 0]
                            [--store DIR] [--out results.json]
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
from sklearn import metrics as skm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine
from images import read_idx

from mlvsdl import compare
from mlvsdl.evaluate.analysis import load_analysis
from mlvsdl.evaluate.rundata import RunData
from mlvsdl.plan import RunOptions, plan_run
from mlvsdl.store import Store
from mlvsdl.tasks import get_task

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
REAL_FRAUD_SHARE = 492 / 284_807  # the full ULB data: 0.17 % fraud


def fraud() -> tuple[pd.DataFrame, str]:
    frame = pd.read_csv(DATA / "creditcard_fraud_ulb_sample" / "creditcard_sample.csv.gz")
    return frame, "Class"


def ai4i() -> tuple[pd.DataFrame, str]:
    path = DATA / "ai4i2020_predictive_maintenance" / "ai4i2020.csv"
    frame = pd.read_csv(path, encoding="utf-8-sig")
    leaks = ["TWF", "HDF", "PWF", "OSF", "RNF"]  # failure modes: each implies a failure
    return frame.drop(columns=[*leaks, "UDI", "Product ID"]), "Machine failure"


def mnist(normal: int = 0, share: float = 0.05, seed: int = 0) -> tuple[pd.DataFrame, str]:
    folder = DATA / "mnist_test10k"
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz").reshape(-1, 784) / 255.0
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz")
    rng = np.random.default_rng(seed)
    normal_rows = np.flatnonzero(labels == normal)
    others = np.flatnonzero(labels != normal)
    n_bad = round(share / (1 - share) * len(normal_rows))
    rows = np.concatenate([normal_rows, rng.choice(others, n_bad, replace=False)])
    frame = pd.DataFrame(images[rows], columns=[f"px{i}" for i in range(784)])
    frame["digit_is_other"] = (labels[rows] != normal).astype(int)
    return frame, "digit_is_other"


DATASETS = {"fraud": fraud, "ai4i": ai4i, "mnist": mnist}
FOLDERS = {
    "fraud": "creditcard_fraud_ulb_sample",
    "ai4i": "ai4i2020_predictive_maintenance",
    "mnist": "mnist_test10k",
}


def reweighted_ap(store: Store, run_id: str, frame: pd.DataFrame, label: str) -> dict[str, float]:
    """Test average precision of every model with normal rows weighted to 0.17 % fraud."""
    run = store.db.run(run_id)
    plan = plan_run(frame, RunOptions.from_dict(run["settings"]["options"]))
    data = RunData(plan.frame, plan.y, plan.schema, plan.splits, plan.metric, int(run["seed"]))
    test = data.splits.test
    y = np.asarray(data.y)[test]
    weight_normal = (y.sum() / REAL_FRAUD_SHARE - y.sum()) / max((y == 0).sum(), 1)
    weights = np.where(y == 1, 1.0, weight_normal)
    task = get_task(plan.schema.task)
    out = {}
    for cand in store.db.candidates(run_id):
        if cand["status"] != "completed":
            continue
        model = store.load_model(run_id, cand["name"])
        scores = task.predict(model, data.X.iloc[test]).scores
        out[cand["name"]] = float(skm.average_precision_score(y, scores, sample_weight=weights))
    return out


def run(name: str, budget: float, seed: int, store: Store) -> dict:
    frame, label = DATASETS[name]()
    start = time.perf_counter()
    result = compare(
        frame, task="anomaly", label=label, time_budget=budget, seed=seed, store=store.root
    )
    wall = time.perf_counter() - start
    metrics = store.db.metrics(result.run_id)
    test = {(m["candidate"], m["metric"]): m["value"] for m in metrics if m["split"] == "test"}
    rows = []
    for row in result.leaderboard.to_dict("records"):
        rows.append(
            {
                "model": row["model"],
                "kind": row["kind"],
                "status": row["status"],
                "val_ap": row["val_score"],
                "test_ap": test.get((row["model"], "average_precision")),
                "test_roc_auc": test.get((row["model"], "roc_auc")),
                "fit_s": row["fit_time_s"],
                "predict_s_per_1k": row["predict_time_s_per_1k"],
                "note": row["note"],
            }
        )
    analysis = load_analysis(store, result.run_id) or {}
    out = {
        "dataset": name,
        "rows": len(frame),
        "anomaly_share": float(result.schema.options.get("anomaly_share", float("nan"))),
        "run_id": result.run_id,
        "wall_s": wall,
        "budget_s": budget,
        "leaderboard": rows,
        "supervised": analysis.get("supervised"),
        "recommendation": (analysis.get("recommendation") or {}).get("model"),
    }
    if name == "fraud":
        out["ap_at_real_prevalence"] = reweighted_ap(store, result.run_id, frame, label)
    return out


def show(result: dict) -> None:
    print(
        f"\n== {result['dataset']}: {result['rows']:,} rows, "
        f"{result['anomaly_share']:.2%} anomalies; {result['wall_s']:.0f} s for a "
        f"{result['budget_s']:.0f}-s budget; recommended: {result['recommendation']}"
    )
    print(
        f"{'model':<14}{'kind':<5}{'val AP':>8}{'test AP':>9}{'ROC AUC':>9}{'fit s':>8}"
        f"{'ms/1k':>9}  note"
    )
    done = [r for r in result["leaderboard"] if r["status"] == "completed"]
    for r in result["leaderboard"]:

        def num(v, fmt=".4f"):
            return "-" if v is None or (isinstance(v, float) and np.isnan(v)) else format(v, fmt)

        ms = None if r["predict_s_per_1k"] is None else 1000 * r["predict_s_per_1k"]
        print(
            f"{r['model']:<14}{r['kind']:<5}{num(r['val_ap']):>8}{num(r['test_ap']):>9}"
            f"{num(r['test_roc_auc']):>9}{num(r['fit_s'], '.2f'):>8}{num(ms, '.1f'):>9}  "
            f"{r['status'] if r['status'] != 'completed' else ''} {r['note'] or ''}"
        )
    for kind in ("ml", "dl"):
        side = [r for r in done if r["kind"] == kind and r["model"] != "dummy"]
        if side:
            best = max(side, key=lambda r: r["val_ap"])
            print(
                f"best {kind.upper()} (by validation): {best['model']} test AP "
                f"{best['test_ap']:.4f}, ROC AUC {best['test_roc_auc']:.4f}, fit "
                f"{best['fit_s']:.2f} s, {1000 * best['predict_s_per_1k']:.1f} ms per 1,000 rows"
            )
    sup = result.get("supervised") or {}
    if sup:
        s = sup["supervised"]
        print(
            f"supervised LightGBM on the labels: test AP {s['average_precision']:.4f}, ROC AUC "
            f"{s['roc_auc']:.4f} (fit {s['fit_time_s']:.2f} s)"
        )
    if "ap_at_real_prevalence" in result:
        shown = ", ".join(
            f"{k} {v:.4f}"
            for k, v in sorted(result["ap_at_real_prevalence"].items(), key=lambda kv: -kv[1])
        )
        print(f"test AP re-weighted to 0.17 % fraud: {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="fraud,ai4i,mnist")
    parser.add_argument("--time-budget", type=float, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--store", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(machine())
    store = Store(args.store or tempfile.mkdtemp(prefix="mlvsdl-bench-anomaly-"))
    results = []
    for name in args.datasets.split(","):
        if not (DATA / FOLDERS[name]).exists():
            print(f"skipping {name}: ../shared/datasets is not here")
            continue
        results.append(run(name, args.time_budget, args.seed, store))
        show(results[-1])
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
