"""What every forecaster shares: the series it learned, their scales, and answers per row.

A forecaster is a scikit-learn estimator fitted on the rows of a long table (``X``: the time
column, the series column if any, known covariates; ``y``: the values), sorted by series and
time. Fitting records, per series, its last time and its MASE scale (the in-sample mean absolute
error of the seasonal naive forecast), and computes the forecast *paths* from that origin: the
point forecast and the 80 % and 95 % interval bounds for steps 1..H (``_paths``, the subclass's
one duty). ``predict_intervals(X)`` reads each row's step (its position on the series' time grid
after the last fitted time) and answers from those paths; a row at or before the last fitted time
has no forecast (NaN), so a model is never scored on points it was fitted on.

``update(X, y)`` returns a copy of the fitted forecaster moved to a new history (the same series
or others): local models (ETS, Theta, ARIMA, the naive ones) are refitted on it; global models
(LightGBM, the networks) keep their trained weights and read the new history as their input.
``mlvsdl predict RUN --horizon H`` and ``serve``'s ``/forecast`` answer through it.

Intervals: a model with intervals of its own (ETS, ARIMA, Theta from statsmodels) gives them; the
others are conformal: the 80 % and 95 % quantiles of absolute errors, each divided by its series'
scale, measured on forecasts of points the model was not fitted on (``conformal_quantiles``), then
multiplied by each series' scale.

Everything stored is plain (numpy arrays, lists, strings), so ``skops`` loads it with the
project's allowlist.
"""

from __future__ import annotations

import copy
import time as _time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from mlvsdl.errors import ConfigError, DataError

__all__ = [
    "LEVELS",
    "BaseForecaster",
    "Series",
    "conformal_quantiles",
    "mase_scale",
    "naive_errors",
]

LEVELS = (80, 95)
MIN_SERIES_PER_STEP = 20  # series a per-step conformal quantile needs; else pooled over steps
PATH_KEYS = ("mean", "lower_80", "upper_80", "lower_95", "upper_95")


def mase_scale(values: np.ndarray, season: int) -> float:
    """In-sample mean absolute error of the seasonal naive forecast (the naive one when the
    series is shorter than two seasons); 1.0 when the series is constant (no error to scale)."""
    values = np.asarray(values, dtype=np.float64)
    for m in (season, 1):
        if len(values) > m:
            scale = float(np.mean(np.abs(values[m:] - values[:-m])))
            if scale > 0:
                return scale
    return 1.0


