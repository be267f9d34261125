"""A global LightGBM forecaster: one model for every series and every step (direct strategy).

Each training row is an origin ``t`` of a series and a step ``h`` in 1..H: its features are the
window's last values divided by its level (``windows.py``), the mean and standard deviation of
the last season (or four points), the step ``h``, the step's seasonal naive value (the lag one
season before the target, ``m * ceil(h / m) - h`` before the origin: trees find the interaction of
step and lag position hard to learn), the calendar of the target time (month, week
of year, day of week; for whole steps the position in the season) and the known covariates at
the target time; its target is ``y[t+h]`` divided by the same level. One model answers every
step (direct multi-horizon, the step a feature), so no forecast feeds another.

Training: a first model early-stops (50 rounds, L1 loss) on each series' last window of H points,
which no training row's target reaches; its errors there, each divided by its series' MASE scale,
give the conformal intervals; the kept model is then refitted on every row (the last window
included) for the rounds the first one chose, unless at the first fit's pace that refit would
not finish within ``max_time_s`` (the validated model is then kept: ``refitted_`` False).
Training rows above ``max_rows`` (100,000) are a seeded sample of them. ``max_time_s`` is shared
by the two fits (LightGBM stops on the clock after a round, ``families/ml/lgbm.py``).
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.errors import ConfigError
from mlvsdl.families.forecast.base import (
    BaseForecaster,
    Series,
    conformal_paths,
    conformal_quantiles,
)
from mlvsdl.families.forecast.windows import (
    calendar,
    context_length,
    level_of,
    target_times,
    train_origins,
    window_at,
)
from mlvsdl.families.ml.lgbm import TimedLGBMRegressor

__all__ = ["LGBMForecaster"]


class LGBMForecaster(BaseForecaster):
    """Global LightGBM on lags, rolling statistics, calendar and known covariates."""

    def __init__(
        self,
        *,
        n_estimators: int = 500,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        max_rows: int = 100_000,
        max_time_s: float | None = None,
        n_jobs: int = 1,
        time: str = "time",
        series: str | None = None,
        horizon: int = 1,
        season: int = 1,
        freq: str = "step",
        known: tuple[str, ...] = (),
        random_state: int | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_rows = max_rows
        self.max_time_s = max_time_s
        self.n_jobs = n_jobs
        super().__init__(
            time=time,
            series=series,
            horizon=horizon,
            season=season,
            freq=freq,
            known=known,
            random_state=random_state,
        )

    @property
    def uses_known(self) -> bool:
        return bool(self.known)

    # --- features -----------------------------------------------------------------------------

    def _rows(
        self,
        window: np.ndarray,
        steps: np.ndarray,
        times: Any,
        known: np.ndarray,
    ) -> tuple[np.ndarray, float]:
        """Feature rows for one window and the given steps (target times and known values)."""
        level = level_of(window)
        lags = window / level
        recent = lags[-max(int(self.season), 4) :]
        recent = recent[np.isfinite(recent)]
        stats = [recent.mean(), recent.std()] if len(recent) else [np.nan, np.nan]
        base = np.concatenate([lags, stats])
        cal = calendar(times, self.freq, int(self.season))
        back = self._back(steps)  # points before the window's end of each step's seasonal value
        seasonal = np.where(
            back < len(lags), lags[len(lags) - 1 - np.minimum(back, len(lags) - 1)], np.nan
        )
        rows = np.column_stack(
            [
                np.repeat(base[None, :], len(steps), axis=0),
                steps,
                seasonal,
                cal,
                known.reshape(len(steps), -1),
            ]
        )
        return rows, level

    def _back(self, steps: np.ndarray) -> np.ndarray:
        """For each step h, how far before the origin its seasonal naive value lies:
        ``m * ceil(h / m) - h`` (the last value, ``0``, when there is no season)."""
        m = max(int(self.season), 1)
        return m * np.ceil(steps / m).astype(np.int64) - steps

    def _known_values(self, frame: pd.DataFrame) -> np.ndarray:
        if not self.known:
            return np.zeros((len(frame), 0))
        try:
            return frame[list(self.known)].astype(np.float64).to_numpy()
        except (ValueError, TypeError):
            raise ConfigError(
                f"the known covariates {list(self.known)} must be numbers or booleans; encode "
                "them as numbers."
            ) from None

    def _series_rows(
        self, h: Series, origins: np.ndarray, last_target: int
    ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
        """Feature rows, scaled targets and levels for every (origin, step) of one series whose
        target index is at most ``last_target`` (vectorized over origins and steps)."""
        L, H = self.context_, int(self.horizon)
        if not len(origins):
            return [], [], []
        values = h.values
        padded = np.concatenate([np.full(L - 1, np.nan), values])
        windows = np.lib.stride_tricks.sliding_window_view(padded, L)[origins]  # (O, L)
        observed = np.where(np.isfinite(windows), np.abs(windows), np.nan)
        with np.errstate(invalid="ignore"):
            levels = np.nanmean(observed, axis=1)
        levels = np.where(np.isfinite(levels) & (levels > 0), levels, 1.0)
        lags = windows / levels[:, None]
        recent = lags[:, -max(int(self.season), 4) :]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            stats = np.column_stack([np.nanmean(recent, axis=1), np.nanstd(recent, axis=1)])
        times = pd.DatetimeIndex(h.times) if self.freq != "step" else h.times.to_numpy()
        cal = calendar(times, self.freq, int(self.season))  # (n, 3)
        known = self._known_values(h.known)
        steps = np.arange(1, H + 1)
        o_idx, s_idx = np.meshgrid(np.arange(len(origins)), steps, indexing="ij")
        target = origins[o_idx] + s_idx
        keep = target <= last_target
        o_idx, s_idx, target = o_idx[keep], s_idx[keep], target[keep]
        back = self._back(s_idx)
        seasonal = np.where(back < L, lags[o_idx, L - 1 - np.minimum(back, L - 1)], np.nan)
        X = np.column_stack(
            [
                lags[o_idx],
                stats[o_idx],
                s_idx,
                seasonal,
                cal[target],
                known[target].reshape(len(target), -1),
            ]
        )
        return [X], [values[target] / levels[o_idx]], [levels[o_idx]]

    def _model(self, rounds: int, max_time_s: float | None) -> TimedLGBMRegressor:
        return TimedLGBMRegressor(
            objective="l1",
            n_estimators=rounds,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=20,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
            verbose=-1,
            max_time_s=max_time_s,
        )

    def _fit_series(self, histories: list[Series]) -> None:
        from lightgbm import early_stopping

        start = time.perf_counter()
        H = int(self.horizon)
        self.context_ = context_length(H, int(self.season))
        train_X: list[np.ndarray] = []
        train_y: list[np.ndarray] = []
        all_X: list[np.ndarray] = []
        all_y: list[np.ndarray] = []
        val: list[tuple[np.ndarray, float, np.ndarray, int]] = []  # rows, level, truth, series
        for i, h in enumerate(histories):
            n = len(h.values)
            X, y, _ = self._series_rows(h, train_origins(n, H, False, H), n - 1 - H)
            train_X += X
            train_y += y
            if n - 1 - H >= 3:
                Xv, yv, lv = self._series_rows(h, np.array([n - 1 - H]), n - 1)
                if Xv:
                    val.append((Xv[0], float(lv[0][0]), yv[0] * lv[0], i))
            X, y, _ = self._series_rows(h, train_origins(n, H, False, 0), n - 1)
            all_X += X
            all_y += y
        budget = self.max_time_s
        rounds = self.n_estimators
        self.quantiles_ = None
        first, per_round = None, 0.0
        if train_X and val:
            Xt, yt = self._sample(np.concatenate(train_X), np.concatenate(train_y))
            Xv = np.concatenate([v[0] for v in val])
            yv = np.concatenate([v[2] / v[1] for v in val])
            first = self._model(rounds, None if budget is None else budget / 2)
            began = time.perf_counter()
            first.fit(
                Xt, yt, eval_X=(Xv,), eval_y=(yv,), callbacks=[early_stopping(50, verbose=False)]
            )
            per_round = (time.perf_counter() - began) / max(first.booster_.current_iteration(), 1)
            rounds = max(int(first.best_iteration_ or rounds), 10)
            errors = np.full((len(histories), H), np.nan)
            for rows, level, truth, i in val:
                pred = first.predict(rows) * level
                errors[i, : len(pred)] = (truth - pred) / self.scale_[i]
            self.quantiles_ = conformal_quantiles(errors, H)
        spent = time.perf_counter() - start
        Xa, ya = self._sample(np.concatenate(all_X), np.concatenate(all_y))
        left = None if budget is None else max(budget - spent, 1.0)
        if first is not None and left is not None and per_round * rounds > left:
            # a refit the clock would cut short has fewer trees than the validated model: keep
            # the validated one (fitted on every row but each series' last window)
            self.model_, self.refitted_ = first, False
        else:
            self.model_, self.refitted_ = self._model(rounds, left).fit(Xa, ya), True
        self.rounds_ = rounds
        self.n_train_rows_ = len(ya)
        if self.quantiles_ is None:  # too short for a validation window: the fit's own errors
            fitted = self.model_.predict(Xa)
            self.quantiles_ = conformal_quantiles((ya - fitted)[:, None], H)
        self._keep_context(histories)

    def _refresh(self, histories: list[Series]) -> None:
        self._keep_context(histories)

    def _keep_context(self, histories: list[Series]) -> None:
        self.windows_ = [window_at(h.values, len(h.values) - 1, self.context_) for h in histories]

    def _sample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(y) <= self.max_rows:
            return X, y
        keep = np.sort(
            np.random.default_rng(self.random_state).choice(len(y), self.max_rows, replace=False)
        )
        return X[keep], y[keep]

    # --- forecasts ----------------------------------------------------------------------------

    def _paths(self, histories: list[Series], horizon: int) -> dict[str, np.ndarray]:
        if self.known:  # forecasts need the covariates of the rows asked for (_future_paths)
            return {"mean": np.full((len(self.series_ids_), horizon), np.nan)}
        return self._forecast(horizon, None)

    def _forecast(self, horizon: int, known: np.ndarray | None) -> dict[str, np.ndarray]:
        if horizon > int(self.horizon):
            raise ConfigError(
                f"the LightGBM forecaster was trained for {self.horizon} steps; ask for at most "
                f"{self.horizon}, or run compare with a longer --horizon."
            )
        n = len(self.series_ids_)
        mean = np.empty((n, horizon))
        steps = np.arange(1, horizon + 1)
        for i in range(n):
            times = target_times(self.last_time_[i], self.freq, horizon)
            kv = np.zeros((horizon, 0)) if known is None else known[i]
            rows, level = self._rows(self.windows_[i], steps, times, kv)
            mean[i] = self.model_.predict(rows) * level
        return conformal_paths(mean, self.scale_, self.quantiles_)

    def _future_paths(self, histories: list[Series], X: pd.DataFrame) -> dict[str, np.ndarray]:
        if not self.known:
            return self.paths_
        which, step = self.steps(X)
        H = int(self.horizon)
        values = np.full((len(self.series_ids_), H, len(self.known)), np.nan)
        ok = (which >= 0) & (step >= 1) & (step <= H)
        frame = X.reset_index(drop=True)
        values[which[ok], step[ok] - 1] = self._known_values(frame.loc[ok])
        return self._forecast(H, values)
