"""Forecasting the future with a stored run: ``mlvsdl predict RUN --horizon H [--history F]``
and ``serve``'s ``/forecast``.

The history is the run's own data, re-read from its source with the run's options (and refused
if the file changed: ``evaluate/rundata.py``), or a file or frame the user gives with the same
columns (``--history``): its rows with a value are the history; rows after a series' last value
with the target left empty carry the known covariates of the periods to forecast. The model is
moved to that history (``BaseForecaster.update``) and forecasts the next H periods of every
series in it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.data.forecast_options import check_forecast_frame
from mlvsdl.data.load import normalize_columns
from mlvsdl.data.media import read_inputs
from mlvsdl.errors import ConfigError, DataError, SchemaMismatchError
from mlvsdl.tasks.forecast import forecast_frame
from mlvsdl.types import Schema, Task

__all__ = ["forecast_run", "history_from_frame", "predict_forecast", "run_history"]


def history_from_frame(
    frame: pd.DataFrame, schema: Schema
) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame | None]:
    """The history ``(X, y)`` in a frame with the training columns, sorted by series and time,
    and the rows to forecast that carry known covariates (target empty), if any."""
    o = schema.options
    time, series, target = o["time"], o.get("series"), str(schema.target)
    frame, _ = normalize_columns(frame.copy(deep=False), "the history")
    needed = [c for c in (time, series, target, *(o.get("known") or ())) if c]
    lacking = [c for c in needed if c not in frame.columns]
    if time == "step" and "step" in lacking and target in frame.columns:
        frame = frame.assign(step=np.arange(len(frame)))  # one series given as a value column
        lacking.remove("step")
    if lacking:
        raise SchemaMismatchError(
            f"the history lacks column(s) {lacking}; give it the training columns "
            f"({', '.join(needed)})."
        )
    frame = frame[needed].copy()
    if o["freq"] == "step":
        frame[time] = pd.to_numeric(frame[time], errors="coerce")
    else:
        frame[time] = pd.to_datetime(
            frame[time].astype(str),
            errors="coerce",
            format="mixed",
            dayfirst=bool(o.get("dayfirst", False)),
        )
    if frame[time].isna().any():
        raise DataError(f"the history's time column {time!r} has empty or unreadable values.")
    if series:
        frame[series] = frame[series].astype(str)
    frame[target] = pd.to_numeric(frame[target], errors="coerce")
    frame = frame.sort_values([c for c in (series, time) if c], kind="stable")
    frame = frame.reset_index(drop=True)
    observed = frame[frame[target].notna()].reset_index(drop=True)
    future = frame[frame[target].isna()].reset_index(drop=True)
    if observed.empty:
        raise DataError("the history has no values of the target; give the series' past values.")
    check_forecast_frame(observed, time, series, str(o["freq"]))
    X = observed.drop(columns=[target])
    return X, observed[target].to_numpy(dtype=np.float64), (future if len(future) else None)


def run_history(store: Any, run_id: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The run's whole data (every point, the test window included), re-read from its source."""
    from mlvsdl.evaluate.rundata import load_run_data

    data = load_run_data(store, run_id)
    return data.X, np.asarray(data.y, dtype=np.float64)


def forecast_run(
    result: Any,
    horizon: int,
    history: Any = None,
    model: str | None = None,
    **read_options: Any,
) -> pd.DataFrame:
    """The next ``horizon`` rows of every series for a forecasting run (``CompareResult``)."""
    if result.schema.task is not Task.FORECAST:
        raise ConfigError(
            f"--horizon is for forecasting runs; run {result.run_id} is a {result.schema.task} "
            "run: predict rows with 'mlvsdl predict RUN DATA'."
        )
    name = model or result.best_model_name
    if name not in result.models:
        raise ConfigError(
            f"run {result.run_id} has no model {name!r}; choose one of: {', '.join(result.models)}."
        )
    future = None
    if history is None:
        from mlvsdl.store import Store

        X, y = run_history(Store(result.store, create=False), result.run_id)
    else:
        frame = history if isinstance(history, pd.DataFrame) else None
        if frame is None:
            frame = read_inputs(history, **read_options).frame
        X, y, future = history_from_frame(frame, result.schema)
    return forecast_frame(result.models[name], result.schema, X, y, int(horizon), future)


def predict_forecast(
    result: Any,
    data: Any,
    horizon: int | None,
    history: Any,
    model: str | None,
    read_options: dict[str, Any],
) -> pd.DataFrame:
    """``mlvsdl predict RUN --horizon H [--history F]``: its options checked, then the forecast."""
    if horizon is None:
        raise ConfigError("--history goes with --horizon H: how many periods to forecast.")
    if data is not None:
        raise ConfigError(
            "give either DATA (rows to predict) or --horizon H (a forecast), not both; pass the "
            "series' history with --history."
        )
    options = {k: v for k, v in read_options.items() if k != "on_bad_file" and v is not None}
    return forecast_run(result, horizon, history, model, **options)
