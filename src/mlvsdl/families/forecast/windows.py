"""Windows over series for the global models (LightGBM and the networks).

A window at origin ``t`` of a series holds its last ``length`` values up to and including ``t``
(left-padded with NaN where the series is shorter), divided by the window's *level*, the mean
absolute value of its observed points (1 where that is 0), so that series of any size share one
model; the targets ``y[t+1..t+H]`` are divided by the same level, and forecasts multiplied back.

``origins(n, horizon, ...)`` lists the origins a series of ``n`` points gives for training and
for the temporal validation window (the last ``horizon`` points, whose targets no training window
reaches), so early stopping and the conformal intervals are measured on points not trained on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "MIN_CONTEXT",
    "calendar",
    "context_length",
    "level_of",
    "target_times",
    "window_at",
]

MIN_CONTEXT = 4  # points a training window has at least
MAX_CONTEXT = 120


def context_length(horizon: int, season: int) -> int:
    """Points a window holds: two seasons and two horizons, at least 8, at most 120."""
    return int(min(max(2 * season, 2 * horizon, 8), MAX_CONTEXT))


def window_at(values: np.ndarray, t: int, length: int) -> np.ndarray:
    """``values[t-length+1 .. t]``, left-padded with NaN."""
    start = t - length + 1
    if start >= 0:
        return values[start : t + 1].astype(np.float64)
    return np.concatenate([np.full(-start, np.nan), values[: t + 1]])


def level_of(window: np.ndarray) -> float:
    observed = np.abs(window[np.isfinite(window)])
    level = float(observed.mean()) if len(observed) else 1.0
    return level if level > 0 else 1.0


def train_origins(n: int, horizon: int, full: bool, exclude_last: int) -> np.ndarray:
    """Origins with at least ``MIN_CONTEXT`` points whose targets stay before the last
    ``exclude_last`` points (``full``: all ``horizon`` targets inside, else at least one)."""
    last = n - 1 - exclude_last - (horizon if full else 1)
    return np.arange(MIN_CONTEXT - 1, last + 1)


def target_times(last: str | int, freq: str, horizon: int) -> pd.DatetimeIndex | np.ndarray:
    """The times of steps 1..horizon after ``last``."""
    if freq == "step":
        return np.arange(int(last) + 1, int(last) + horizon + 1)
    return pd.date_range(pd.Timestamp(last), periods=horizon + 1, freq=freq)[1:]


def calendar(times: pd.DatetimeIndex | np.ndarray, freq: str, season: int) -> np.ndarray:
    """Calendar features of target times: (n, 3) month, week of year, day of week (NaN where the
    frequency has none); for whole steps, the position in the season."""
    if freq == "step" or not isinstance(times, pd.DatetimeIndex):
        pos = np.asarray(times, dtype=np.float64) % max(season, 1) if season > 1 else None
        out = np.full((len(times), 3), np.nan)
        if pos is not None:
            out[:, 0] = pos
        return out
    return np.column_stack(
        [
            times.month.to_numpy(dtype=np.float64),
            times.isocalendar().week.to_numpy(dtype=np.float64),
            times.day_of_week.to_numpy(dtype=np.float64),
        ]
    )
