"""LightGBM that keeps to a wall-clock allowance, for every LightGBM family.

A boosting run cannot be interrupted from outside, and its time is hard to predict: on two
busy cores a 200-round multiclass model on image features took over ten minutes where the
budget expected one. These subclasses of LightGBM's own scikit-learn estimators add one
parameter, ``max_time_s`` (set by the trial from the budget, which makes the families
``self_limiting``): a LightGBM callback, checked after every round, ends boosting once the
allowance is spent and keeps the trees grown so far (``best_iteration_``), as LightGBM's early
stopping does. ``stop_reason_`` says whether the clock or the round count ended it.

Everything else is LightGBM's: parameters, prediction, feature importances, SHAP's tree
explainer and the ONNX converter (``export/sklearn_ops.py`` registers these classes with it).
"""

from __future__ import annotations

import time
from typing import Any

from lightgbm import LGBMClassifier, LGBMRegressor
from lightgbm.callback import CallbackEnv, EarlyStopException

__all__ = ["TimedLGBMClassifier", "TimedLGBMRegressor"]


class _WallClock:
    """LightGBM callback: stop after the round during which ``max_time_s`` ran out."""

    order = 30  # after LightGBM's own callbacks (early stopping is 30 too; both may stop)

    def __init__(self, max_time_s: float) -> None:
        self.ends = time.perf_counter() + max_time_s
        self.hit = False

    def __call__(self, env: CallbackEnv) -> None:
        if time.perf_counter() >= self.ends and env.iteration + 1 < env.end_iteration:
            self.hit = True
            raise EarlyStopException(env.iteration, env.evaluation_result_list or [])


class _Timed:
    max_time_s: float | None

    def fit(self, X: Any, y: Any, **fit_params: Any) -> Any:
        clock = None if self.max_time_s is None else _WallClock(self.max_time_s)
        if clock is not None:
            fit_params["callbacks"] = [*(fit_params.get("callbacks") or []), clock]
        super().fit(X, y, **fit_params)  # type: ignore[misc]
        self.stop_reason_ = "time_limit" if clock is not None and clock.hit else "max_rounds"
        return self


class TimedLGBMClassifier(_Timed, LGBMClassifier):
    """``LGBMClassifier`` with a wall-clock allowance (``max_time_s``; None: no limit)."""

    def __init__(self, *, max_time_s: float | None = None, **kwargs: Any) -> None:
        self.max_time_s = max_time_s
        super().__init__(**kwargs)


class TimedLGBMRegressor(_Timed, LGBMRegressor):
    """``LGBMRegressor`` with a wall-clock allowance (``max_time_s``; None: no limit)."""

    def __init__(self, *, max_time_s: float | None = None, **kwargs: Any) -> None:
        self.max_time_s = max_time_s
        super().__init__(**kwargs)
