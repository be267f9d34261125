"""ECOD: unsupervised outlier detection with empirical cumulative distribution functions.

Z. Li, Y. Zhao, X. Hu, N. Botta, C. Ionescu and G. H. Chen, "ECOD: Unsupervised Outlier
Detection Using Empirical Cumulative Distribution Functions", IEEE TKDE 35(12), 2023
(arXiv:2201.00382, 2022). Written from the paper with numpy; PyOD is not a dependency.

For each feature j the training rows give a left-tail ECDF F_j(x) = P(X_j <= x) and a right-tail
ECDF F̄_j(x) = P(X_j >= x). A row's outlier score is the largest of three sums over features:

* left:  O_left  = -sum_j log F_j(x_j)
* right: O_right = -sum_j log F̄_j(x_j)
* auto:  O_auto  = -sum_j log (F_j(x_j) if skewness_j < 0 else F̄_j(x_j))  (skewness-corrected)

The per-feature terms of the winning sum are the row's feature contributions (the paper's
"dimensional outlier graph"), and they add up to the score.

One difference from the paper's (transductive) procedure: new rows are scored against the
training rows' ECDFs only, with add-one smoothing, (count + 1) / (n + 1), so a value beyond
every training value has a finite tail probability 1 / (n + 1) and a row's score does not depend
on the other rows it is scored with.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import skew

from mlvsdl.families.anomaly.base import BaseDetector, subsample_rows

__all__ = ["ECODDetector"]


class ECODDetector(BaseDetector):
    """ECOD (Li et al. 2022) on at most ``max_samples`` seeded training rows per ECDF.

    Learned attributes: ``sorted_`` (each feature's sorted training values), ``skewness_``.
    """

    contribution_method = "per-feature ECOD tail -log probability (sums to the score)"

    def __init__(
        self,
        *,
        contamination: Any = "auto",
        max_samples: int | None = 100_000,
        random_state: int | None = None,
    ) -> None:
        self.contamination = contamination
        self.max_samples = max_samples
        self.random_state = random_state

    def _fit(self, X: np.ndarray) -> np.ndarray:
        sample = subsample_rows(X, self.max_samples, self.random_state)
        self.sorted_ = np.sort(sample, axis=0)
        skewness = skew(sample, axis=0, bias=True)
        self.skewness_ = np.nan_to_num(skewness, nan=0.0)  # a constant column has no skew
        return self._anomaly_scores(X)

    def _tail_terms(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """-log of the left and right tail probabilities, each (n_rows, n_features)."""
        n = len(self.sorted_)
        left = np.empty_like(X)
        right = np.empty_like(X)
        for j in range(X.shape[1]):
            column = self.sorted_[:, j]
            at_most = np.searchsorted(column, X[:, j], side="right")  # training values <= x
            at_least = n - np.searchsorted(column, X[:, j], side="left")  # training values >= x
            left[:, j] = -np.log((at_most + 1) / (n + 1))
            right[:, j] = -np.log((at_least + 1) / (n + 1))
        return left, right

    def _terms(self, X: np.ndarray) -> np.ndarray:
        """The per-feature terms of whichever of the three sums is largest, per row."""
        left, right = self._tail_terms(X)
        auto = np.where(self.skewness_ < 0, left, right)
        candidates = np.stack([left, right, auto])  # (3, n_rows, n_features)
        winner = candidates.sum(axis=2).argmax(axis=0)  # (n_rows,)
        return candidates[winner, np.arange(len(X))]

    def _anomaly_scores(self, X: np.ndarray) -> np.ndarray:
        return self._terms(X).sum(axis=1)

    def _contributions(self, X: np.ndarray) -> np.ndarray:
        return self._terms(X)
