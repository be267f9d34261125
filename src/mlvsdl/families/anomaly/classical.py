"""Classical anomaly detectors on encoded tables, each a :class:`BaseDetector`.

Wrapped from scikit-learn: isolation forest, local outlier factor, one-class SVM, a Gaussian
mixture and the k-th nearest-neighbour distance; written here: PCA reconstruction error.
Every one sets its threshold through :class:`BaseDetector`, so the rule is the same for all.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors
from sklearn.svm import OneClassSVM

from mlvsdl.families.anomaly.base import BaseDetector, subsample_rows

__all__ = [
    "GaussianMixtureDetector",
    "IsolationForestDetector",
    "KNNDistanceDetector",
    "LOFDetector",
    "OneClassSVMDetector",
    "PCADetector",
]


class IsolationForestDetector(BaseDetector):
    """Isolation forest (Liu et al. 2008): rows isolated by few random splits are anomalies.

    The score is scikit-learn's ``-IsolationForest.score_samples``. Contributions use the
    robust deviation from the training rows (scikit-learn has no TreeSHAP for isolation forests).
    """

    contribution_method = (
        "robust deviation |x - median| / IQR-scale from the training rows (fallback: "
        "scikit-learn has no TreeSHAP for isolation forests)"
    )

    def __init__(
        self,
        *,
        contamination: Any = "auto",
        n_estimators: int = 200,
        max_samples: int | str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.contamination = contamination
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.random_state = random_state

    def _fit(self, X: np.ndarray) -> np.ndarray:
        # one thread: scores are averaged over trees in a fixed order, identical call to call
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=self.max_samples,
            random_state=self.random_state,
            n_jobs=1,
        ).fit(X)
        return self._anomaly_scores(X)

    def _anomaly_scores(self, X: np.ndarray) -> np.ndarray:
        return -self.forest_.score_samples(X)


class LOFDetector(BaseDetector):
    """Local outlier factor (Breunig et al. 2000) in novelty mode, on at most ``max_samples``
    seeded training rows. Training rows are thresholded on their leave-one-out LOF (each row is
    not its own neighbour), which is what a new row sees."""

    leave_one_out = True

    def __init__(
        self,
        *,
        contamination: Any = "auto",
        n_neighbors: int = 20,
        max_samples: int | None = 20_000,
        random_state: int | None = None,
    ) -> None:
        self.contamination = contamination
        self.n_neighbors = n_neighbors
        self.max_samples = max_samples
        self.random_state = random_state

    def _fit(self, X: np.ndarray) -> np.ndarray:
        X = subsample_rows(X, self.max_samples, self.random_state)
        k = max(1, min(self.n_neighbors, len(X) - 1))
        self.lof_ = LocalOutlierFactor(n_neighbors=k, novelty=True).fit(X)
        return -self.lof_.negative_outlier_factor_

    def _anomaly_scores(self, X: np.ndarray) -> np.ndarray:
        return -self.lof_.score_samples(X)


class KNNDistanceDetector(BaseDetector):
    """Distance to the k-th nearest training row (Ramaswamy et al. 2000), on at most
    ``max_samples`` seeded training rows; training rows use their leave-one-out distance."""

    leave_one_out = True

    def __init__(
        self,
        *,
        contamination: Any = "auto",
        n_neighbors: int = 10,
        max_samples: int | None = 20_000,
        random_state: int | None = None,
    ) -> None:
        self.contamination = contamination
        self.n_neighbors = n_neighbors
        self.max_samples = max_samples
        self.random_state = random_state

    def _fit(self, X: np.ndarray) -> np.ndarray:
        X = subsample_rows(X, self.max_samples, self.random_state)
        self.k_ = max(1, min(self.n_neighbors, len(X) - 1))
        self.neighbors_ = NearestNeighbors(n_neighbors=self.k_).fit(X)
        distances, _ = self.neighbors_.kneighbors()  # no query: each row's neighbours but itself
        return distances[:, -1]

    def _anomaly_scores(self, X: np.ndarray) -> np.ndarray:
        distances, _ = self.neighbors_.kneighbors(X, n_neighbors=self.k_)
        return distances[:, -1]


class OneClassSVMDetector(BaseDetector):
    """One-class SVM (Schölkopf et al. 2001), RBF kernel, on at most ``max_samples`` seeded rows
    (its fit grows quadratically with rows). ``nu`` is the contamination when it is a float,
    else 0.05. Training rows are thresholded on their scores without their own support-vector
    term (what a new row sees); the training rows themselves keep that term when predicted."""

    leave_one_out = True

    def __init__(
        self,
        *,
        contamination: Any = "auto",
        gamma: str | float = "scale",
        max_samples: int | None = 5_000,
        random_state: int | None = None,
    ) -> None:
        self.contamination = contamination
        self.gamma = gamma
        self.max_samples = max_samples
        self.random_state = random_state

    def _fit(self, X: np.ndarray) -> np.ndarray:
        X = subsample_rows(X, self.max_samples, self.random_state)
        nu = 0.05 if self.contamination == "auto" else float(self.contamination)
        self.svm_ = OneClassSVM(kernel="rbf", gamma=self.gamma, nu=nu).fit(X)
        # leave-one-out (to first order): a support vector's score without its own kernel term
        # K(x, x) = 1, which on a training outlier (a bounded support vector) outweighs the rest
        scores = self.svm_.score_samples(X)
        scores[self.svm_.support_] -= self.svm_.dual_coef_.ravel()
        return -scores

    def _anomaly_scores(self, X: np.ndarray) -> np.ndarray:
        return -self.svm_.score_samples(X)


class PCADetector(BaseDetector):
    """PCA reconstruction error: the squared distance of a row to the principal subspace that
    keeps ``variance_kept`` of the training variance (at most n_features - 1 components, so
    some residual always remains). Contributions are the per-feature squared residuals, which
    sum to the score."""

    contribution_method = "per-feature squared reconstruction error (sums to the score)"

    def __init__(
        self,
        *,
        contamination: Any = "auto",
        variance_kept: float = 0.9,
        max_samples: int | None = 200_000,
        random_state: int | None = None,
    ) -> None:
        self.contamination = contamination
        self.variance_kept = variance_kept
        self.max_samples = max_samples
        self.random_state = random_state

    def _fit(self, X: np.ndarray) -> np.ndarray:
        sample = subsample_rows(X, self.max_samples, self.random_state)
        self.mean_ = sample.mean(axis=0)
        _, singular, components = np.linalg.svd(sample - self.mean_, full_matrices=False)
        variance = singular**2
        ratio = variance / variance.sum() if variance.sum() > 0 else np.ones_like(variance)
        cumulative = np.cumsum(ratio)
        k = int(np.searchsorted(cumulative, self.variance_kept - 1e-12) + 1)
        self.n_components_ = min(k, X.shape[1] - 1)
        self.components_ = components[: self.n_components_]
        self.explained_variance_ratio_ = ratio[: self.n_components_]
        return self._anomaly_scores(X)

    def _residuals(self, X: np.ndarray) -> np.ndarray:
        centered = X - self.mean_
        return centered - (centered @ self.components_.T) @ self.components_

    def _anomaly_scores(self, X: np.ndarray) -> np.ndarray:
        return (self._residuals(X) ** 2).sum(axis=1)

    def _contributions(self, X: np.ndarray) -> np.ndarray:
        return self._residuals(X) ** 2


class GaussianMixtureDetector(BaseDetector):
    """Negative log-likelihood under a Gaussian mixture with full covariances. The number of
    components is chosen by BIC among ``n_components_grid`` (1, 2 and 4 by default), each fit on
    at most ``max_samples`` seeded rows."""

    def __init__(
        self,
        *,
        contamination: Any = "auto",
        n_components_grid: tuple[int, ...] = (1, 2, 4),
        reg_covar: float = 1e-4,
        max_samples: int | None = 50_000,
        random_state: int | None = None,
    ) -> None:
        self.contamination = contamination
        self.n_components_grid = n_components_grid
        self.reg_covar = reg_covar
        self.max_samples = max_samples
        self.random_state = random_state

    def _fit(self, X: np.ndarray) -> np.ndarray:
        sample = subsample_rows(X, self.max_samples, self.random_state)
        best, best_bic = None, np.inf
        for n in sorted({max(1, min(int(c), len(sample))) for c in self.n_components_grid}):
            gmm = GaussianMixture(
                n_components=n,
                covariance_type="full",
                reg_covar=self.reg_covar,
                random_state=self.random_state,
            ).fit(sample)
            bic = gmm.bic(sample)
            if bic < best_bic:
                best, best_bic = gmm, bic
        self.mixture_ = best
        self.bic_ = float(best_bic)
        return self._anomaly_scores(X)

    def _anomaly_scores(self, X: np.ndarray) -> np.ndarray:
        return -self.mixture_.score_samples(X)
