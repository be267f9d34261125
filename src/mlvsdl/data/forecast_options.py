"""The options of ``--task forecast``, checked before anything is stored.

A forecasting table is long: one row per series and time (``--time``), the value to forecast
(``--target``), an optional series id (``--series``; without it the table is one series) and
optional covariates known in advance (``--known COL,...``: holidays, prices). A table with one
value column and no time column is read as a single series at steps 0, 1, 2, ...

Checked here, each as a one-line error: the time column exists and parses (datetimes, or whole
numbers as steps), no series has a duplicated time, no series has a gap in its time grid, the
horizon is a whole number >= 1 and every series is long enough for the backtest. The frame comes
back sorted by series and time, with the time column parsed; columns that are neither the time,
the series, the target nor a known covariate are left out (with a note: lagged covariates are
not built).

The frequency is inferred from the time column (``pandas.infer_freq``, the most common one over
the series) and stated; the seasonal period follows from it (``SEASON``).
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.errors import ConfigError, DataError
from mlvsdl.types import Task

__all__ = [
    "MAX_WINDOWS",
    "check_forecast_frame",
    "forecast_options",
    "min_train_length",
    "refuse_forecast_options",
    "season_of",
]

MAX_WINDOWS = 3  # validation windows (forecast origins before the test's) by default, at most
STEP_FREQ = "step"  # the frequency of a time column of whole numbers

# The seasonal period of each frequency (its first letters, as pandas names it).
SEASON = {"Y": 1, "A": 1, "Q": 4, "M": 12, "W": 52, "D": 7, "B": 5, "h": 24, "H": 24}


def season_of(freq: str) -> int:
    """The seasonal period of ``freq`` (1 when it has none we know)."""
    if freq == STEP_FREQ:
        return 1
    for prefix in ("ME", "MS", "QE", "QS", "YE", "YS", "BME", "BMS"):
        if freq.startswith(prefix):
            return SEASON[prefix[0] if prefix[0] != "B" else prefix[1]]
    return SEASON.get(freq[:1], 1)


def min_train_length(horizon: int, season: int) -> int:
    """The shortest history a model is fitted on: the horizon, and at least 8 points (seasonal
    models need two seasons and fall back to their non-seasonal form on a shorter history)."""
    return max(horizon, 8)


def refuse_forecast_options(task: Task | None, **given: Any) -> None:
    """``--time``, ``--series``, ``--horizon`` and ``--known`` belong to ``--task forecast``."""
    named = [f"--{k}" for k, v in given.items() if v is not None and v != ()]
    if named:
        raise ConfigError(
            f"{', '.join(named)} belong(s) to --task forecast, not to the "
            f"{task or 'prediction'} task; leave them out or pass --task forecast."
        )


def _check_horizon(horizon: Any) -> int:
    if horizon is None:
        raise ConfigError("--task forecast needs --horizon H: how many steps ahead to forecast.")
    if isinstance(horizon, bool) or not isinstance(horizon, Integral) or horizon < 1:
        raise ConfigError(
            f"--horizon must be a whole number of steps of at least 1, got {horizon!r}; e.g. 12 "
            "for a year of monthly values."
        )
    return int(horizon)


def _parse_time(values: pd.Series, name: str, dayfirst: bool = False) -> pd.Series:
    """Datetimes, or whole numbers (steps); a one-line error naming a bad value."""
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise DataError(f"the time column {name!r} is empty at row {row}; fill or drop that row.")
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        if not np.allclose(numeric, np.round(numeric)):
            raise DataError(
                f"the time column {name!r} has numbers that are not whole steps; give dates or "
                "whole numbers (0, 1, 2, ...)."
            )
        return numeric.round().astype(np.int64)
    parsed = pd.to_datetime(values.astype(str), errors="coerce", format="mixed", dayfirst=dayfirst)
    if parsed.isna().any():
        bad = values[parsed.isna()].iloc[0]
        raise DataError(
            f"the time column {name!r} has a value that is not a date: {bad!r}; give dates "
            "(e.g. 2024-01-31) or whole numbers."
        )
    return parsed


def _infer_freq(frame: pd.DataFrame, time: str, series: str | None) -> str:
    times = frame[time]
    if not pd.api.types.is_datetime64_any_dtype(times):
        return STEP_FREQ
    groups = [g for _, g in frame.groupby(series, sort=False)[time]] if series else [times]
    found: dict[str, int] = {}
    for g in groups[:200]:
        if len(g) >= 3:
            with pd.option_context("future.infer_freq_returns_offset", True):
                offset = pd.infer_freq(pd.DatetimeIndex(g))
            freq = None if offset is None else str(getattr(offset, "freqstr", offset))
            if freq is not None:
                found[freq] = found.get(freq, 0) + 1
    if not found:
        raise DataError(
            f"no regular frequency found in the time column {time!r} (irregular or missing "
            "periods); give evenly spaced dates, one row per period."
        )
    return max(found, key=lambda f: found[f])


def _grid_positions(times: pd.Series, freq: str) -> np.ndarray:
    """Each time's position on the frequency's grid, counted from the series' first time."""
    if freq == STEP_FREQ:
        return (times - times.iloc[0]).to_numpy()
    grid = pd.date_range(times.iloc[0], times.iloc[-1], freq=freq)
    lookup = pd.Series(np.arange(len(grid)), index=grid)
    return lookup.reindex(pd.DatetimeIndex(times)).to_numpy(dtype=float)


