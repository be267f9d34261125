"""The anomaly-detection baseline: every row is equally unusual.

It follows scikit-learn's outlier-detector convention like every detector (``score_samples``,
lower is more abnormal; ``decision_function``; ``predict`` with -1 for an anomaly) and scores every
row 0, so it flags nothing, its average precision is the share of anomalies and its ROC AUC 0.5:
the score a detector must beat to have found anything.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["ConstantDetector"]


class ConstantDetector(OutlierMixin, BaseEstimator):
    """Scores every row alike (0); the threshold ``offset_`` is 0, so no row is flagged."""

    def __init__(self, contamination: Any = "auto") -> None:
        self.contamination = contamination

    def fit(self, X: Any, y: Any = None) -> ConstantDetector:
        validate_data(self, X, accept_sparse=True)
        self.offset_ = 0.0
        self.threshold_rule_ = "none: every row scores the same"
        return self

    def score_samples(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "offset_")
        X = validate_data(self, X, accept_sparse=True, reset=False)
        return np.zeros(X.shape[0])

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def decision_function(self, X: Any) -> np.ndarray:
        return self.score_samples(X) - self.offset_

    def predict(self, X: Any) -> np.ndarray:
        return np.where(self.decision_function(X) < 0, -1, 1)

    def feature_contributions(self, X: Any) -> np.ndarray:
        """Nothing makes a row unusual to this baseline: zeros, one per input feature."""
        return np.zeros((len(self.score_samples(X)), self.n_features_in_))
