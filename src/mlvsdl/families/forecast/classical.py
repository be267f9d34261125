"""Local forecasters: the naive baselines and statsmodels' ETS, Theta and ARIMA, one per series.

* ``NaiveForecaster`` — the last value (``seasonal=False``) or the value one season back
  (seasonal naive, the run's baseline): intervals are conformal on the in-sample errors of the
  same rule at every origin of every series.
* ``StatsForecaster(method=...)`` — statsmodels, fitted on each series alone:
  ``"ets"``: ``ETSModel`` with additive errors, chosen by AICc among no trend and a damped
  additive trend (``ETS_TRENDS``), each with and without an additive season (the season only
  when the series holds two whole seasons): an automatic ETS as Hyndman et al. (2008) select
  it, over this additive-error subset; intervals from the model (``get_prediction``).
  ``"theta"``: ``ThetaModel`` (Assimakopoulos & Nikolopoulos 2000, as Hyndman & Billah 2003
  write it), deseasonalized by a classical multiplicative decomposition when the series is
  seasonal by statsmodels' test; its interval formula (see ``_theta``).
  ``"arima"``: ``ARIMA`` with the differencing chosen by KPSS tests (``d`` up to 2; one seasonal
  difference when the seasonal-difference's variance is lower), then the (p, q) of lowest AICc
  over a small grid (``ARIMA_ORDERS``, with a seasonal MA(1) term when seasonally
  differenced); its own intervals.

``statsforecast`` (Nixtla) is the faster standard, but its 2.1 release requires pandas < 3 and
this project resolves pandas 3.1, so the models come from statsmodels, which the field equally
trusts. Each series is fitted on its own; the fits stop at ``max_time_s``: the series left fall
back to the seasonal naive forecast and ``n_fallback_`` counts them (``fallback_reasons_`` says
why, also for a series a model failed on).
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mlvsdl.families.forecast.base import (
    BaseForecaster,
    Series,
    conformal_paths,
    conformal_quantiles,
    empty_paths,
    naive_errors,
)

__all__ = ["NaiveForecaster", "StatsForecaster", "naive_path"]

# The (p, q) orders ARIMA chooses among by AICc: a small grid, as a full stepwise search takes
# seconds a series with statsmodels (0.3 s a fit on 108 monthly points).
ARIMA_ORDERS = ((0, 0), (1, 0), (0, 1), (1, 1), (2, 1))
# The trends ETS chooses among (with and without a season): none and damped additive, the usual
# winners on monthly data (Gardner 2006); the undamped trend adds a third of the time.
ETS_TRENDS = ((None, False), ("add", True))


def naive_path(values: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """The (seasonal) naive forecast of ``values`` for steps 1..horizon."""
    values = np.asarray(values, dtype=np.float64)
    m = season if season > 1 and len(values) >= season else 1
    steps = np.arange(1, horizon + 1)
    back = m * np.ceil(steps / m).astype(int)
    return values[len(values) - back + steps - 1]


class NaiveForecaster(BaseForecaster):
    """The last value, or the value one season back (``seasonal=True``)."""

    def __init__(
        self,
        *,
        seasonal: bool = True,
        time: str = "time",
        series: str | None = None,
        horizon: int = 1,
        season: int = 1,
        freq: str = "step",
        known: tuple[str, ...] = (),
        random_state: int | None = None,
    ) -> None:
        self.seasonal = seasonal
        super().__init__(
            time=time,
            series=series,
            horizon=horizon,
            season=season,
            freq=freq,
            known=known,
            random_state=random_state,
        )

    def _season(self) -> int:
        return int(self.season) if self.seasonal else 1

    def _fit_series(self, histories: list[Series]) -> None:
        m = self._season()
        errors = [
            naive_errors(h.values, int(self.horizon), m if len(h.values) > m else 1) / scale
            for h, scale in zip(histories, self.scale_, strict=True)
        ]
        stacked = np.concatenate([e for e in errors if len(e)] or [np.full((1, 1), np.nan)])
        self.quantiles_ = conformal_quantiles(stacked, int(self.horizon))

    def _refresh(self, histories: list[Series]) -> None:
        """Moving to a new history keeps the calibrated widths (the rule has nothing to fit)."""

    def _paths(self, histories: list[Series], horizon: int) -> dict[str, np.ndarray]:
        mean = np.stack([naive_path(h.values, horizon, self._season()) for h in histories])
        return conformal_paths(mean, self.scale_, self.quantiles_)


class StatsForecaster(BaseForecaster):
    """One statsmodels model per series (``method``: ets, theta or arima); see the module."""

    def __init__(
        self,
        *,
        method: str = "ets",
        max_time_s: float | None = None,
        time: str = "time",
        series: str | None = None,
        horizon: int = 1,
        season: int = 1,
        freq: str = "step",
        known: tuple[str, ...] = (),
        random_state: int | None = None,
    ) -> None:
        self.method = method
        self.max_time_s = max_time_s
        super().__init__(
            time=time,
            series=series,
            horizon=horizon,
            season=season,
            freq=freq,
            known=known,
            random_state=random_state,
        )

    def _paths(self, histories: list[Series], horizon: int) -> dict[str, np.ndarray]:
        fit = {"ets": _ets, "theta": _theta, "arima": _arima}[self.method]
        out = empty_paths(len(histories), horizon)
        deadline = math.inf if self.max_time_s is None else time.perf_counter() + self.max_time_s
        reasons: dict[str, int] = {}
        for i, h in enumerate(histories):
            path = None
            if time.perf_counter() < deadline:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        path = fit(h.values, horizon, int(self.season))
                    if not all(np.all(np.isfinite(v)) for v in path.values()):
                        path, why = None, "non-finite forecast"
                except Exception as exc:  # a series the model cannot fit: the baseline's answer
                    why = type(exc).__name__
            else:
                why = "time limit"
            if path is None:
                reasons[why] = reasons.get(why, 0) + 1
                path = _naive_with_spread(h.values, horizon, int(self.season))
            for key, values in path.items():
                out[key][i] = values
        self.n_fallback_ = int(sum(reasons.values()))
        self.fallback_reasons_ = reasons
        return out


def _naive_with_spread(values: np.ndarray, horizon: int, season: int) -> dict[str, np.ndarray]:
    """The seasonal naive path with conformal intervals from this series' own naive errors."""
    m = season if len(values) > 2 * season else 1
    mean = naive_path(values, horizon, m)
    errors = naive_errors(values, horizon, m)
    q = conformal_quantiles(errors if len(errors) else np.ones((1, horizon)), horizon)
    return {k: v[0] for k, v in conformal_paths(mean[None, :], np.ones(1), q).items()}