def check_forecast_frame(
    frame: pd.DataFrame, time: str, series: str | None, freq: str
) -> list[int]:
    """Per-series checks (duplicated times, gaps, times off the grid); returns the lengths."""
    lengths = []
    groups = frame.groupby(series, sort=False)[time] if series else [(None, frame[time])]
    for sid, times in groups:
        label = f"series {sid!r}" if series else "the series"
        duplicated = times.duplicated()
        if duplicated.any():
            raise DataError(
                f"{label} has the time {times[duplicated].iloc[0]} more than once; keep one row "
                "per time (aggregate the duplicates first)."
            )
        positions = _grid_positions(times.reset_index(drop=True), freq)
        if np.isnan(positions).any() or not np.array_equal(positions, np.arange(len(times))):
            n_missing = (
                int(np.nanmax(positions)) + 1 - len(times) if not np.isnan(positions).all() else 0
            )
            raise DataError(
                f"{label} has gaps in its {freq} time grid ({max(n_missing, 1)} missing or "
                "off-grid period(s)); fill the missing periods (e.g. with 0 or an interpolated "
                "value) so there is one row per period."
            )
        lengths.append(len(times))
    return lengths


def forecast_options(
    frame: pd.DataFrame,
    target: str | None,
    time: str | None,
    series: str | None,
    horizon: Any,
    known: tuple[str, ...] | list[str] | None,
) -> tuple[pd.DataFrame, Task, dict[str, Any], str, list[str]]:
    """The sorted frame, task, options, excluded column (the target) and notes."""
    notes: list[str] = []
    h = _check_horizon(horizon)
    if target is None:
        numeric = [
            c for c in frame.columns if c != time and pd.api.types.is_numeric_dtype(frame[c])
        ]
        if len(frame.columns) == 1 and numeric:
            target = numeric[0]
        else:
            raise ConfigError("--task forecast needs --target COLUMN: the value to forecast.")
    if target not in frame.columns:
        raise ConfigError(f"unknown target {target!r}; the columns are {list(frame.columns)}.")
    frame = frame.copy()
    if time is None:
        if len(frame.columns) > 1 or series is not None:
            raise ConfigError(
                "--task forecast needs --time COLUMN (the time of each row) for a table with "
                "more than one column."
            )
        time = "step"
        frame[time] = np.arange(len(frame))
        notes.append("no --time column: the rows are read as one series at steps 0, 1, 2, ...")
    for name, role in ((time, "--time"), (series, "--series")):
        if name is not None and name not in frame.columns:
            raise ConfigError(
                f"{role} {name!r} is not a column; the columns are {list(frame.columns)}."
            )
    known = tuple(known or ())
    for name in known:
        if name not in frame.columns or name in (time, series, target):
            raise ConfigError(
                f"--known {name!r} is not a covariate column; name columns other than the time, "
                "series and target."
            )
    y = pd.to_numeric(frame[target], errors="coerce")
    if y.isna().any():
        row = int(np.flatnonzero(y.isna().to_numpy())[0])
        raise DataError(
            f"the target {target!r} is missing or not a number at row {row}; fill the value (a "
            "forecast needs one per period) or drop the series."
        )
    frame[target] = y.astype(np.float64)
    raw_times = frame[time]
    frame[time] = _parse_time(raw_times, time)
    textual = not (pd.api.types.is_numeric_dtype(raw_times) or raw_times.dtype.kind == "M")
    left_out = [c for c in frame.columns if c not in (time, series, target, *known)]
    if left_out:
        notes.append(
            f"column(s) {', '.join(map(repr, left_out))} left out: only --known covariates "
            "(known in advance) are used; lagged covariates are not built"
        )
        frame = frame.drop(columns=left_out)
    if series is not None:
        frame[series] = frame[series].astype(str)
    order = [series, time] if series else [time]
    unsorted = frame
    frame = unsorted.sort_values(order, kind="stable").reset_index(drop=True)
    dayfirst = False
    try:
        freq = _infer_freq(frame, time, series)
    except DataError:  # 05-02-2010 read month first is irregular: try the day first
        if not textual:
            raise
        unsorted[time] = _parse_time(raw_times, time, dayfirst=True)
        frame = unsorted.sort_values(order, kind="stable").reset_index(drop=True)
        freq = _infer_freq(frame, time, series)
        dayfirst = True
        notes.append(f"the dates in {time!r} are read day first (DD-MM-YYYY)")
    lengths = check_forecast_frame(frame, time, series, freq)
    season = season_of(freq)
    shortest = min(lengths)
    need = min_train_length(h, season)
    room = (shortest - need) // h - 1  # validation windows the shortest series allows
    if room < 1:
        short = _shortest_name(frame, series, lengths)
        raise DataError(
            f"{short} has {shortest} points; the backtest needs {need + 2 * h} (a history of "
            f"{need}, a validation and a test window of --horizon {h}); lower --horizon or drop "
            "the short series."
        )
    k = min(room, MAX_WINDOWS)
    notes.append(
        f"forecast: frequency {freq}, seasonal period {season} (MASE's scale), horizon {h}; "
        f"rolling-origin backtest: the last {h} points of each series are the test window, "
        f"before them {k} validation window(s) by default (--cv sets it, at most {room})"
    )
    options = {
        "time": time,
        "series": series,
        "horizon": h,
        "known": list(known),
        "freq": freq,
        "dayfirst": dayfirst,
        "season": season,
        "windows": k,
        "max_windows": room,
        "lengths": lengths,
    }
    return frame, Task.FORECAST, options, target, notes


def _shortest_name(frame: pd.DataFrame, series: str | None, lengths: list[int]) -> str:
    if series is None:
        return "the series"
    names = frame[series].drop_duplicates().tolist()
    return f"series {names[int(np.argmin(lengths))]!r}"
