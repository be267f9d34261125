"""A weighted average of fitted models: what greedy ensemble selection (``search/ensemble.py``)
stores for each ensemble.

The members are the run's own fitted pipelines (preprocessing included), copied into the
ensemble's artifact, so an ensemble is one stored model like any other: ``predict``, ``serve``
and ``load_run`` need nothing but the store. Classifiers average class probabilities (each
member's columns put in the ensemble's class order); regressors average predicted values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone

__all__ = ["EnsembleClassifier", "EnsembleRegressor"]


class _Weighted(BaseEstimator):
    def __init__(self, members: list[tuple[str, Any]] | None = None, weights: Any = None) -> None:
        self.members = members
        self.weights = weights

    def _check(self) -> tuple[list[tuple[str, Any]], np.ndarray]:
        members = list(self.members or [])
        weights = np.asarray(self.weights if self.weights is not None else [], dtype=np.float64)
        if not members or len(weights) != len(members) or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError("an ensemble needs members and one non-negative weight per member")
        return members, weights / weights.sum()

    def fit(self, X: Any, y: Any) -> _Weighted:
        """Fit a clone of every member on (X, y), keeping the weights."""
        members, self.weights_ = self._check()
        self.members_ = [(name, clone(model).fit(X, y)) for name, model in members]
        self._fitted(y)
        return self

    @classmethod
    def from_fitted(
        cls, members: list[tuple[str, Any]], weights: Any, classes: Any = None
    ) -> _Weighted:
        """An ensemble of members that are already fitted (the run's stored models)."""
        ensemble = cls(members=members, weights=list(map(float, weights)))
        _, ensemble.weights_ = ensemble._check()
        ensemble.members_ = list(members)
        if classes is not None:
            ensemble.classes_ = np.asarray(classes)
        return ensemble

    def _fitted(self, y: Any) -> None:
        pass


class EnsembleClassifier(ClassifierMixin, _Weighted):
    """Weighted average of the members' class probabilities."""

    def _fitted(self, y: Any) -> None:
        self.classes_ = np.unique(np.asarray(y))

    def predict_proba(self, X: Any) -> np.ndarray:
        classes = list(self.classes_)
        out = np.zeros((len(X), len(classes)))
        for (_, model), weight in zip(self.members_, self.weights_, strict=True):
            proba = np.asarray(model.predict_proba(X), dtype=np.float64)
            for j, label in enumerate(model.classes_):
                if label in classes:
                    out[:, classes.index(label)] += weight * proba[:, j]
        return out

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class EnsembleRegressor(RegressorMixin, _Weighted):
    """Weighted average of the members' predictions."""

    def predict(self, X: Any) -> np.ndarray:
        total = np.zeros(len(X))
        for (_, model), weight in zip(self.members_, self.weights_, strict=True):
            total += weight * np.asarray(model.predict(X), dtype=np.float64)
        return total
