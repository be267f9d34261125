"""The baselines of the tasks without a target: for anomaly detection every row is equally
unusual (:class:`ConstantDetector`); for clustering, groups by chance (:class:`ChanceClusterer`).

The detector follows scikit-learn's outlier-detector convention like every detector
(``score_samples``, lower is more abnormal; ``decision_function``; ``predict`` with -1 for an
anomaly) and scores every row 0, so it flags nothing, its average precision is the share of
anomalies and its ROC AUC 0.5: the score a detector must beat to have found anything.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin, OutlierMixin, clone
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["ChanceClusterer", "ConstantDetector"]


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


class ChanceClusterer(ClusterMixin, BaseEstimator):
    """The clustering baseline: every row goes to a cluster by a hash of its values.

    A row always lands in the same cluster (new rows too), but the groups carry no structure:
    their adjusted Rand index against any label is about 0 and their silhouette about 0, the
    scores a clusterer must beat to have found anything. ``n_clusters`` None: 2. Centres are the
    mean training row of each group; ``evaluation_space`` is the input itself, or ``space`` (a
    transformer fitted on the training rows: text's LSA) when given.
    """

    def __init__(self, n_clusters: int | None = None, space: Any = None) -> None:
        self.n_clusters = n_clusters
        self.space = space

    def _hash(self, X: np.ndarray) -> np.ndarray:
        rows = pd.util.hash_pandas_object(pd.DataFrame(X), index=False).to_numpy()
        return (rows % np.uint64(self.n_clusters_)).astype(np.int64)

    def fit(self, X: Any, y: Any = None) -> ChanceClusterer:
        raw, X = X, _dense(X)
        self.n_features_in_ = X.shape[1]
        self.n_clusters_ = int(self.n_clusters or 2)
        self.k_rule_ = f"k = {self.n_clusters_}: chance groups by a hash of each row"
        self.labels_ = self._hash(X)
        self.space_ = None if self.space is None else clone(self.space).fit(raw)
        overall = X.mean(axis=0)
        self.cluster_centers_ = np.stack(
            [
                X[self.labels_ == c].mean(axis=0) if (self.labels_ == c).any() else overall
                for c in range(self.n_clusters_)
            ]
        )
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "cluster_centers_")
        return self._hash(_dense(X))

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "cluster_centers_")
        X = _dense(X)
        return np.sqrt(((X[:, None, :] - self.cluster_centers_[None, :, :]) ** 2).sum(axis=2))

    def evaluation_space(self, X: Any) -> np.ndarray:
        return _dense(X) if self.space_ is None else self.space_.transform(X)


def _dense(X: Any) -> np.ndarray:
    numeric = pd.api.types.is_numeric_dtype
    if isinstance(X, pd.DataFrame) and not all(numeric(X[c]) for c in X.columns):
        # text: a hash of the joined strings, as one column of codes
        joined = X.astype(str).agg("\x1f".join, axis=1)
        return pd.util.hash_pandas_object(joined, index=False).to_numpy()[:, None].astype(float)
    X = X.toarray() if hasattr(X, "toarray") else np.asarray(X, dtype=np.float64)
    return X.reshape(len(X), -1)
