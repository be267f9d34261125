"""Forecasting families (``--task forecast``): classical local models, global LightGBM, networks.

Every factory returns ``Pipeline([("model", forecaster)])`` (the pipeline so that the trial sets
``model__max_time_s`` on the self-limiting ones); the forecaster reads the time, series and known
covariate columns named in ``Schema.options``. The run's baseline is the ``dummy`` family, which
for this task is the seasonal naive forecast (``families/ml/__init__.py``).
"""

from __future__ import annotations

from typing import Any

from sklearn.pipeline import Pipeline

from mlvsdl.families.base import Family
from mlvsdl.families.forecast.base import BaseForecaster
from mlvsdl.families.forecast.classical import NaiveForecaster, StatsForecaster
from mlvsdl.families.forecast.deep import NetForecaster
from mlvsdl.families.forecast.lgbm import LGBMForecaster
from mlvsdl.families.registry import register
from mlvsdl.types import Kind, Modality, Schema, Task

__all__ = ["forecast_pipeline", "series_options"]

FORECAST = frozenset({Task.FORECAST})
TABULAR = frozenset({Modality.TABULAR})


def series_options(schema: Schema) -> dict[str, Any]:
    """The forecaster parameters every family takes from the run's options."""
    o = schema.options
    return {
        "time": o["time"],
        "series": o.get("series"),
        "horizon": int(o["horizon"]),
        "season": int(o.get("season", 1)),
        "freq": str(o.get("freq", "step")),
        "known": tuple(o.get("known") or ()),
    }


def forecast_pipeline(model: BaseForecaster) -> Pipeline:
    return Pipeline([("model", model)])


def seasonal_naive(schema: Schema, seed: int) -> Pipeline:
    """The forecasting baseline (the ``dummy`` family's answer for this task)."""
    return forecast_pipeline(NaiveForecaster(seasonal=True, **series_options(schema)))


def _naive(schema: Schema, seed: int) -> Pipeline:
    return forecast_pipeline(NaiveForecaster(seasonal=False, **series_options(schema)))


def _stats(method: str) -> Any:
    def factory(schema: Schema, seed: int) -> Pipeline:
        return forecast_pipeline(
            StatsForecaster(method=method, random_state=seed, **series_options(schema))
        )

    return factory


def _lgbm(schema: Schema, seed: int) -> Pipeline:
    return forecast_pipeline(LGBMForecaster(random_state=seed, **series_options(schema)))


def _net(net: str) -> Any:
    def factory(schema: Schema, seed: int) -> Pipeline:
        return forecast_pipeline(
            NetForecaster(net=net, random_state=seed, **series_options(schema))
        )

    return factory


for _family in (
    Family(
        "naive",
        "Naive (last value)",
        Kind.ML,
        FORECAST,
        TABULAR,
        _naive,
        relative_cost=0.01,
        priority=0,
        interpretable=True,
        description="The last observed value for every step; conformal intervals.",
    ),
    Family(
        "ets",
        "ETS (automatic, statsmodels)",
        Kind.ML,
        FORECAST,
        TABULAR,
        _stats("ets"),
        relative_cost=3.0,
        priority=0,
        interpretable=True,
        self_limiting=True,
        description="Exponential smoothing per series, chosen by AICc; the model's intervals.",
    ),
    Family(
        "theta",
        "Theta (statsmodels)",
        Kind.ML,
        FORECAST,
        TABULAR,
        _stats("theta"),
        relative_cost=0.5,
        priority=0,
        interpretable=True,
        self_limiting=True,
        description="The Theta method per series (M3's winner), deseasonalized when seasonal.",
    ),
    Family(
        "arima",
        "ARIMA (automatic, statsmodels)",
        Kind.ML,
        FORECAST,
        TABULAR,
        _stats("arima"),
        relative_cost=8.0,
        interpretable=True,
        self_limiting=True,
        description="ARIMA per series: KPSS differencing, (p, q) by AICc; the model's intervals.",
    ),
    Family(
        "lgbm_forecast",
        "LightGBM on lags (global)",
        Kind.ML,
        FORECAST,
        TABULAR,
        _lgbm,
        relative_cost=2.0,
        priority=0,
        self_limiting=True,
        description="One LightGBM for all series and steps on lags, statistics, calendar and "
        "known covariates; conformal intervals.",
    ),
    Family(
        "lstm",
        "LSTM encoder",
        Kind.DL,
        FORECAST,
        TABULAR,
        _net("lstm"),
        relative_cost=10.0,
        self_limiting=True,
        description="A global 2-layer LSTM over scaled windows with a multi-horizon head.",
    ),
    Family(
        "nbeats",
        "N-BEATS",
        Kind.DL,
        FORECAST,
        TABULAR,
        _net("nbeats"),
        relative_cost=8.0,
        self_limiting=True,
        description="N-BEATS (generic): residual stack of MLP blocks, backcast and forecast.",
    ),
    Family(
        "tcn",
        "Temporal convolutional network",
        Kind.DL,
        FORECAST,
        TABULAR,
        _net("tcn"),
        relative_cost=10.0,
        self_limiting=True,
        description="Residual dilated causal convolutions over scaled windows.",
    ),
    Family(
        "patchtst",
        "Patch transformer (PatchTST-style)",
        Kind.DL,
        FORECAST,
        TABULAR,
        _net("patchtst"),
        relative_cost=12.0,
        self_limiting=True,
        description="A small transformer encoder over patches of the scaled window.",
    ),
):
    register(_family)
