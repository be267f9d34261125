"""Forecasting: the next ``--horizon`` values of every series, judged by a rolling-origin backtest.

**Split.** The table is sorted by series and time (``data/forecast_options.py``). The last H
points of every series are the test window; before it, K validation windows of H points each
(K stated: by default as many as the shortest series allows, at most 3; ``--cv K`` sets it). Fold
``k`` fits on every point before its window and forecasts the window; the kept model is fitted on
every point before the test window and forecasts it once, after the models were ranked on the
validation windows, as the supervised protocol keeps its test split. A model is given the rows of
its history only (``fit(X, y)``); the rows it forecasts carry the time, the series and the known
covariates, never a value. Windows are counted per series from its own end.

**Answers.** A forecaster's ``predict_intervals(X)`` gives, per row, the forecast, the 80 % and
95 % interval bounds, the step after the series' last fitted time and the series' MASE scale
(``families/forecast/base.py``). A row that is not in a fitted series' future has no forecast
and is not scored.

**Metrics.** MASE (**primary**: the absolute error over the series' in-sample seasonal naive
MAE, with the seasonal period stated in the run's notes; averaged over every forecast point,
which, all series having H points in a window, is the mean of the per-series MASEs), sMAPE
(``200 |y - f| / (|y| + |f|)``, in %, 0 where both are 0: the M3/M4 definition), RMSE and MAE
(pooled over points, in the target's units) and the empirical coverage of the 80 % and 95 %
intervals.

**Outputs.** ``mlvsdl predict RUN --horizon H`` writes the next H rows of every series
(``forecast_run``): the model moved to the whole history (``update``: local models refitted,
global ones reading it with their trained weights), under the input's own series and time column
names, with ``forecast``, ``lower_80``, ``upper_80``, ``lower_95`` and ``upper_95``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.data.split import Splits
from mlvsdl.errors import ConfigError
from mlvsdl.tasks.base import Predictions, TaskSpec
from mlvsdl.types import Schema, Task

__all__ = [
    "FORECAST",
    "ForecastPredictions",
    "ForecastTask",
    "forecast_frame",
    "forecast_metrics",
    "rolling_origin",
]

OUTPUT_COLUMNS = ("forecast", "lower_80", "upper_80", "lower_95", "upper_95")
BOOTSTRAP_RESAMPLES = 50


@dataclass(frozen=True, eq=False)
class ForecastPredictions(Predictions):
    """``values``: the forecasts; the interval bounds, each row's series MASE ``scale``, its
    ``step`` after the series' last fitted time, and its ``series_index`` (-1: not fitted)."""

    lower_80: np.ndarray | None = None
    upper_80: np.ndarray | None = None
    lower_95: np.ndarray | None = None
    upper_95: np.ndarray | None = None
    scale: np.ndarray | None = None
    step: np.ndarray | None = None
    series_index: np.ndarray | None = None

    def take(self, rows: np.ndarray) -> ForecastPredictions:
        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[rows]

        return ForecastPredictions(
            self.values[rows],
            lower_80=pick(self.lower_80),
            upper_80=pick(self.upper_80),
            lower_95=pick(self.lower_95),
            upper_95=pick(self.upper_95),
            scale=pick(self.scale),
            step=pick(self.step),
            series_index=pick(self.series_index),
        )


def rolling_origin(lengths: list[int], horizon: int, windows: int) -> Splits:
    """Test: the last ``horizon`` rows of every series; fold k (earliest first): fit on every
    row before validation window k, validate on its ``horizon`` rows. Rows are sorted by series,
    then time, with ``lengths[i]`` rows in series i."""
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    train_parts, test_parts = [], []
    for start, n in zip(starts, lengths, strict=True):
        train_parts.append(np.arange(start, start + n - horizon))
        test_parts.append(np.arange(start + n - horizon, start + n))
    train = np.concatenate(train_parts)
    position = np.full(int(sum(lengths)), -1)
    position[train] = np.arange(len(train))
    folds = []
    for w in range(windows, 0, -1):  # w windows of the training part still after the origin
        fit, val = [], []
        for start, n in zip(starts, lengths, strict=True):
            origin = start + n - horizon - w * horizon
            fit.append(np.arange(start, origin))
            val.append(np.arange(origin, origin + horizon))
        folds.append((position[np.concatenate(fit)], position[np.concatenate(val)]))
    return Splits(train=train, test=np.concatenate(test_parts), folds=tuple(folds))


def forecast_metrics(
    y: np.ndarray,
    forecast: np.ndarray,
    scale: np.ndarray,
    bounds: dict[str, np.ndarray] | None = None,
) -> dict[str, float]:
    """MASE, sMAPE (%), RMSE, MAE and interval coverage over the points with a forecast."""
    y = np.asarray(y, dtype=np.float64)
    f = np.asarray(forecast, dtype=np.float64)
    ok = np.isfinite(f) & np.isfinite(y)
    if not ok.any():
        return {}
    y, f, s = y[ok], f[ok], np.asarray(scale, dtype=np.float64)[ok]
    error = np.abs(y - f)
    denominator = np.abs(y) + np.abs(f)
    smape = np.where(denominator > 0, 200 * error / np.where(denominator > 0, denominator, 1), 0)
    out = {
        "mase": float(np.mean(error / s)),
        "smape": float(np.mean(smape)),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(error)),
    }
    for level in (80, 95):
        lower = (bounds or {}).get(f"lower_{level}")
        upper = (bounds or {}).get(f"upper_{level}")
        if lower is not None and upper is not None:
            lo, hi = np.asarray(lower)[ok], np.asarray(upper)[ok]
            out[f"coverage_{level}"] = float(np.mean((y >= lo) & (y <= hi)))
    return out