def _bounds(mean: np.ndarray, frames: dict[int, Any]) -> dict[str, np.ndarray]:
    out = {"mean": np.asarray(mean, dtype=np.float64)}
    for level, (lower, upper) in frames.items():
        out[f"lower_{level}"] = np.asarray(lower, dtype=np.float64)
        out[f"upper_{level}"] = np.asarray(upper, dtype=np.float64)
    return out


def _aicc(result: Any) -> float:
    value = getattr(result, "aicc", None)
    return float(value) if value is not None and np.isfinite(value) else float(result.aic)


def _ets(values: np.ndarray, horizon: int, season: int) -> dict[str, np.ndarray]:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    seasonal = season > 1 and len(values) >= 2 * season + 2
    best, best_score = None, math.inf
    for trend, damped in ETS_TRENDS:
        for kind in ("add", None) if seasonal else (None,):
            model = ETSModel(
                pd.Series(values),
                error="add",
                trend=trend,
                damped_trend=damped,
                seasonal=kind,
                seasonal_periods=season if kind else None,
            )
            result = model.fit(disp=False, maxiter=200)
            score = _aicc(result)
            if np.isfinite(score) and score < best_score:
                best, best_score = result, score
    if best is None:
        raise ValueError("no ETS model converged")
    prediction = best.get_prediction(start=len(values), end=len(values) + horizon - 1)
    frames = {}
    for level in (80, 95):
        frame = prediction.summary_frame(alpha=1 - level / 100)
        frames[level] = (frame["pi_lower"].to_numpy(), frame["pi_upper"].to_numpy())
    return _bounds(prediction.predicted_mean, frames)


