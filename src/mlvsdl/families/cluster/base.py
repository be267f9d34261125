"""The one base class every clusterer goes through, and the rules that pick a number of clusters.

A clusterer is fitted on rows alone (``fit(X)``; ``y`` is ignored) and answers:

* ``predict(X)``: the cluster of each row (0 .. n_clusters_ - 1; -1 for noise, HDBSCAN only);
* ``transform(X)``: the Euclidean distance of each row to every cluster centre, in the space
  the model clusters in (``cluster_centers_`` are in that space);
* ``evaluation_space(X)``: the rows in the run's shared evaluation space, where the metrics
  that need no label (silhouette, Davies-Bouldin, Calinski-Harabasz) are computed. It is the
  same deterministic function of the same training rows for every family of a run (the
  clusterer's input for tables and images; latent semantic analysis, TF-IDF + truncated SVD,
  for text), so those scores compare families that cluster in different spaces.

:class:`BaseClusterer` owns fit, predict, transform and the evaluation space; a subclass supplies

* ``_fit_space(X) -> Z``: learn the space the model clusters in (a reducer such as PCA, an
  autoencoder, sentence embeddings; by default the input itself) and return the training rows
  in it; ``_space(X) -> Z``: new rows in it;
* ``_fit_clusters(Z)``: learn the clusters; set ``cluster_centers_`` and ``labels_`` (training
  rows), ``n_clusters_`` and ``k_rule_`` (how the number of clusters was chosen, in words);
* ``_assign(Z)``: clusters of new rows (default: the nearest centre).

``n_clusters=None`` picks the number of clusters by a stated rule: :func:`best_k_by_silhouette`
(k-means, agglomerative, the deep families) or BIC (Gaussian mixture); HDBSCAN finds its own.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, clone
from sklearn.metrics import silhouette_score
from sklearn.utils.validation import check_is_fitted

from mlvsdl.errors import ConfigError

__all__ = [
    "K_RANGE",
    "SELECTION_ROWS",
    "BaseClusterer",
    "best_k_by_silhouette",
    "dense",
    "nearest_centre",
    "sample_rows",
]

K_RANGE = (2, 10)  # numbers of clusters the rules try, when --k is not given
SELECTION_ROWS = 2_000  # rows a rule scores each candidate number of clusters on


def dense(X: Any) -> np.ndarray:
    """A float64 array (sparse matrices made dense)."""
    return X.toarray() if hasattr(X, "toarray") else np.asarray(X, dtype=np.float64)


def sample_rows(n: int, size: int, random_state: Any) -> np.ndarray:
    """Sorted seeded row positions, all of them when ``n <= size``."""
    if n <= size:
        return np.arange(n)
    seed = random_state if isinstance(random_state, int | np.integer) else 0
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def nearest_centre(Z: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest centre and the Euclidean distances to every centre."""
    squared = (Z**2).sum(1)[:, None] - 2 * Z @ centres.T + (centres**2).sum(1)[None, :]
    distances = np.sqrt(np.maximum(squared, 0.0))
    return distances.argmin(axis=1), distances


def candidate_ks(n_rows: int) -> list[int]:
    low, high = K_RANGE
    return list(range(low, max(low, min(high, n_rows - 1)) + 1))


def best_k_by_silhouette(Z: np.ndarray, fit_labels: Any, random_state: Any) -> tuple[int, str]:
    """The number of clusters from ``K_RANGE`` whose clustering of a seeded sample of at most
    ``SELECTION_ROWS`` rows has the highest silhouette; ``fit_labels(Z, k)`` clusters rows."""
    rows = sample_rows(len(Z), SELECTION_ROWS, random_state)
    sample = Z[rows]
    best_k, best = K_RANGE[0], -np.inf
    for k in candidate_ks(len(sample)):
        labels = fit_labels(sample, k)
        if len(np.unique(labels)) < 2:
            continue
        value = silhouette_score(sample, labels)
        if value > best:
            best_k, best = k, value
    rule = (
        f"k = {best_k}: the highest silhouette ({best:.3f}) of k = {K_RANGE[0]}..{K_RANGE[1]} "
        f"on {len(sample)} training rows"
    )
    return best_k, rule


