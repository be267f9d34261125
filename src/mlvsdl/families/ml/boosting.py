"""XGBoost and CatBoost behind one scikit-learn estimator each, for the ``xgboost`` and
``catboost`` families.

Both libraries ship scikit-learn wrappers; these estimators wrap them to add what the protocol
needs and the wrappers leave to the caller:

- **Early stopping on an inner validation split.** ``fit`` holds out ``validation_fraction`` of
  its rows (stratified for classes), boosts up to ``n_estimators`` rounds and keeps the round
  with the best validation loss (``early_stopping_rounds`` without improvement end it). Tables
  too small for a split (fewer than ``MIN_SPLIT_ROWS``) train ``SMALL_ROUNDS`` rounds on all rows.
- **A wall-clock allowance** (``max_time_s``, given by the budget: these families are
  ``self_limiting``): a library callback checked after every round ends boosting at the
  deadline; the best round so far is kept, and ``stop_reason_`` says which rule ended it.
- **Safe storage.** The fitted booster is kept in the artifact as the library's own model bytes
  (XGBoost's UBJSON, CatBoost's ``cbm``) in a numpy array, so a stored model is a plain mlvsdl
  object for the skops allowlist and loads without unpickling library types.

Defaults are the "tuned defaults" (TD) of Holzmüller, Grinsztajn and Steinwart, *Better by
Default: Strong Pre-Tuned MLPs and Boosted Trees on Tabular Data* (NeurIPS 2024), meta-learned
on 71 classification and 47 regression tables and shipped by their ``pytabkit`` package
(``DefaultParams.XGB_TD_CLASS``/``XGB_TD_REG``/``CB_TD_CLASS``/``CB_TD_REG``): 1,000 rounds,
early stopping after 300 without improvement on a 20 % validation split.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder

__all__ = [
    "CB_TD_CLASS",
    "CB_TD_REG",
    "XGB_TD_CLASS",
    "XGB_TD_REG",
    "CatBoostClassifier",
    "CatBoostRegressor",
    "XGBoostClassifier",
    "XGBoostRegressor",
]

MIN_SPLIT_ROWS = 40  # below this, no validation split: SMALL_ROUNDS rounds on every row
SMALL_ROUNDS = 100

# Holzmüller et al. 2024, as in pytabkit's DefaultParams (rounds and early stopping are the
# estimator's own parameters below).
XGB_TD_CLASS = {
    "learning_rate": 0.08,
    "max_depth": 6,
    "min_child_weight": 5e-6,
    "reg_lambda": 0.0,
    "colsample_bylevel": 0.9,
    "subsample": 0.65,
    "max_bin": 256,
}
XGB_TD_REG = {
    "learning_rate": 0.05,
    "max_depth": 9,
    "min_child_weight": 2.0,
    "reg_lambda": 0.0,
    "subsample": 0.7,
    "max_bin": 256,
}
CB_TD_CLASS = {
    "learning_rate": 0.08,
    "depth": 7,
    "l2_leaf_reg": 1e-5,
    "boosting_type": "Plain",
    "bootstrap_type": "Bernoulli",
    "subsample": 0.9,
    "random_strength": 0.8,
    "one_hot_max_size": 15,
    "leaf_estimation_iterations": 1,
    "border_count": 254,
}
CB_TD_REG = {
    "learning_rate": 0.09,
    "depth": 9,
    "l2_leaf_reg": 1e-5,
    "boosting_type": "Plain",
    "bootstrap_type": "Bernoulli",
    "subsample": 0.9,
    "random_strength": 0.0,
    "one_hot_max_size": 20,
    "leaf_estimation_iterations": 20,
    "border_count": 254,
}


class _Deadline:
    """After-round check shared by both libraries' callbacks: the clock, and an optional
    ``on_round(round, validation_loss) -> stop`` (the search's pruner, ``search/tune.py``)."""

    def __init__(self, max_time_s: float | None, on_round: Any = None) -> None:
        self.ends = None if max_time_s is None else time.perf_counter() + max_time_s
        self.on_round = on_round
        self.hit = False
        self.stopped = False
        self.rounds = 0

    def passed(self, loss: float | None = None) -> bool:
        self.rounds += 1
        self.hit = self.ends is not None and time.perf_counter() >= self.ends
        if self.on_round is not None and loss is not None and not self.hit:
            self.stopped = bool(self.on_round(self.rounds, loss))
        return self.hit or self.stopped


def _last(log: Any) -> float | None:
    """The latest validation loss in a library's per-round log ({set: {metric: [values]}})."""
    for name, metrics in (log or {}).items():
        if name != "learn":
            for values in metrics.values():
                return float(values[-1]) if len(values) else None
    return None


class _Boosted(BaseEstimator):
    """Shared fit: target coding, the inner split, the clock, and the booster as bytes."""

    _is_classifier = False

    def __init__(
        self,
        params: dict[str, Any] | None = None,
        n_estimators: int = 1000,
        early_stopping_rounds: int = 300,
        validation_fraction: float = 0.2,
        n_categorical: int = 0,
        n_jobs: int = 1,
        random_state: int = 0,
        max_time_s: float | None = None,
    ) -> None:
        self.params = params
        self.n_estimators = n_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.n_categorical = n_categorical
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.max_time_s = max_time_s

    # --- fit ---

    def fit(self, X: Any, y: Any) -> _Boosted:
        X = np.asarray(X, dtype=np.float64)
        if self._is_classifier:
            encoder = LabelEncoder().fit(y)
            self.classes_ = encoder.classes_
            target = encoder.transform(y)
        else:
            target = np.asarray(y, dtype=np.float64)
        self.n_features_in_ = X.shape[1]
        clock = _Deadline(self.max_time_s, getattr(self, "_on_round", None))
        split = self._split(target)
        self.model_ = self._train(X, target, split, clock)
        self.n_rounds_ = clock.rounds  # rounds boosted; the model keeps the best of them
        self.best_epoch_ = self._best_round()
        self.best_score_ = self._best_loss() if split is not None else None
        if clock.hit:
            self.stop_reason_ = "time_limit"
        elif clock.stopped:
            self.stop_reason_ = "pruned"
        elif split is not None and self.n_rounds_ < self.n_estimators:
            self.stop_reason_ = "early_stopping"
        else:
            self.stop_reason_ = "max_rounds"
        return self

    def _split(self, target: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        n = len(target)
        if n < MIN_SPLIT_ROWS or not 0 < self.validation_fraction < 1:
            return None
        stratify = None
        if self._is_classifier:
            counts = np.bincount(target)
            if counts[counts > 0].min() >= 2 and len(counts) <= self.validation_fraction * n:
                stratify = target
        rows = np.arange(n)
        fit_rows, val_rows = train_test_split(
            rows,
            test_size=self.validation_fraction,
            random_state=self.random_state,
            stratify=stratify,
        )
        return np.sort(fit_rows), np.sort(val_rows)

    def _rounds(self, split: Any) -> int:
        return self.n_estimators if split is not None else min(self.n_estimators, SMALL_ROUNDS)

    # --- predict ---

    def _raw_predict(self, X: Any) -> np.ndarray:
        raise NotImplementedError

    # --- storage: the booster as the library's own bytes ---

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("_on_round", None)  # a search's pruning hook is not part of the model
        model = state.pop("model_", None)
        if model is not None:
            state["model_bytes_"] = np.frombuffer(self._dump(model), dtype=np.uint8).copy()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        raw = state.pop("model_bytes_", None)
        super().__setstate__(state)
        if raw is not None:
            self.model_ = self._load(bytes(np.asarray(raw, dtype=np.uint8)))


class _ClassifierAnswers(ClassifierMixin):
    _is_classifier = True

    def predict_proba(self, X: Any) -> np.ndarray:
        proba = np.asarray(self._raw_predict(X), dtype=np.float64)
        if proba.ndim == 1:
            proba = np.column_stack([1 - proba, proba])
        return proba

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class _RegressorAnswers(RegressorMixin):
    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self._raw_predict(X), dtype=np.float64)


# --- XGBoost ---


class _XGBoost(_Boosted):
    def _library_model(self, rounds: int, early: int | None, clock: _Deadline) -> Any:
        import xgboost

        class _Clock(xgboost.callback.TrainingCallback):
            def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
                return clock.passed(_last(evals_log))

        defaults = XGB_TD_CLASS if self._is_classifier else XGB_TD_REG
        cls = xgboost.XGBClassifier if self._is_classifier else xgboost.XGBRegressor
        return cls(
            **{**defaults, **(self.params or {})},
            n_estimators=rounds,
            early_stopping_rounds=early,
            tree_method="hist",
            n_jobs=self.n_jobs,
            random_state=self.random_state,
            callbacks=[_Clock()],
            verbosity=0,
        )

    def _train(self, X: np.ndarray, target: np.ndarray, split: Any, clock: _Deadline) -> Any:
        if split is None:
            model = self._library_model(self._rounds(split), None, clock)
            model.fit(X, target, verbose=False)
        else:
            fit_rows, val_rows = split
            model = self._library_model(self._rounds(split), self.early_stopping_rounds, clock)
            model.fit(
                X[fit_rows],
                target[fit_rows],
                eval_set=[(X[val_rows], target[val_rows])],
                verbose=False,
            )
        model.set_params(callbacks=None)  # the clock is not part of the model
        return model

    def _raw_predict(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if self._is_classifier:
            return self.model_.predict_proba(X)
        return self.model_.predict(X)

    def _best_round(self) -> int:
        best = getattr(self.model_, "best_iteration", None)
        return int(best) + 1 if best is not None else self.n_rounds_

    def _best_loss(self) -> float | None:
        best = getattr(self.model_, "best_score", None)
        return None if best is None else float(best)

    def _dump(self, model: Any) -> bytes:
        return bytes(model.get_booster().save_raw("ubj"))

    def _load(self, raw: bytes) -> Any:
        import xgboost

        cls = xgboost.XGBClassifier if self._is_classifier else xgboost.XGBRegressor
        model = cls()
        model.load_model(bytearray(raw))
        return model


class XGBoostClassifier(_ClassifierAnswers, _XGBoost):
    """XGBoost classifier with early stopping on an inner split and a wall-clock stop."""


class XGBoostRegressor(_RegressorAnswers, _XGBoost):
    """XGBoost regressor with early stopping on an inner split and a wall-clock stop."""


# --- CatBoost ---


class _CatBoost(_Boosted):
    def _frame(self, X: Any) -> pd.DataFrame:
        """Numerics as floats; the last ``n_categorical`` columns (ordinal codes, -1 for missing
        or unseen) as integers, which CatBoost encodes with its ordered target statistics."""
        X = np.asarray(X, dtype=np.float64)
        frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
        for name in frame.columns[X.shape[1] - self.n_categorical :]:
            frame[name] = frame[name].fillna(-1).astype(np.int64)
        return frame

    def _pool(self, X: Any, target: np.ndarray | None = None) -> Any:
        import catboost

        first_cat = self.n_features_in_ - self.n_categorical
        cats = list(range(first_cat, self.n_features_in_))
        return catboost.Pool(self._frame(X), label=target, cat_features=cats)

    def _train(self, X: np.ndarray, target: np.ndarray, split: Any, clock: _Deadline) -> Any:
        import catboost

        class _Clock:
            def after_iteration(self, info: Any) -> bool:
                return not clock.passed(_last(info.metrics))  # CatBoost goes on while True

        defaults = CB_TD_CLASS if self._is_classifier else CB_TD_REG
        cls = catboost.CatBoostClassifier if self._is_classifier else catboost.CatBoostRegressor
        model = cls(
            **{**defaults, **(self.params or {})},
            iterations=self._rounds(split),
            random_seed=self.random_state,
            thread_count=self.n_jobs,
            allow_writing_files=False,
            verbose=False,
        )
        if split is None:
            model.fit(self._pool(X, target), callbacks=[_Clock()])
        else:
            fit_rows, val_rows = split
            model.fit(
                self._pool(X[fit_rows], target[fit_rows]),
                eval_set=self._pool(X[val_rows], target[val_rows]),
                early_stopping_rounds=self.early_stopping_rounds,
                use_best_model=True,
                callbacks=[_Clock()],
            )
        return model

    def _raw_predict(self, X: Any) -> np.ndarray:
        pool = self._pool(X)
        if self._is_classifier:
            return self.model_.predict_proba(pool)
        return self.model_.predict(pool)

    def _best_round(self) -> int:
        best = self.model_.get_best_iteration()
        return int(best) + 1 if best is not None else int(self.model_.tree_count_)

    def _best_loss(self) -> float | None:
        return _last(
            {k: {m: [v]} for k, d in self.model_.get_best_score().items() for m, v in d.items()}
        )

    def _dump(self, model: Any) -> bytes:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.cbm")
            model.save_model(path)
            with open(path, "rb") as fh:
                return fh.read()

    def _load(self, raw: bytes) -> Any:
        import catboost

        cls = catboost.CatBoostClassifier if self._is_classifier else catboost.CatBoostRegressor
        model = cls()
        model.load_model(blob=raw)
        return model


class CatBoostClassifier(_ClassifierAnswers, _CatBoost):
    """CatBoost classifier (categoricals by ordered target statistics), early stopping on an
    inner split and a wall-clock stop."""


class CatBoostRegressor(_RegressorAnswers, _CatBoost):
    """CatBoost regressor (categoricals by ordered target statistics), early stopping on an
    inner split and a wall-clock stop."""
