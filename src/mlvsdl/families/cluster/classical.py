"""Classical clusterers, each a :class:`BaseClusterer` around scikit-learn.

* :class:`KMeansClusterer`: k-means with k-means++ seeding (10 restarts); k by silhouette;
* :class:`GaussianMixtureClusterer`: a Gaussian mixture (full covariances up to
  ``FULL_COVARIANCE_DIMS`` dimensions, diagonal above); k by the lowest BIC; a row goes to its
  most probable component;
* :class:`WardClusterer`: agglomerative clustering with Ward linkage on at most ``max_rows``
  seeded rows (its memory grows with rows squared); every other row, and every new row, goes to
  the nearest cluster centroid; k by silhouette;
* :class:`HDBSCANClusterer`: HDBSCAN (``sklearn.cluster.HDBSCAN``) finds its own number of
  clusters (``--k`` does not apply) on at most ``max_rows`` seeded rows and labels rows in no
  dense region as noise (-1). New rows go to the nearest cluster centroid, or to noise when
  they are farther from it than any of that cluster's members.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans
from sklearn.mixture import GaussianMixture

from mlvsdl.families.cluster.base import (
    BaseClusterer,
    best_k_by_silhouette,
    candidate_ks,
    nearest_centre,
    sample_rows,
)

__all__ = [
    "GaussianMixtureClusterer",
    "HDBSCANClusterer",
    "KMeansClusterer",
    "WardClusterer",
]

FULL_COVARIANCE_DIMS = 20
BIC_ROWS = 5_000  # rows each candidate mixture is fitted on when BIC picks k


def _centroids(Z: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    return np.stack([Z[labels == c].mean(axis=0) for c in range(k)])


class KMeansClusterer(BaseClusterer):
    """k-means (Lloyd), k-means++ seeding, ``n_init`` restarts."""

    def __init__(
        self,
        *,
        n_clusters: int | None = None,
        n_init: int = 10,
        reducer: Any = None,
        space: Any = None,
        random_state: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.reducer = reducer
        self.space = space
        self.random_state = random_state

    def _kmeans(self, k: int, n_init: int) -> KMeans:
        return KMeans(k, init="k-means++", n_init=n_init, random_state=self.random_state)

    def _fit_clusters(self, Z: np.ndarray) -> None:
        k = self.n_clusters
        self.k_rule_ = f"k = {k}, as given"
        if k is None:
            k, self.k_rule_ = best_k_by_silhouette(
                Z, lambda s, c: self._kmeans(c, 2).fit_predict(s), self.random_state
            )
        model = self._kmeans(k, self.n_init).fit(Z)
        self.cluster_centers_, self.labels_ = model.cluster_centers_, model.labels_
        self.inertia_ = float(model.inertia_)


class GaussianMixtureClusterer(BaseClusterer):
    """A Gaussian mixture; k by BIC; each row to its most probable component."""

    def __init__(
        self,
        *,
        n_clusters: int | None = None,
        reg_covar: float = 1e-4,
        reducer: Any = None,
        space: Any = None,
        random_state: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.reg_covar = reg_covar
        self.reducer = reducer
        self.space = space
        self.random_state = random_state

    def _mixture(self, k: int, n_dims: int) -> GaussianMixture:
        covariance = "full" if n_dims <= FULL_COVARIANCE_DIMS else "diag"
        return GaussianMixture(
            k,
            covariance_type=covariance,
            reg_covar=self.reg_covar,
            n_init=1,
            random_state=self.random_state,
        )

    def _fit_clusters(self, Z: np.ndarray) -> None:
        k = self.n_clusters
        self.k_rule_ = f"k = {k}, as given"
        if k is None:
            sample = Z[sample_rows(len(Z), BIC_ROWS, self.random_state)]
            bics = {
                c: self._mixture(c, Z.shape[1]).fit(sample).bic(sample)
                for c in candidate_ks(len(sample))
            }
            k = min(bics, key=bics.__getitem__)
            self.k_rule_ = (
                f"k = {k}: the lowest BIC of k = {min(bics)}..{max(bics)} on {len(sample)} "
                "training rows"
            )
        self.mixture_ = self._mixture(k, Z.shape[1]).fit(Z)
        self.cluster_centers_ = self.mixture_.means_
        self.labels_ = self.mixture_.predict(Z)

    def _assign(self, Z: np.ndarray) -> np.ndarray:
        return self.mixture_.predict(Z)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Each row's probability of every component."""
        return self.mixture_.predict_proba(self._space(X))