def _theta(values: np.ndarray, horizon: int, season: int) -> dict[str, np.ndarray]:
    from statsmodels.tsa.forecasting.theta import ThetaModel

    seasonal = season > 1 and len(values) >= 2 * season
    positive = bool(np.all(values > 0))
    model = ThetaModel(
        values,
        period=season if seasonal else 1,
        deseasonalize=seasonal and positive,
        method="auto",
    )
    result = model.fit()
    mean = np.asarray(result.forecast(horizon))
    # statsmodels' interval: sigma2 * (1 + (h-1)(1 + (alpha-1)^2)), its sigma2 from an
    # ARIMA(0,1,1) fit (0.7 s a series); here the one-step error variance of simple exponential
    # smoothing with the model's alpha, which that ARIMA is equivalent to, computed directly.
    alpha = float(result.params["alpha"])
    sigma2 = _ses_error_variance(values, alpha)
    spread = np.sqrt((1 + np.arange(horizon) * (1 + (alpha - 1) ** 2)) * sigma2)
    frames = {}
    for level in (80, 95):
        z = float(stats.norm.ppf(0.5 + level / 200))
        frames[level] = (mean - z * spread, mean + z * spread)
    return _bounds(mean, frames)


def _ses_error_variance(values: np.ndarray, alpha: float) -> float:
    """Mean squared one-step error of simple exponential smoothing (level starts at y[0])."""
    level = values[0]
    errors = np.empty(len(values) - 1)
    for t in range(1, len(values)):
        errors[t - 1] = values[t] - level
        level = alpha * values[t] + (1 - alpha) * level
    return float(np.mean(errors**2)) if len(errors) else 0.0


def _differences(values: np.ndarray, season: int) -> tuple[int, int]:
    from statsmodels.tsa.stattools import kpss

    D = 0
    if season > 1 and len(values) >= 3 * season:
        diffed = values[season:] - values[:-season]
        D = int(np.var(diffed) < np.var(values) * 0.64)
    series = values[season:] - values[:-season] if D else values
    d = 0
    while d < 2 and len(series) > 10:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p_value = kpss(series, regression="c", nlags="auto")[1]
        if p_value >= 0.05:
            break
        series = np.diff(series)
        d += 1
    return d, D


def _arima(values: np.ndarray, horizon: int, season: int) -> dict[str, np.ndarray]:
    from statsmodels.tsa.arima.model import ARIMA

    d, D = _differences(values, season)
    seasonal = (0, D, 1 if D else 0, season) if D else (0, 0, 0, 0)
    trend = "t" if d + D == 1 else "n"  # a drift when differenced once, as auto.arima allows
    best, best_score = None, math.inf
    for p, q in ARIMA_ORDERS:
        try:
            result = ARIMA(values, order=(p, d, q), seasonal_order=seasonal, trend=trend).fit()
        except Exception:
            continue
        score = _aicc(result)
        if np.isfinite(score) and score < best_score:
            best, best_score = result, score
    if best is None:
        raise ValueError("no ARIMA model converged")
    forecast = best.get_forecast(horizon)
    frames = {}
    for level in (80, 95):
        bounds = np.asarray(forecast.conf_int(alpha=1 - level / 100))
        frames[level] = (bounds[:, 0], bounds[:, 1])
    return _bounds(forecast.predicted_mean, frames)
