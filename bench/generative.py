"""Synthetic-table benchmark: classical samplers and deep generators through
``mlvsdl compare --task synthesize`` on real tables, side by side in one run each.

Datasets (read from ../shared/datasets, skipped when absent):

* ``adult``: UCI Adult, the 32,561 training rows of ``adult.data`` (utility target ``income``);
* ``telco``: IBM Telco customer churn, 7,043 rows (``Churn``; ``customerID`` is dropped by the
  schema as an identifier);
* ``california``: California housing from the Grinsztajn et al. benchmark
  (``reg_num/houses.csv.gz``, 20,640 rows, target ``medianhousevalue``, log): regression utility.

Every model is fitted on the training part of one validation holdout (64 % of the rows) and
judged against the 20 % held-out test rows; privacy compares its rows' distances to the rows it
was fitted on and to the held-out rows. Published anchors use other protocols (TabDDPM, ICLR
2023: CatBoost utility with tuned generators; SDGym): read them as orders of magnitude.

    python bench/generative.py [--datasets adult,telco,california] [--time-budget 600]
                               [--seed 0] [--rows N] [--store DIR] [--out results.json]
                               [--families dummy,copula,...] [--torch-threads N]
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

from mlvsdl import compare
from mlvsdl.evaluate.analysis import load_analysis
from mlvsdl.store import Store

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
FOLDERS = {
    "adult": "adult_census_income",
    "telco": "telco_customer_churn",
    "california": "tabular_benchmark",
}
SCORES = ("quality", "fidelity", "column_distance", "association_difference", "detection_auc")


def adult() -> tuple[pd.DataFrame, str]:
    columns = [
        "age", "workclass", "fnlwgt", "education", "education_num", "marital_status",
        "occupation", "relationship", "race", "sex", "capital_gain", "capital_loss",
        "hours_per_week", "native_country", "income",
    ]  # fmt: skip
    path = DATA / "adult_census_income" / "adult.data.gz"
    frame = pd.read_csv(path, names=columns, skipinitialspace=True, na_values="?")
    return frame, "income"


def telco() -> tuple[pd.DataFrame, str]:
    path = DATA / "telco_customer_churn" / "WA_Fn-UseC_-Telco-Customer-Churn.csv"
    return pd.read_csv(path), "Churn"


def california() -> tuple[pd.DataFrame, str]:
    path = DATA / "tabular_benchmark" / "reg_num" / "houses.csv.gz"
    return pd.read_csv(path), "medianhousevalue"


DATASETS = {"adult": adult, "telco": telco, "california": california}


def run(
    name: str,
    budget: float,
    seed: int,
    store: Store,
    families: list[str] | None,
    rows: int | None,
) -> dict:
    frame, target = DATASETS[name]()
    if rows is not None and rows < len(frame):
        frame = frame.sample(rows, random_state=seed).reset_index(drop=True)
    start = time.perf_counter()
    result = compare(
        frame,
        target,
        task="synthesize",
        time_budget=budget,
        seed=seed,
        store=store.root,
        families=families,
    )
    wall = time.perf_counter() - start
    metrics = store.db.metrics(result.run_id)
    test = {(m["candidate"], m["metric"]): m["value"] for m in metrics if m["split"] == "test"}
    analysis = load_analysis(store, result.run_id) or {}
    found = analysis.get("synth_models") or {}
    privacy = {k: v["privacy"] for k, v in (found.get("models") or {}).items()}
    out_rows = []
    for row in result.leaderboard.to_dict("records"):
        model = row["model"]
        per_1k = row["predict_time_s_per_1k"]
        out_rows.append(
            {
                "model": model,
                "kind": row["kind"],
                "status": row["status"],
                "val_quality": row["val_score"],
                **{f"test_{m}": test.get((model, m)) for m in (*SCORES, "utility_raw")},
                **{f"privacy_{k}": v for k, v in privacy.get(model, {}).items()},
                "fit_s": row["fit_time_s"],
                "rows_per_s": None if not per_1k else 1000 / per_1k,
                "model_bytes": row["model_bytes"],
                "n_train_rows": row["n_train_rows"],
                "note": row["note"],
            }
        )
    return {
        "dataset": name,
        "rows": result.schema.n_rows,
        "target": target,
        "run_id": result.run_id,
        "wall_s": wall,
        "budget_s": budget,
        "train_on_real": found.get("train_on_real"),
        "leaderboard": out_rows,
        "recommendation": (analysis.get("recommendation") or {}).get("model"),
        "analysis_errors": analysis.get("errors"),
    }


def _num(value: object, fmt: str = ".3f") -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    return format(value, fmt)


def show(result: dict) -> None:
    real = result["train_on_real"] or {}
    print(
        f"\n== {result['dataset']}: {result['rows']:,} rows, utility on {result['target']!r}; "
        f"{result['wall_s']:.0f} s for a {result['budget_s']:.0f}-s budget; train-on-real "
        f"{real.get('metric')} {_num(real.get('utility_raw'))}; recommended: "
        f"{result['recommendation']}"
    )
    print(
        f"{'model':<9}{'kind':<5}{'val q':>7}{'qual':>7}{'fid':>7}{'coldist':>8}{'assoc':>7}"
        f"{'detAUC':>7}{'TSTR':>7}{'DCR>tr':>7}{'DCRmed':>8}{'copies':>7}{'fit s':>8}"
        f"{'rows/s':>9}{'KB':>8}  note"
    )
    for r in result["leaderboard"]:
        size = None if r["model_bytes"] is None else r["model_bytes"] / 1024
        print(
            f"{r['model']:<9}{r['kind']:<5}{_num(r['val_quality']):>7}{_num(r['test_quality']):>7}"
            f"{_num(r['test_fidelity']):>7}{_num(r['test_column_distance']):>8}"
            f"{_num(r['test_association_difference']):>7}{_num(r['test_detection_auc']):>7}"
            f"{_num(r['test_utility_raw']):>7}{_num(r.get('privacy_dcr_train_share')):>7}"
            f"{_num(r.get('privacy_dcr_median'), '.4f'):>8}"
            f"{_num(r.get('privacy_exact_copies'), '.0f'):>7}{_num(r['fit_s'], '.1f'):>8}"
            f"{_num(r['rows_per_s'], ',.0f'):>9}{_num(size, ',.0f'):>8}  "
            f"{r['status'] if r['status'] != 'completed' else ''} {r['note'] or ''}"
        )
    if result["analysis_errors"]:
        print("analysis errors:", result["analysis_errors"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="adult,telco,california")
    parser.add_argument("--time-budget", type=float, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", type=int, default=None, help="a seeded sample of the rows")
    parser.add_argument("--store", default=None)
    parser.add_argument("--out", default=None)
    parser.add_argument("--families", default=None, help="comma-separated (default: all)")
    parser.add_argument("--torch-threads", type=int, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    print(machine())
    store = Store(args.store or tempfile.mkdtemp(prefix="mlvsdl-bench-generative-"))
    results = []
    for name in args.datasets.split(","):
        if not (DATA / FOLDERS[name]).exists():
            print(f"skipping {name}: ../shared/datasets is not here")
            continue
        families = args.families.split(",") if args.families else None
        results.append(run(name, args.time_budget, args.seed, store, families, args.rows))
        show(results[-1])
        if args.out:
            Path(args.out).write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