def _final(estimator: Any) -> Any:
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator


class ForecastTask(TaskSpec):
    task = Task.FORECAST
    title = "Forecasting"
    target = "required"
    metrics = ("mase", "smape", "rmse", "mae", "coverage_80", "coverage_95")
    default_metric = "mase"
    answers = ("predict",)
    always_refit = True
    report_sections = (
        "recommendation",
        "leaderboard",
        "backtest",
        "horizon_errors",
        "series_errors",
        "cost",
        "provenance",
    )

    def min_folds(self, schema: Schema) -> int:
        """Every window: a model kept from an earlier window could not forecast the test one
        (the trial keeps a fold's model only once the task's minimum folds are done)."""
        return int(schema.options.get("max_windows", schema.options.get("windows", 1)))

    def fold_count(self, schema: Schema, requested: int | None, planned: int) -> int:
        room = int(schema.options.get("max_windows", schema.options["windows"]))
        if requested is None:
            return int(schema.options["windows"])
        if requested > room:
            raise ConfigError(
                f"--cv {requested} validation windows do not fit the shortest series (at most "
                f"{room} with --horizon {schema.options['horizon']}); use --cv {room} or less."
            )
        return int(requested)

    def split_frame(
        self,
        frame: pd.DataFrame,
        schema: Schema,
        y: np.ndarray | None,
        test_size: float,
        n_folds: int,
        seed: int,
    ) -> Splits:
        o = schema.options
        return rolling_origin(list(o["lengths"]), int(o["horizon"]), n_folds)

    def split(
        self, y: np.ndarray | None, n_rows: int, test_size: float, n_folds: int, seed: int
    ) -> Splits:
        raise ConfigError("a forecast split needs the series' lengths: use split_frame.")

    def predict(self, estimator: Any, X: pd.DataFrame) -> ForecastPredictions:
        out = _final(estimator).predict_intervals(X)
        return ForecastPredictions(
            out["mean"],
            lower_80=out["lower_80"],
            upper_80=out["upper_80"],
            lower_95=out["lower_95"],
            upper_95=out["upper_95"],
            scale=out["scale"],
            step=out["step"],
            series_index=out["series_index"],
        )

    def score(self, y: np.ndarray | None, predictions: Predictions) -> dict[str, float]:
        assert y is not None and isinstance(predictions, ForecastPredictions)
        bounds = {
            k: getattr(predictions, k) for k in ("lower_80", "upper_80", "lower_95", "upper_95")
        }
        return forecast_metrics(y, predictions.values, predictions.scale, bounds)

    def spread(
        self, metric: str, y: np.ndarray | None, predictions: Predictions, seed: int
    ) -> float | None:
        """Standard deviation of the metric over bootstrap resamples of the series."""
        if y is None or not isinstance(predictions, ForecastPredictions):
            return None
        ids = predictions.series_index
        if ids is None:
            return None
        groups = [np.flatnonzero(ids == i) for i in np.unique(ids[ids >= 0])]
        if len(groups) < 2:
            return None
        rng = np.random.default_rng(seed)
        values = []
        for _ in range(BOOTSTRAP_RESAMPLES):
            rows = np.concatenate([groups[i] for i in rng.integers(0, len(groups), len(groups))])
            value = self.score(y[rows], predictions.take(rows)).get(metric)
            if value is not None:
                values.append(value)
        return float(np.std(values)) if values else None

    def output_columns(self, schema: Schema) -> list[str]:
        return list(OUTPUT_COLUMNS)

    def to_frame(self, predictions: Predictions, schema: Schema) -> pd.DataFrame:
        assert isinstance(predictions, ForecastPredictions)
        return pd.DataFrame(
            {
                "forecast": predictions.values,
                "lower_80": predictions.lower_80,
                "upper_80": predictions.upper_80,
                "lower_95": predictions.lower_95,
                "upper_95": predictions.upper_95,
            }
        )

    def to_records(self, predictions: Predictions, schema: Schema) -> list[dict[str, Any]]:
        frame = self.to_frame(predictions, schema)
        return [
            {k: (None if pd.isna(v) else float(v)) for k, v in row.items()}
            for row in frame.to_dict("records")
        ]


def forecast_frame(
    estimator: Any,
    schema: Schema,
    X: pd.DataFrame,
    y: np.ndarray,
    horizon: int,
    future: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The next ``horizon`` rows of every series of the history ``(X, y)``: series and time
    under the input's names, then the forecast and its intervals. ``future`` holds the known
    covariates of those rows when the model uses any."""
    if horizon < 1:
        raise ConfigError(f"--horizon must be a whole number of at least 1, got {horizon}.")
    moved = _final(estimator).update(X, y, horizon)
    rows = moved.future_frame(horizon)
    o = schema.options
    known = list(o.get("known") or ()) if moved.uses_known else []
    if known:
        keys = [k for k in (o.get("series"), o["time"]) if k]
        if future is None or any(k not in future.columns for k in known):
            raise ConfigError(
                f"the model uses the known covariates {known}: add the next {horizon} rows of "
                "every series with their values (and the target left empty) to --history."
            )
        rows = rows.merge(future[keys + known], on=keys, how="left")
        if rows[known].isna().any().any():
            raise ConfigError(
                f"the known covariates {known} are missing for some of the next {horizon} "
                "periods; give every series a row with them for each period."
            )
    out = moved.predict_intervals(rows)
    frame = rows[[c for c in (o.get("series"), o["time"]) if c]].copy()
    frame["forecast"] = out["mean"]
    for key in OUTPUT_COLUMNS[1:]:
        frame[key] = out[key]
    return frame


FORECAST = ForecastTask()


def _register() -> None:
    from mlvsdl.tasks import register_task

    register_task(FORECAST)


_register()