def naive_errors(values: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """(origins, horizon) errors of the (seasonal, when ``season`` > 1) naive forecast made at
    every in-sample origin: ``y[t+h] - y[t + h - m*ceil(h/m)]``; NaN where ``t+h`` is past the
    end."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    m = max(season, 1)
    out = np.full((max(n - m, 0), horizon), np.nan)
    for h in range(1, horizon + 1):
        back = m * int(np.ceil(h / m))
        for t in range(m - 1, n - h):
            src = t + h - back
            if src >= 0 and t - (m - 1) < len(out):
                out[t - (m - 1), h - 1] = values[t + h] - values[src]
    return out


def conformal_quantiles(scaled_errors: np.ndarray, horizon: int) -> np.ndarray:
    """(2, horizon): the 80 % and 95 % quantiles of ``|scaled_errors|`` (rows: forecasts, columns:
    steps) per step when each step has ``MIN_SERIES_PER_STEP`` errors, else pooled over steps."""
    errors = np.abs(np.asarray(scaled_errors, dtype=np.float64))
    errors = errors.reshape(-1, errors.shape[-1]) if errors.ndim > 1 else errors[:, None]
    out = np.empty((2, horizon))
    pooled = errors[np.isfinite(errors)]
    for i, level in enumerate(LEVELS):
        q = level / 100
        fallback = float(np.quantile(pooled, q)) if len(pooled) else 1.0
        for h in range(horizon):
            col = errors[:, min(h, errors.shape[1] - 1)]
            col = col[np.isfinite(col)]
            out[i, h] = float(np.quantile(col, q)) if len(col) >= MIN_SERIES_PER_STEP else fallback
    out[1] = np.maximum(out[1], out[0])
    return out


class Series:
    """One series' history: its id, times (as stored: ISO strings or whole steps), values and
    known covariates (a frame, possibly without columns)."""

    def __init__(self, sid: str, times: pd.Series, values: np.ndarray, known: pd.DataFrame):
        self.sid = sid
        self.times = times
        self.values = np.asarray(values, dtype=np.float64)
        self.known = known


class BaseForecaster(BaseEstimator):
    """Shared fitting bookkeeping and per-row answers; a subclass implements ``_fit_series``
    (learn from the histories) and ``_paths`` (forecast paths from each history's end)."""

    def __init__(
        self,
        *,
        time: str = "time",
        series: str | None = None,
        horizon: int = 1,
        season: int = 1,
        freq: str = "step",
        known: tuple[str, ...] = (),
        random_state: int | None = None,
    ) -> None:
        self.time = time
        self.series = series
        self.horizon = horizon
        self.season = season
        self.freq = freq
        self.known = known
        self.random_state = random_state

    @property
    def uses_known(self) -> bool:
        """Whether forecasts read the known covariates of the periods forecast."""
        return False

    # --- subclass hooks -----------------------------------------------------------------------

    def _fit_series(self, histories: list[Series]) -> None:
        """Learn from the histories (a global model trains here; a local one may do nothing)."""

    def _paths(self, histories: list[Series], horizon: int) -> dict[str, np.ndarray]:
        """(len(histories), horizon) arrays for every key of ``PATH_KEYS``."""
        raise NotImplementedError

    def _future_paths(self, histories: list[Series], X: pd.DataFrame) -> dict[str, np.ndarray]:
        """Paths for the rows of ``X`` (a model using known covariates reads them there)."""
        return {k: v for k, v in self.paths_.items()}

    # --- splitting the long table -------------------------------------------------------------

    def _histories(self, X: pd.DataFrame, y: np.ndarray) -> list[Series]:
        if self.time not in X.columns:
            raise DataError(f"the rows have no time column {self.time!r}; give the same columns.")
        frame = X.reset_index(drop=True)
        values = np.asarray(y, dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise DataError("a forecaster was given a missing or infinite value; fill it first.")
        known = [c for c in self.known if c in frame.columns]
        out = []
        for sid, rows in self._groups(frame):
            part = frame.iloc[rows]
            order = np.argsort(self._positions(part[self.time]), kind="stable")
            rows = rows[order]
            part = frame.iloc[rows]
            out.append(
                Series(sid, part[self.time], values[rows], part[known].reset_index(drop=True))
            )
        return out

    def _groups(self, frame: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
        if self.series is None:
            return [("", np.arange(len(frame)))]
        ids = frame[self.series].astype(str).to_numpy()
        codes, uniques = pd.factorize(ids, sort=False)
        return [(str(u), np.flatnonzero(codes == i)) for i, u in enumerate(uniques)]

    def _positions(self, times: pd.Series) -> np.ndarray:
        if self.freq == "step":
            return pd.to_numeric(times).to_numpy(dtype=np.float64)
        return pd.to_datetime(times).to_numpy().astype("datetime64[ns]").astype(np.float64)

    # --- fit ----------------------------------------------------------------------------------

    def fit(self, X: pd.DataFrame, y: Any) -> BaseForecaster:
        start = _time.perf_counter()
        histories = self._histories(X, np.asarray(y))
        self._remember(histories)
        self._fit_series(histories)
        self.paths_ = self._paths(histories, int(self.horizon))
        self.fit_time_s_ = _time.perf_counter() - start
        return self

    def _remember(self, histories: list[Series]) -> None:
        self.series_ids_ = [h.sid for h in histories]
        self.last_time_ = [_stored_time(h.times.iloc[-1]) for h in histories]
        self.scale_ = np.array([mase_scale(h.values, int(self.season)) for h in histories])
        self.n_points_ = [len(h.values) for h in histories]

    def update(self, X: pd.DataFrame, y: Any, horizon: int | None = None) -> BaseForecaster:
        """A copy moved to the history ``(X, y)`` with paths of ``horizon`` steps (default: the
        fitted horizon): local models refit on it, global ones read it with trained weights."""
        check_is_fitted(self, "paths_")
        moved = copy.deepcopy(self)
        histories = moved._histories(X, np.asarray(y))
        moved._remember(histories)
        moved._refresh(histories)
        moved.paths_ = moved._paths(histories, int(horizon or self.horizon))
        return moved

    def _refresh(self, histories: list[Series]) -> None:
        """What ``update`` redoes before the paths: a local model refits (the default)."""
        self._fit_series(histories)

    # --- answers per row ----------------------------------------------------------------------

    def steps(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Each row's series index (-1: a series not fitted) and step after its last fitted time
        (0 or less: not in the future)."""
        check_is_fitted(self, "paths_")
        frame = X.reset_index(drop=True)
        index = {sid: i for i, sid in enumerate(self.series_ids_)}
        which = np.full(len(frame), -1)
        step = np.zeros(len(frame), dtype=np.int64)
        for sid, rows in self._groups(frame):
            i = index.get(sid, -1)
            which[rows] = i
            if i >= 0:
                step[rows] = self._steps_after(self.last_time_[i], frame[self.time].iloc[rows])
        return which, step

    def _steps_after(self, last: Any, times: pd.Series) -> np.ndarray:
        if self.freq == "step":
            return (pd.to_numeric(times).to_numpy() - int(last)).astype(np.int64)
        stamps = pd.DatetimeIndex(pd.to_datetime(times))
        origin = pd.Timestamp(last)
        end = max(stamps.max(), origin)
        grid = pd.date_range(origin, end, freq=self.freq)
        lookup = pd.Series(np.arange(len(grid)), index=grid)
        found = lookup.reindex(stamps).to_numpy(dtype=np.float64)
        return np.where(np.isnan(found), 0, found).astype(np.int64)

    def predict_intervals(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        """Per row: the forecast, the interval bounds (NaN where the row is not within the
        paths: a time already fitted, a series never seen, or past the horizon), its series'
        MASE scale, its step and its series index."""
        which, step = self.steps(X)
        paths = self._future_paths([], X)
        width = next(iter(paths.values())).shape[1]
        ok = (which >= 0) & (step >= 1) & (step <= width)
        out: dict[str, np.ndarray] = {}
        for key in PATH_KEYS:
            values = np.full(len(which), np.nan)
            values[ok] = paths[key][which[ok], step[ok] - 1]
            out[key] = values
        out["scale"] = np.where(which >= 0, self.scale_[np.maximum(which, 0)], np.nan)
        out["step"] = step
        out["series_index"] = which
        return out

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.predict_intervals(X)["mean"]

    def future_frame(self, horizon: int) -> pd.DataFrame:
        """The rows of the next ``horizon`` periods of every fitted series (time and series)."""
        check_is_fitted(self, "paths_")
        if horizon < 1:
            raise ConfigError(f"--horizon must be at least 1, got {horizon}.")
        parts = []
        for sid, last in zip(self.series_ids_, self.last_time_, strict=True):
            if self.freq == "step":
                times: Any = np.arange(int(last) + 1, int(last) + horizon + 1)
            else:
                times = pd.date_range(pd.Timestamp(last), periods=horizon + 1, freq=self.freq)[1:]
            part = pd.DataFrame({self.time: times})
            if self.series is not None:
                part.insert(0, self.series, sid)
            parts.append(part)
        return pd.concat(parts, ignore_index=True)


def _stored_time(value: Any) -> Any:
    """A time as stored in a fitted model: an ISO string, or a whole step."""
    if isinstance(value, pd.Timestamp | np.datetime64):
        return pd.Timestamp(value).isoformat()
    return int(value)


def empty_paths(n: int, horizon: int) -> dict[str, np.ndarray]:
    return {k: np.full((n, horizon), np.nan) for k in PATH_KEYS}


def conformal_paths(
    mean: np.ndarray, scale: np.ndarray, quantiles: np.ndarray
) -> dict[str, np.ndarray]:
    """Point forecasts (n, H) with intervals of ``quantiles`` (2, >= H) times each scale."""
    horizon = mean.shape[1]
    q = quantiles[:, :horizon]
    if q.shape[1] < horizon:  # steps past the calibrated ones take the last step's width
        q = np.concatenate([q, np.repeat(q[:, -1:], horizon - q.shape[1], axis=1)], axis=1)
    out = {"mean": mean}
    for i, level in enumerate(LEVELS):
        width = q[i][None, :] * scale[:, None]
        out[f"lower_{level}"] = mean - width
        out[f"upper_{level}"] = mean + width
    return out