class WardClusterer(BaseClusterer):
    """Ward agglomerative clustering on at most ``max_rows`` rows, then nearest centroid."""

    def __init__(
        self,
        *,
        n_clusters: int | None = None,
        max_rows: int = 5_000,
        reducer: Any = None,
        space: Any = None,
        random_state: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.max_rows = max_rows
        self.reducer = reducer
        self.space = space
        self.random_state = random_state

    def _fit_clusters(self, Z: np.ndarray) -> None:
        rows = sample_rows(len(Z), self.max_rows, self.random_state)
        sample = Z[rows]
        k = self.n_clusters
        self.k_rule_ = f"k = {k}, as given"
        if k is None:
            k, self.k_rule_ = best_k_by_silhouette(
                sample,
                lambda s, c: AgglomerativeClustering(c, linkage="ward").fit_predict(s),
                self.random_state,
            )
        k = min(k, len(sample))
        labels = AgglomerativeClustering(k, linkage="ward").fit_predict(sample)
        self.cluster_centers_ = _centroids(sample, labels, k)
        self.labels_ = nearest_centre(Z, self.cluster_centers_)[0]
        self.n_fitted_rows_ = len(rows)


class HDBSCANClusterer(BaseClusterer):
    """HDBSCAN on at most ``max_rows`` rows; noise = -1; new rows by nearest centroid.

    ``min_cluster_size`` None: 1 % of the rows fitted, at least 5. ``n_clusters`` is accepted
    for a uniform interface and ignored: HDBSCAN decides how many clusters the data holds.
    """

    def __init__(
        self,
        *,
        n_clusters: int | None = None,
        min_cluster_size: int | None = None,
        max_rows: int = 10_000,
        reducer: Any = None,
        space: Any = None,
        random_state: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.min_cluster_size = min_cluster_size
        self.max_rows = max_rows
        self.reducer = reducer
        self.space = space
        self.random_state = random_state

    def _fit_clusters(self, Z: np.ndarray) -> None:
        rows = sample_rows(len(Z), self.max_rows, self.random_state)
        sample = Z[rows]
        size = self.min_cluster_size or max(5, round(0.01 * len(sample)))
        size = max(2, min(size, len(sample)))
        model = HDBSCAN(min_cluster_size=size, store_centers="centroid", copy=True).fit(sample)
        found = model.labels_
        if found.max() < 0:  # no dense region at all: one cluster of everything
            self.cluster_centers_ = sample.mean(axis=0, keepdims=True)
            found = np.zeros(len(sample), dtype=np.int64)
        else:
            self.cluster_centers_ = model.centroids_
        own = nearest_centre(sample, self.cluster_centers_)[1]
        member = found >= 0
        radius = np.zeros(len(self.cluster_centers_))
        np.maximum.at(radius, found[member], own[member, found[member]])
        self.radius_ = radius
        self.min_cluster_size_ = size
        self.k_rule_ = (
            f"HDBSCAN's own: {len(self.cluster_centers_)} clusters of at least {size} rows "
            f"found in {len(sample)} training rows ({np.mean(~member):.1%} noise); --k does "
            "not apply"
        )
        self.labels_ = self._assign(Z)

    def _assign(self, Z: np.ndarray) -> np.ndarray:
        nearest, distances = nearest_centre(Z, self.cluster_centers_)
        own = distances[np.arange(len(Z)), nearest]
        return np.where(own <= self.radius_[nearest], nearest, -1)