class BaseClusterer(ClusterMixin, BaseEstimator):
    """Shared fit, assignment, distances and evaluation space of every clusterer.

    Subclasses have the parameters ``n_clusters`` (None: the family's rule), ``reducer`` (a
    scikit-learn transformer fitted on the rows, or None), ``space`` (the evaluation space's
    transformer, ``None``: the input itself) and ``random_state``.

    Learned attributes: ``cluster_centers_``, ``labels_``, ``n_clusters_``, ``k_rule_``,
    ``reducer_``, ``space_``, ``n_features_in_``.
    """

    reducer: Any = None
    space: Any = None
    n_clusters: int | None = None

    # --- hooks --------------------------------------------------------------------------------

    def _fit_space(self, X: Any) -> np.ndarray:
        self.reducer_ = None if self.reducer is None else clone(self.reducer)
        if self.reducer_ is None:
            return dense(X)
        return dense(self.reducer_.fit_transform(X))

    def _space(self, X: Any) -> np.ndarray:
        return dense(X) if self.reducer_ is None else dense(self.reducer_.transform(X))

    def _fit_clusters(self, Z: np.ndarray) -> None:
        raise NotImplementedError

    def _assign(self, Z: np.ndarray) -> np.ndarray:
        return nearest_centre(Z, self.cluster_centers_)[0]

    # --- the contract -------------------------------------------------------------------------

    def fit(self, X: Any, y: Any = None) -> BaseClusterer:
        """Learn the clusters of ``X`` (``y`` is ignored: labels are for evaluation only)."""
        self._check_k()
        n = X.shape[0] if hasattr(X, "shape") else len(X)
        if n < 2:
            raise ConfigError(f"clustering needs at least 2 rows, got {n}.")
        if self.n_clusters is not None and self.n_clusters > n:
            raise ConfigError(
                f"n_clusters={self.n_clusters} is more than the {n} rows to cluster; pass a "
                "smaller --k."
            )
        self.n_features_in_ = X.shape[1] if hasattr(X, "shape") and len(X.shape) > 1 else 1
        Z = self._fit_space(X)
        self._fit_clusters(Z)
        self.cluster_centers_ = np.asarray(self.cluster_centers_, dtype=np.float64)
        self.n_clusters_ = len(self.cluster_centers_)
        if self.space is None:
            self.space_ = None
        elif isinstance(self.space, str) and self.space == "reducer":
            self.space_ = "reducer"
        else:
            self.space_ = clone(self.space).fit(X)
        return self

    def fit_predict(self, X: Any, y: Any = None, **kwargs: Any) -> np.ndarray:
        return self.fit(X).labels_

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "cluster_centers_")
        return np.asarray(self._assign(self._space(X)), dtype=np.int64)

    def transform(self, X: Any) -> np.ndarray:
        """Euclidean distances ``(n, n_clusters_)`` to the cluster centres."""
        check_is_fitted(self, "cluster_centers_")
        return nearest_centre(self._space(X), self.cluster_centers_)[1]

    def answers(self, X: Any) -> tuple[np.ndarray, np.ndarray, Any]:
        """``predict``, ``transform`` and ``evaluation_space`` of ``X`` at once: the space the
        model clusters in is computed once (an encoder pass or LSA of long texts is not cheap)."""
        check_is_fitted(self, "cluster_centers_")
        Z = self._space(X)
        clusters = np.asarray(self._assign(Z), dtype=np.int64)
        distances = nearest_centre(Z, self.cluster_centers_)[1]
        if isinstance(self.space_, str):
            return clusters, distances, Z
        return clusters, distances, self.evaluation_space(X)

    def evaluation_space(self, X: Any) -> Any:
        """The rows in the run's shared evaluation space (see the module docstring)."""
        check_is_fitted(self, "cluster_centers_")
        if self.space_ is None:
            return dense(X)
        if isinstance(self.space_, str):  # the reducer is the evaluation space
            return self._space(X)
        return self.space_.transform(X)

    def _check_k(self) -> None:
        k = self.n_clusters
        if k is not None and (isinstance(k, bool) or not isinstance(k, Integral) or k < 2):
            raise ConfigError(f"invalid n_clusters={k!r}; expected None or an integer >= 2.")
