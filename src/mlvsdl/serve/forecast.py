"""``POST /forecast`` for a forecasting run: the next periods of one series (or all of them).

The body is JSON: ``{"series": "S1", "horizon": 12}`` forecasts series ``S1`` from the run's own
data (re-read once from its source and checked against the stored fingerprint); with
``"history": [{...}, ...]`` (records with the training columns: time, series, target, known
covariates; rows after the last value with the target empty carry the known covariates of the
periods to forecast) it forecasts from that history instead. Without ``"series"`` every series is
answered. ``horizon`` defaults to the run's. The answer lists, per series, the periods with the
forecast and its 80 % and 95 % intervals. ``/predict`` is not used by forecasting runs.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pandas as pd
from fastapi import FastAPI, Request

from mlvsdl.errors import ConfigError, MlvsdlError
from mlvsdl.serve.model import ServedModel
from mlvsdl.serve.schemas import RequestError
from mlvsdl.store import Store
from mlvsdl.tasks.forecast import forecast_frame
from mlvsdl.tasks.forecast_run import history_from_frame, run_history

__all__ = ["FORECAST_ONLY", "add_forecast_route"]

FORECAST_ONLY = (
    'a forecasting run answers POST /forecast with {"series": ID, "horizon": H} (and an '
    'optional "history" of records); /predict is not used.'
)
MAX_HISTORY_ROWS = 100_000


class _RunHistory:
    """The run's own data, read once on first use (thread-safe)."""

    def __init__(self, served: ServedModel) -> None:
        self.served = served
        self._lock = threading.Lock()
        self._data: tuple[pd.DataFrame, np.ndarray] | None = None

    def get(self) -> tuple[pd.DataFrame, np.ndarray]:
        with self._lock:
            if self._data is None:
                # the store holds runs/<run_id>/report.html: its root is three levels up
                root = self.served.report_path.parents[2] if self.served.report_path else None
                self._data = run_history(Store(root, create=False), self.served.run_id)
            return self._data


def _answer(served: ServedModel, own: _RunHistory, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise RequestError(422, 'send a JSON object: {"series": ID, "horizon": H}.')
    o = served.schema.options
    horizon = body.get("horizon", o["horizon"])
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise RequestError(422, f"horizon must be a whole number of at least 1, got {horizon!r}.")
    future = None
    if body.get("history") is not None:
        records = body["history"]
        if not isinstance(records, list) or not records or len(records) > MAX_HISTORY_ROWS:
            raise RequestError(
                422, f"history must be a list of 1 to {MAX_HISTORY_ROWS} records (objects)."
            )
        X, y, future = history_from_frame(pd.DataFrame.from_records(records), served.schema)
    else:
        X, y = own.get()
    series = o.get("series")
    wanted = body.get("series")
    if wanted is not None and series:
        keep = (X[series].astype(str) == str(wanted)).to_numpy()
        if not keep.any():
            raise RequestError(404, f"no series {wanted!r} in the history; check the id.")
        X, y = X.loc[keep].reset_index(drop=True), y[keep]
        if future is not None:
            future = future[future[series].astype(str) == str(wanted)]
    frame = forecast_frame(served.estimator, served.schema, X, y, horizon, future)
    time = o["time"]
    frame[time] = frame[time].astype(str)
    out: dict[str, list[dict[str, Any]]] = {}
    for record in frame.to_dict("records"):
        sid = str(record.pop(series)) if series else ""
        out.setdefault(sid, []).append(
            {
                k: (float(v) if isinstance(v, int | float | np.floating) else v)
                for k, v in record.items()
            }
        )
    return {
        "model": served.name,
        "horizon": horizon,
        "forecasts": [{"series": sid, "periods": periods} for sid, periods in out.items()],
    }


def add_forecast_route(app: FastAPI, served: ServedModel) -> None:
    own = _RunHistory(served)

    @app.post("/forecast")
    async def forecast(request: Request) -> dict[str, Any]:
        """The next periods of one series (or every series), with 80 % and 95 % intervals."""
        try:
            body = await request.json()
        except ValueError:
            raise RequestError(422, 'the body is not JSON; send {"series": ID}.') from None
        try:
            return _answer(served, own, body)
        except ConfigError as exc:
            raise RequestError(422, str(exc)) from None
        except MlvsdlError as exc:
            raise RequestError(422, str(exc)) from None
