"""The analysis of a forecasting run: the test window as each model forecast it.

Three sections of ``analysis.json``, all on the test window (the last H points of every series,
forecast once by the kept models, which were fitted on every point before it):

* ``backtest`` — for a few series (``PLOTTED_SERIES``, the first in the table), the actuals of
  the last points before the window and of the window, and the forecast with its 80 % interval of
  the best classical model, the best network and the seasonal naive baseline;
* ``horizon_errors`` — every model's MASE and sMAPE by step ahead (1..H);
* ``series_errors`` — every model's MASE per series (the ``SERIES_LISTED`` series where the best
  model does worst, and the mean).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlvsdl.tasks import get_task
from mlvsdl.tasks.forecast import forecast_metrics

__all__ = ["backtest_section", "best_by_kind", "horizon_section", "series_section"]

PLOTTED_SERIES = 4
SERIES_LISTED = 15
HISTORY_SHOWN = 3  # horizons of history drawn before the test window


def best_by_kind(ctx: Any) -> list[str]:
    """The best classical model and the best network (not the baseline), best first."""
    out = []
    for kind in ("ml", "dl"):
        found = next(
            (c["name"] for c in ctx.ranked() if c["kind"] == kind and c["family"] != "dummy"),
            None,
        )
        if found is not None:
            out.append(found)
    return out


def _test_predictions(ctx: Any, name: str) -> Any:
    test = ctx.data.splits.test
    return get_task(ctx.data.schema.task).predict(ctx.model(name), ctx.data.X.iloc[test])


def _series_ids(ctx: Any) -> np.ndarray:
    series = ctx.data.schema.options.get("series")
    X = ctx.data.X
    return X[series].astype(str).to_numpy() if series else np.full(len(X), "")


def backtest_section(ctx: Any) -> dict[str, Any]:
    o = ctx.data.schema.options
    horizon, time_col = int(o["horizon"]), o["time"]
    ids = _series_ids(ctx)
    test = ctx.data.splits.test
    names = best_by_kind(ctx)
    baseline = next((c["name"] for c in ctx.done if c["family"] == "dummy"), None)
    shown = [*names, *([baseline] if baseline else [])]
    answers = {name: _test_predictions(ctx, name) for name in shown}
    plotted = list(dict.fromkeys(ids[test]))[:PLOTTED_SERIES]
    series_out = []
    for sid in plotted:
        rows = np.flatnonzero(ids == sid)
        window = np.flatnonzero(ids[test] == sid)
        history = rows[(rows < test[window].min())][-HISTORY_SHOWN * horizon :]
        entry: dict[str, Any] = {
            "series": sid,
            "history_time": [str(t) for t in ctx.data.X[time_col].iloc[history]],
            "history": ctx.data.y[history].astype(float).tolist(),
            "time": [str(t) for t in ctx.data.X[time_col].iloc[test[window]]],
            "actual": ctx.data.y[test[window]].astype(float).tolist(),
            "forecasts": {},
        }
        for name, p in answers.items():
            entry["forecasts"][name] = {
                "kind": next(c["kind"] for c in ctx.done if c["name"] == name),
                "forecast": p.values[window].astype(float).tolist(),
                "lower_80": p.lower_80[window].astype(float).tolist(),
                "upper_80": p.upper_80[window].astype(float).tolist(),
            }
        series_out.append(entry)
    return {"models": shown, "baseline": baseline, "series": series_out, "horizon": horizon}


def horizon_section(ctx: Any) -> dict[str, Any]:
    y = ctx.data.y[ctx.data.splits.test]
    out: dict[str, Any] = {}
    for cand in ctx.done:
        p = _test_predictions(ctx, cand["name"])
        steps = np.asarray(p.step)
        by_step = {}
        for h in np.unique(steps[steps >= 1]):
            rows = np.flatnonzero(steps == h)
            scores = forecast_metrics(y[rows], p.values[rows], p.scale[rows])
            by_step[int(h)] = {k: scores.get(k) for k in ("mase", "smape")}
        out[cand["name"]] = {"kind": cand["kind"], "steps": by_step}
    return {"models": out, "split": "test"}


def series_section(ctx: Any) -> dict[str, Any]:
    y = ctx.data.y[ctx.data.splits.test]
    ids = _series_ids(ctx)[ctx.data.splits.test]
    unique = list(dict.fromkeys(ids))
    per_model: dict[str, dict[str, float]] = {}
    for cand in ctx.done:
        p = _test_predictions(ctx, cand["name"])
        scores = {}
        for sid in unique:
            rows = np.flatnonzero(ids == sid)
            scores[sid] = forecast_metrics(y[rows], p.values[rows], p.scale[rows]).get("mase")
        per_model[cand["name"]] = scores
    ranked = ctx.ranked()
    best = next((c["name"] for c in ranked if c["family"] != "dummy"), None)
    listed = unique
    if best is not None:
        worst = sorted(unique, key=lambda s: -(per_model[best].get(s) or 0.0))
        listed = worst[:SERIES_LISTED]
    return {
        "best": best,
        "n_series": len(unique),
        "series": listed,
        "mase": {name: {s: scores[s] for s in listed} for name, scores in per_model.items()},
        "kinds": {c["name"]: c["kind"] for c in ctx.done},
    }
