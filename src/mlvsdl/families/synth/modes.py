"""Mode-specific normalization (Xu et al., 2019), the input and output of TVAE and CTGAN.

Each number is modelled by a variational Gaussian mixture of at most ``MAX_MODES`` modes
(scikit-learn's ``BayesianGaussianMixture``, Dirichlet-process prior with concentration 0.001,
fitted on at most ``FIT_ROWS`` values; modes with weight under 0.005 are dropped). A value
becomes a scalar ``alpha = (x - mu_k) / (4 sigma_k)`` in (-1, 1) and a one-hot of its mode ``k``,
drawn from its posterior over the modes. Categories (and missing flags) are one-hot. A generated
row is read back through the largest entry of each one-hot block.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture

__all__ = ["ModeNormalizer"]

MAX_MODES = 10
FIT_ROWS = 5_000
MIN_WEIGHT = 0.005


class ModeNormalizer(BaseEstimator):
    """Numbers and category codes <-> the networks' matrix (see the module docstring)."""

    def __init__(self, cardinalities: tuple[int, ...] = (), random_state: int | None = None):
        self.cardinalities = cardinalities
        self.random_state = random_state

    def fit(self, num: np.ndarray, rng: np.random.Generator) -> ModeNormalizer:
        self.means_, self.stds_ = [], []
        for i in range(num.shape[1]):
            x = num[:, i]
            x = x[rng.choice(len(x), size=min(len(x), FIT_ROWS), replace=False)]
            n_modes = int(min(MAX_MODES, len(np.unique(x))))
            if n_modes < 2:
                self.means_.append(np.array([float(x.mean())]))
                self.stds_.append(np.array([max(float(x.std()), 1e-3)]))
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                mixture = BayesianGaussianMixture(
                    n_components=n_modes,
                    weight_concentration_prior_type="dirichlet_process",
                    weight_concentration_prior=0.001,
                    max_iter=100,
                    random_state=self.random_state,
                ).fit(x.reshape(-1, 1))
            keep = mixture.weights_ > MIN_WEIGHT
            self.means_.append(mixture.means_[keep, 0])
            scale = np.sqrt(mixture.covariances_[keep].reshape(-1))
            self.stds_.append(np.maximum(scale, 1e-3 * (float(x.std()) or 1.0)))
        spans: list[tuple[str, int]] = []
        for means in self.means_:
            spans += [("tanh", 1), ("softmax", len(means))]
        spans += [("softmax", int(c)) for c in self.cardinalities]
        self.spans_ = spans
        self.width_ = int(sum(size for _, size in spans))
        return self

    @property
    def category_spans(self) -> list[tuple[int, int]]:
        """(start, size) of each categorical column's one-hot block, in code order."""
        out, start = [], 0
        for i, (_, size) in enumerate(self.spans_):
            if i >= 2 * len(self.means_):
                out.append((start, size))
            start += size
        return out

    def transform(self, num: np.ndarray, cat: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n = len(num)
        parts = []
        for i, (means, stds) in enumerate(zip(self.means_, self.stds_, strict=True)):
            x = num[:, i : i + 1]
            log_density = -0.5 * ((x - means) / stds) ** 2 - np.log(stds)
            log_density -= log_density.max(axis=1, keepdims=True)
            posterior = np.exp(log_density)
            posterior /= posterior.sum(axis=1, keepdims=True)
            u = rng.random((n, 1))
            mode = np.minimum((posterior.cumsum(axis=1) < u).sum(axis=1), len(means) - 1)
            alpha = np.clip((x[:, 0] - means[mode]) / (4 * stds[mode]), -0.99, 0.99)
            parts += [alpha[:, None], np.eye(len(means))[mode]]
        parts += [np.eye(c)[cat[:, j]] for j, c in enumerate(self.cardinalities)]
        return np.hstack(parts).astype(np.float32) if parts else np.zeros((n, 0), np.float32)

    def inverse(self, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Numbers and codes from a generated matrix (alpha already in (-1, 1))."""
        n = len(M)
        num = np.zeros((n, len(self.means_)))
        start = 0
        for i, (means, stds) in enumerate(zip(self.means_, self.stds_, strict=True)):
            alpha = M[:, start]
            mode = M[:, start + 1 : start + 1 + len(means)].argmax(axis=1)
            num[:, i] = alpha * 4 * stds[mode] + means[mode]
            start += 1 + len(means)
        cats = []
        for c in self.cardinalities:
            cats.append(M[:, start : start + c].argmax(axis=1))
            start += c
        cat = np.column_stack(cats) if cats else np.zeros((n, 0), np.int64)
        return num, cat.astype(np.int64)
