"""Budgeted hyperparameter search for the boosting families: Optuna's TPE with pruning.

``xgboost_tuned`` and ``catboost_tuned`` are ordinary families (``families/ml/__init__.py``)
whose model is a :class:`TunedClassifier` / :class:`TunedRegressor`: its ``fit`` searches the
library's hyperparameters within its wall-clock allowance (``max_time_s``, so the families are
``self_limiting`` and the budget gives them a share like every self-limiting family), then keeps
the best configuration's fitted booster. Inside the protocol each fold's fit searches on that
fold's training rows alone, so the tuned row's validation and test scores are as honest as the
default row's (nested validation), and both rows stand on the leaderboard: the value of tuning
is their difference.

Why Optuna's TPE with pruning rather than FLAML's CFO: each configuration is scored by the
booster's own early-stopping split, round by round, which is exactly what Optuna's pruners
consume (the median rule stops a configuration whose validation loss at round r is worse than
the median of earlier configurations at r), so a poor configuration costs a few rounds instead
of a whole fit; TPE needs no cost model of the configuration space (CFO's strength, which
matters less when every fit already stops early); and Optuna is a small, well-kept dependency
(SQLAlchemy and alembic, which MLflow already brings), where FLAML's search comes inside its own
AutoML package. The first configuration tried is always the family's tuned default
(Holzmüller et al. 2024), so on the search's own split the result is never worse than it.
The search spaces are ranges around the tuned defaults, narrower than those of Grinsztajn et al.
(NeurIPS 2022 benchmark) and Gorishniy et al. (2021) so that one configuration trains in seconds
on this project's budgets (e.g. learning rate 0.01-0.3 instead of down to 1e-5).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

__all__ = ["SPACES", "TunedClassifier", "TunedRegressor"]

logger = logging.getLogger(__name__)

EARLY_STOPPING_ROUNDS = 50  # within the search: a configuration is judged quickly
MIN_TRIAL_S = 1.0  # the search stops when less than this is left for a configuration


def _xgboost_space(trial: Any) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "max_depth": trial.suggest_int("max_depth", 3, 10),
        "min_child_weight": trial.suggest_float("min_child_weight", 1e-6, 10.0, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bylevel": trial.suggest_float("colsample_bylevel", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
        "reg_alpha": trial.suggest_float("reg_alpha", 1e-8, 10.0, log=True),
        "reg_lambda": trial.suggest_float("reg_lambda", 1e-8, 10.0, log=True),
    }


def _catboost_space(trial: Any) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "depth": trial.suggest_int("depth", 4, 9),
        "l2_leaf_reg": trial.suggest_float("l2_leaf_reg", 1e-5, 10.0, log=True),
        "random_strength": trial.suggest_float("random_strength", 0.0, 2.0),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
    }


SPACES = {"xgboost": _xgboost_space, "catboost": _catboost_space}


def _model_class(library: str, classification: bool) -> type:
    # imported here: the families module imports this one to register the tuned families
    from mlvsdl.families.ml import boosting

    name = {"xgboost": "XGBoost", "catboost": "CatBoost"}[library]
    return getattr(boosting, f"{name}{'Classifier' if classification else 'Regressor'}")


class _Tuned(BaseEstimator):
    _is_classifier = False

    def __init__(
        self,
        library: str = "xgboost",
        max_trials: int = 50,
        n_categorical: int = 0,
        n_jobs: int = 1,
        random_state: int = 0,
        max_time_s: float | None = None,
    ) -> None:
        self.library = library
        self.max_trials = max_trials
        self.n_categorical = n_categorical
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.max_time_s = max_time_s

    def _booster(self, params: dict[str, Any] | None, max_time_s: float | None) -> Any:
        cls = _model_class(self.library, self._is_classifier)
        return cls(
            params=params,
            early_stopping_rounds=EARLY_STOPPING_ROUNDS,
            n_categorical=self.n_categorical,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
            max_time_s=max_time_s,
        )

    def fit(self, X: Any, y: Any) -> _Tuned:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        ends = None if self.max_time_s is None else time.perf_counter() + self.max_time_s
        study = optuna.create_study(
            direction="minimize",
            sampler=optuna.samplers.TPESampler(seed=self.random_state),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=20),
        )
        study.enqueue_trial({}, skip_if_exists=True)  # the tuned default first
        best: dict[str, Any] = {}

        def objective(trial: Any) -> float:
            params = {} if trial.number == 0 else SPACES[self.library](trial)
            left = None if ends is None else max(ends - time.perf_counter(), MIN_TRIAL_S)
            model = self._booster(params, left)

            def on_round(step: int, loss: float) -> bool:
                trial.report(loss, step)
                return trial.should_prune()

            model._on_round = on_round
            model.fit(X, y)
            del model._on_round
            if model.best_score_ is None:  # too few rows for a split: nothing to compare
                best.setdefault("model", model)
                return 0.0
            if "model" not in best or model.best_score_ < best["score"]:
                best.update(model=model, score=model.best_score_, params=params)
            if model.stop_reason_ == "pruned":
                raise optuna.TrialPruned()
            return float(model.best_score_)

        def out_of_time(study: Any, trial: Any) -> None:
            if ends is not None and ends - time.perf_counter() < MIN_TRIAL_S:
                study.stop()

        study.optimize(objective, n_trials=self.max_trials, callbacks=[out_of_time])
        self.model_ = best["model"]
        self.best_params_ = dict(best.get("params") or {})
        self.n_trials_ = len(study.trials)
        self.n_pruned_ = sum(t.state.name == "PRUNED" for t in study.trials)
        self.n_features_in_ = self.model_.n_features_in_
        if self._is_classifier:
            self.classes_ = self.model_.classes_
        # what the row's details show (search/record.py reads these names)
        self.best_epoch_ = self.model_.best_epoch_
        self.stop_reason_ = f"search: {self.n_trials_} configurations, {self.n_pruned_} pruned"
        return self

    def predict(self, X: Any) -> np.ndarray:
        return self.model_.predict(X)


class TunedClassifier(ClassifierMixin, _Tuned):
    """A booster whose hyperparameters are searched (Optuna TPE, pruned) within its allowance."""

    _is_classifier = True

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.model_.predict_proba(X)


class TunedRegressor(RegressorMixin, _Tuned):
    """A booster whose hyperparameters are searched (Optuna TPE, pruned) within its allowance."""
