"""Classical table synthesizers: independent marginals, Gaussian copula, Gaussian mixture and
sequential CART.

All work on the codec's encoded table (numbers without missing values; categories, booleans and
missing flags as codes) and write through it, so their rows are valid (``codec.py``).

* :class:`MarginalSynthesizer` — the baseline: every column drawn on its own, numbers from the
  training quantile function (1,001 quantiles, linear between them), categories at their
  training frequencies. Per-column fidelity is its strength; every association is lost.
* :class:`GaussianCopulaSynthesizer` — each column mapped to normal scores (numbers by rank,
  categories by a uniform draw inside the category's interval of the cumulative frequencies, as
  SDV's copulas do), one correlation matrix of the scores, and back through each column's
  marginal. Keeps linear (rank) associations; misses anything non-linear.
* :class:`MixtureSynthesizer` — a Gaussian mixture on numbers made normal by a quantile transform
  and one-hot categories, components chosen by BIC on a sample: full covariances up to
  ``FULL_COVARIANCE_WIDTH`` encoded columns, diagonal ones above (then a latent-class model:
  the components carry the associations; a full covariance on Adult's 116 one-hot columns took
  561 s to fit on 2 busy cores); a sample is decoded by the inverse transform and each category
  block's largest value.
* :class:`CARTSynthesizer` — sequential CART as synthpop does: the first column from its
  marginal, each next one from a decision tree on the columns before it (at least 5 rows a
  leaf), drawing an observed value of the row's leaf.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm, rankdata
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import QuantileTransformer
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from mlvsdl.families.synth.base import BaseSynthesizer

__all__ = [
    "CARTSynthesizer",
    "GaussianCopulaSynthesizer",
    "MarginalSynthesizer",
    "MixtureSynthesizer",
]

N_QUANTILES = 1001
EPS = 1e-6
FULL_COVARIANCE_WIDTH = 40  # encoded columns up to which mixture components have full covariances
BIC_ROWS = 3_000  # rows the number of mixture components is chosen on


def _quantiles(values: np.ndarray) -> np.ndarray:
    return np.quantile(values, np.linspace(0, 1, N_QUANTILES))


def _from_quantiles(quantiles: np.ndarray, u: np.ndarray) -> np.ndarray:
    return np.interp(u, np.linspace(0, 1, len(quantiles)), quantiles)


def _frequencies(codes: np.ndarray, cardinality: int) -> np.ndarray:
    return np.bincount(codes, minlength=cardinality) / len(codes)


def _draw(probabilities: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(len(probabilities), size=n, p=probabilities)


class _Synth(BaseSynthesizer):
    def __init__(
        self,
        columns: tuple[str, ...] = (),
        numeric: tuple[str, ...] = (),
        target: str | None = None,
        random_state: int | None = None,
    ) -> None:
        self.columns = columns
        self.numeric = numeric
        self.target = target
        self.random_state = random_state


class MarginalSynthesizer(_Synth):
    """Every column independently from its training distribution (the baseline)."""

    def _fit_encoded(self, num: np.ndarray, cat: np.ndarray, rng: np.random.Generator) -> None:
        self.quantiles_ = [_quantiles(num[:, i]) for i in range(num.shape[1])]
        cards = self.codec_.cardinalities_
        self.frequencies_ = [_frequencies(cat[:, j], cards[j]) for j in range(cat.shape[1])]

    def _sample_encoded(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        num = np.column_stack(
            [_from_quantiles(q, rng.random(n)) for q in self.quantiles_] or [np.zeros((n, 0))]
        )
        cat = np.column_stack(
            [_draw(p, n, rng) for p in self.frequencies_] or [np.zeros((n, 0), np.int64)]
        )
        return num, cat


class GaussianCopulaSynthesizer(_Synth):
    """One Gaussian copula over every column (see the module docstring)."""

    def _fit_encoded(self, num: np.ndarray, cat: np.ndarray, rng: np.random.Generator) -> None:
        n = len(num)
        scores = []
        self.quantiles_ = []
        for i in range(num.shape[1]):
            self.quantiles_.append(_quantiles(num[:, i]))
            scores.append(norm.ppf(rankdata(num[:, i]) / (n + 1)))
        self.orders_, self.bounds_ = [], []
        for j in range(cat.shape[1]):
            freq = _frequencies(cat[:, j], self.codec_.cardinalities_[j])
            order = np.argsort(-freq, kind="stable")  # most frequent first
            upper = np.cumsum(freq[order])
            lower = upper - freq[order]
            rank = np.empty_like(order)
            rank[order] = np.arange(len(order))
            r = rank[cat[:, j]]
            u = lower[r] + rng.random(n) * (upper[r] - lower[r])
            scores.append(norm.ppf(np.clip(u, EPS, 1 - EPS)))
            self.orders_.append(order)
            self.bounds_.append(upper)
        Z = np.column_stack(scores) if scores else np.zeros((n, 0))
        corr = np.corrcoef(Z, rowvar=False) if Z.shape[1] > 1 else np.ones((Z.shape[1],) * 2)
        corr = np.nan_to_num(np.atleast_2d(corr), nan=0.0)
        np.fill_diagonal(corr, 1.0)
        values, vectors = np.linalg.eigh(corr)  # the nearest positive definite matrix
        self.factor_ = vectors * np.sqrt(np.clip(values, EPS, None))

    def _sample_encoded(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        z = rng.standard_normal((n, self.factor_.shape[0])) @ self.factor_.T
        u = norm.cdf(z)
        p = len(self.quantiles_)
        num = np.column_stack(
            [_from_quantiles(q, u[:, i]) for i, q in enumerate(self.quantiles_)]
            or [np.zeros((n, 0))]
        )
        cats = []
        for j, (order, upper) in enumerate(zip(self.orders_, self.bounds_, strict=True)):
            slot = np.minimum(np.searchsorted(upper, u[:, p + j], side="right"), len(order) - 1)
            cats.append(order[slot])
        cat = np.column_stack(cats) if cats else np.zeros((n, 0), np.int64)
        return num, cat


class MixtureSynthesizer(_Synth):
    """A Gaussian mixture on the quantile-normalized numbers and one-hot categories."""

    def __init__(
        self,
        columns: tuple[str, ...] = (),
        numeric: tuple[str, ...] = (),
        target: str | None = None,
        components: tuple[int, ...] = (1, 5, 10, 20, 40),
        max_rows: int = 20_000,
        random_state: int | None = None,
    ) -> None:
        super().__init__(columns, numeric, target, random_state)
        self.components = components
        self.max_rows = max_rows

    def _fit_encoded(self, num: np.ndarray, cat: np.ndarray, rng: np.random.Generator) -> None:
        rows = np.sort(rng.choice(len(num), size=min(len(num), self.max_rows), replace=False))
        num, cat = num[rows], cat[rows]
        self.scaler_ = QuantileTransformer(
            n_quantiles=min(1000, len(num)),
            output_distribution="normal",
            random_state=self.random_state,
        ).fit(num)
        X = np.hstack([self.scaler_.transform(num), self._one_hot(cat)])
        self.covariance_ = "full" if X.shape[1] <= FULL_COVARIANCE_WIDTH else "diag"
        probe = X[rng.choice(len(X), size=min(len(X), BIC_ROWS), replace=False)]
        best, best_bic = 1, np.inf
        for k in self.components:
            if k > len(probe) // 10:
                continue
            bic = self._mixture(k).fit(probe).bic(probe)
            if bic < best_bic:
                best, best_bic = k, bic
        mixture = self._mixture(best).fit(X)
        self.n_components_ = best
        self.weights_ = mixture.weights_ / mixture.weights_.sum()
        self.means_ = mixture.means_
        if self.covariance_ == "full":  # a component's noise: its covariance's Cholesky factor
            self.chol_ = np.linalg.cholesky(mixture.covariances_)
        else:  # diagonal: each column's standard deviation
            self.chol_ = np.sqrt(mixture.covariances_)

    def _mixture(self, k: int) -> GaussianMixture:
        return GaussianMixture(
            k,
            covariance_type=self.covariance_,
            reg_covar=1e-3,
            max_iter=100,
            random_state=self.random_state,
        )

    def _one_hot(self, cat: np.ndarray) -> np.ndarray:
        blocks = [np.eye(c)[cat[:, j]] for j, c in enumerate(self.codec_.cardinalities_)]
        return np.hstack(blocks) if blocks else np.zeros((len(cat), 0))

    def _sample_encoded(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        component = _draw(self.weights_, n, rng)
        noise = rng.standard_normal((n, self.means_.shape[1]))
        if self.chol_.ndim == 3:
            X = self.means_[component] + np.einsum("nij,nj->ni", self.chol_[component], noise)
        else:
            X = self.means_[component] + self.chol_[component] * noise
        p = self.codec_.n_numeric
        num = self.scaler_.inverse_transform(X[:, :p]) if p else np.zeros((n, 0))
        cats, start = [], p
        for c in self.codec_.cardinalities_:
            cats.append(X[:, start : start + c].argmax(axis=1))
            start += c
        cat = np.column_stack(cats) if cats else np.zeros((n, 0), np.int64)
        return num, cat


class CARTSynthesizer(_Synth):
    """Sequential CART synthesis (synthpop's default method; see the module docstring)."""

    def __init__(
        self,
        columns: tuple[str, ...] = (),
        numeric: tuple[str, ...] = (),
        target: str | None = None,
        min_samples_leaf: int = 5,
        max_rows: int = 20_000,
        random_state: int | None = None,
    ) -> None:
        super().__init__(columns, numeric, target, random_state)
        self.min_samples_leaf = min_samples_leaf
        self.max_rows = max_rows

    def _fit_encoded(self, num: np.ndarray, cat: np.ndarray, rng: np.random.Generator) -> None:
        rows = np.sort(rng.choice(len(num), size=min(len(num), self.max_rows), replace=False))
        num, cat = num[rows], cat[rows]
        sequence = self.codec_.sequence
        self.sequence_ = sequence
        first_kind, first = sequence[0]
        if first_kind == "num":
            self.first_ = _quantiles(num[:, first])
        else:
            self.first_ = _frequencies(cat[:, first], self.codec_.cardinalities_[first])
        columns = [num[:, i] if kind == "num" else cat[:, i] for kind, i in sequence]
        self.trees_, self.leaves_, self.donors_ = [], [], []
        for step in range(1, len(sequence)):
            X = np.column_stack(columns[:step]).astype(np.float64)
            y = columns[step]
            kind = sequence[step][0]
            tree_cls = DecisionTreeRegressor if kind == "num" else DecisionTreeClassifier
            tree = tree_cls(min_samples_leaf=self.min_samples_leaf, random_state=self.random_state)
            tree.fit(X, y)
            leaf = tree.apply(X)
            order = np.argsort(leaf, kind="stable")
            self.trees_.append(tree)
            self.leaves_.append(leaf[order])
            self.donors_.append(np.asarray(y)[order])

    def _sample_encoded(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        kind, _ = self.sequence_[0]
        if kind == "num":
            columns = [_from_quantiles(self.first_, rng.random(n))]
        else:
            columns = [_draw(self.first_, n, rng).astype(np.float64)]
        for tree, leaves, donors in zip(self.trees_, self.leaves_, self.donors_, strict=True):
            leaf = tree.apply(np.column_stack(columns))
            lo = np.searchsorted(leaves, leaf, side="left")
            hi = np.searchsorted(leaves, leaf, side="right")
            pick = lo + np.floor(rng.random(n) * (hi - lo)).astype(np.int64)
            columns.append(donors[pick].astype(np.float64))
        num = np.zeros((n, self.codec_.n_numeric))
        cat = np.zeros((n, len(self.codec_.cardinalities_)), dtype=np.int64)
        for (kind, i), values in zip(self.sequence_, columns, strict=True):
            if kind == "num":
                num[:, i] = values
            else:
                cat[:, i] = values.astype(np.int64)
        return num, cat
