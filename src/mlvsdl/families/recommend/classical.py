"""Classical recommenders: popularity, neighbourhoods, matrix factorization, EASE.

* :class:`PopularityRecommender` — the baseline: the most-interacted items (implicit), or each
  item's mean rating shrunk toward the global mean (explicit); the same list for everyone.
* :class:`ItemKNNRecommender`, :class:`UserKNNRecommender` — cosine similarity with shrinkage
  (``sim = x.y / (|x||y| + shrink)``), each item (user) keeping its ``k`` most similar. Implicit:
  a user's score for an item is the sum of the item's similarities to the user's items (to the
  neighbours who took it). Explicit: the neighbours' residuals from a biased baseline
  (``mu + b_u + b_i``, regularized least squares) are averaged, weighted by similarity, as
  Koren's kNN-baseline does (scikit-surprise's ``KNNBaseline``).
* :class:`BiasedMFRecommender` (explicit) — ``mu + b_u + b_i + p_u . q_i`` learned by stochastic
  gradient descent on squared error with L2 (Funk's SVD as in scikit-surprise's ``SVD``), in
  mini-batches of 128 whose updates are summed per user and item (``torch.index_add_``; no
  autograd), 60 epochs at learning rate 0.007 and L2 0.1, stopping early at ``max_time_s``.
* :class:`ALSRecommender`, :class:`BPRRecommender` (implicit) — the ``implicit`` library's
  alternating least squares (Hu, Koren & Volinsky, 2008) and Bayesian personalized ranking
  (Rendle et al., 2009); only their factor arrays are kept.
* :class:`EASERecommender` (implicit) — Steck's (2019) closed form: ``B = I - P diagMat(1/diag
  P)``, ``P = (X'X + lambda I)^-1``, so ``diag(B) = 0``; a user's scores are ``x_u B``.
"""

from __future__ import annotations

import os
import time as clock

import numpy as np
from scipy import sparse

from mlvsdl.families.recommend.base import BaseRecommender

__all__ = [
    "ALSRecommender",
    "BPRRecommender",
    "BiasedMFRecommender",
    "EASERecommender",
    "ItemKNNRecommender",
    "PopularityRecommender",
    "UserKNNRecommender",
]


def _threads() -> int:
    return max(1, int(os.environ.get("MLVSDL_THREADS", "1") or 1))


class PopularityRecommender(BaseRecommender):
    """The same ranking for every user: popularity (implicit) or shrunk mean rating."""

    def __init__(self, user: str = "user", item: str = "item", time: str | None = None) -> None:
        self.user = user
        self.item = item
        self.time = time

    def _fit(self, users, items, ratings, times) -> None:
        pass

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return np.tile(self.fallback_scores(), (len(users), 1))


def _biases(
    users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int
) -> tuple[float, np.ndarray, np.ndarray]:
    """``mu``, ``b_u``, ``b_i`` by alternating regularized least squares (10 passes, each bias
    shrunk by 10 pseudo-observations at zero)."""
    mu = float(ratings.mean())
    bu, bi = np.zeros(n_users), np.zeros(n_items)
    n_u = np.bincount(users, minlength=n_users)
    n_i = np.bincount(items, minlength=n_items)
    for _ in range(10):
        bi = np.bincount(items, ratings - mu - bu[users], minlength=n_items) / (n_i + 10.0)
        bu = np.bincount(users, ratings - mu - bi[items], minlength=n_users) / (n_u + 10.0)
    return mu, bu, bi


def _cosine_topk(M: sparse.csr_matrix, k: int, shrink: float) -> sparse.csr_matrix:
    """Row-by-row cosine similarity of the rows of ``M`` with shrinkage, each row keeping its
    ``k`` largest (the diagonal removed)."""
    norms = np.sqrt(np.asarray(M.multiply(M).sum(axis=1)).ravel())
    dot = (M @ M.T).toarray()
    sims = dot / (np.outer(norms, norms) + shrink + 1e-12)
    np.fill_diagonal(sims, 0.0)
    n = sims.shape[0]
    k = min(k, n - 1)
    if k < n - 1:
        cut = np.argpartition(-sims, k, axis=1)[:, k:]
        np.put_along_axis(sims, cut, 0.0, axis=1)
    return sparse.csr_matrix(sims)


class _KNN(BaseRecommender):
    """Shared fit of the two neighbourhood models; ``by`` says whose neighbours."""

    by = "item"

    def __init__(
        self,
        user: str = "user",
        item: str = "item",
        time: str | None = None,
        k: int = 100,
        shrink: float = 10.0,
    ) -> None:
        self.user = user
        self.item = item
        self.time = time
        self.k = k
        self.shrink = shrink

    def _fit(self, users, items, ratings, times) -> None:
        n_users, n_items = len(self.user_ids_), len(self.item_ids_)
        if ratings is None:
            values = np.ones(len(users))
        else:
            mu, bu, bi = _biases(users, items, ratings, n_users, n_items)
            self.mu_, self.bu_, self.bi_ = mu, bu, bi
            values = ratings - mu - bu[users] - bi[items]
        M = sparse.csr_matrix((values, (users, items)), shape=(n_users, n_items))
        self.residuals_ = M
        base = M.T.tocsr() if self.by == "item" else M
        self.similarity_ = _cosine_topk(base, self.k, self.shrink)

    def _scores(self, users: np.ndarray) -> np.ndarray:
        M = self.residuals_
        S = self.similarity_
        rows = M[users]
        if not self.explicit_:
            if self.by == "item":
                return (rows @ S.T).toarray()
            return (S[users] @ M).toarray()
        rated = rows.copy()
        rated.data[:] = 1.0
        if self.by == "item":  # sum over the user's rated neighbours j of item i
            num = (rows @ S.T).toarray()
            den = (rated @ abs(S).T).toarray()
        else:  # sum over neighbours v of u who rated i
            R = M.copy()
            R.data[:] = 1.0
            num = (S[users] @ M).toarray()
            den = (abs(S[users]) @ R).toarray()
        base = self.mu_ + self.bu_[users][:, None] + self.bi_[None, :]
        return base + np.where(den > 0, num / np.maximum(den, 1e-12), 0.0)

    def item_vectors(self) -> np.ndarray:
        return self.residuals_.T.toarray()


class ItemKNNRecommender(_KNN):
    by = "item"


class UserKNNRecommender(_KNN):
    by = "user"


class BiasedMFRecommender(BaseRecommender):
    """Explicit ratings: ``mu + b_u + b_i + p_u . q_i`` by mini-batch SGD with L2."""

    def __init__(
        self,
        user: str = "user",
        item: str = "item",
        time: str | None = None,
        n_factors: int = 100,
        n_epochs: int = 60,
        lr: float = 0.007,
        reg: float = 0.1,
        batch_size: int = 128,
        random_state: int | None = None,
        max_time_s: float | None = None,
    ) -> None:
        self.user = user
        self.item = item
        self.time = time
        self.n_factors = n_factors
        self.n_epochs = n_epochs
        self.lr = lr
        self.reg = reg
        self.batch_size = batch_size
        self.random_state = random_state
        self.max_time_s = max_time_s

    def _fit(self, users, items, ratings, times) -> None:
        if ratings is None:
            raise ValueError("biased matrix factorization learns ratings; pass --rating.")
        import torch  # index_add_: exact scatter-adds of a mini-batch, in C++ (np.add.at is slow)

        start = clock.perf_counter()
        rng = np.random.default_rng(self.random_state)
        n_users, n_items, f = len(self.user_ids_), len(self.item_ids_), self.n_factors
        mu = float(ratings.mean())
        bu = torch.zeros(n_users, dtype=torch.float64)
        bi = torch.zeros(n_items, dtype=torch.float64)
        P = torch.from_numpy(rng.normal(0, 0.1, (n_users, f)))
        Q = torch.from_numpy(rng.normal(0, 0.1, (n_items, f)))
        Us, Is, Rs = torch.from_numpy(users), torch.from_numpy(items), torch.from_numpy(ratings)
        self.epochs_ = 0
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # batches of 128: more threads only wait on each other
        try:
            self._epochs(mu, bu, bi, P, Q, Us, Is, Rs, rng, start)
        finally:
            torch.set_num_threads(threads)
        self.mu_ = mu
        self.bu_, self.bi_, self.P_, self.Q_ = (t.numpy() for t in (bu, bi, P, Q))

    def _epochs(self, mu, bu, bi, P, Q, Us, Is, Rs, rng, start) -> None:
        import torch

        lr, reg = self.lr, self.reg
        for _ in range(self.n_epochs):
            order = torch.from_numpy(rng.permutation(len(Rs)))
            for s in range(0, len(order), self.batch_size):
                b = order[s : s + self.batch_size]
                u, i, r = Us[b], Is[b], Rs[b]
                pu, qi = P[u], Q[i]
                err = r - (mu + bu[u] + bi[i] + (pu * qi).sum(dim=1))
                bu.index_add_(0, u, lr * (err - reg * bu[u]))
                bi.index_add_(0, i, lr * (err - reg * bi[i]))
                P.index_add_(0, u, lr * (err[:, None] * qi - reg * pu))
                Q.index_add_(0, i, lr * (err[:, None] * pu - reg * qi))
            self.epochs_ += 1
            if self.max_time_s is not None and clock.perf_counter() - start > self.max_time_s:
                break

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return self.mu_ + self.bu_[users][:, None] + self.bi_[None, :] + self.P_[users] @ self.Q_.T

    def item_vectors(self) -> np.ndarray:
        return self.Q_


class _ImplicitFactors(BaseRecommender):
    """Fit one of the ``implicit`` library's factor models; keep its factors."""

    def _model(self):
        raise NotImplementedError

    def _fit(self, users, items, ratings, times) -> None:
        from threadpoolctl import threadpool_limits

        matrix = self.seen_matrix().astype(np.float32)
        with threadpool_limits(1, "blas"):  # implicit asks for it; its own threads do the work
            model = self._model()
            model.fit(matrix, show_progress=False)
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return (self.user_factors_[users] @ self.item_factors_.T).astype(np.float64)

    def item_vectors(self) -> np.ndarray:
        return self.item_factors_


class ALSRecommender(_ImplicitFactors):
    def __init__(
        self,
        user: str = "user",
        item: str = "item",
        time: str | None = None,
        factors: int = 32,
        regularization: float = 1.0,
        alpha: float = 1.0,
        iterations: int = 15,
        random_state: int | None = None,
    ) -> None:
        self.user = user
        self.item = item
        self.time = time
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state

    def _model(self):
        from implicit.cpu.als import AlternatingLeastSquares

        return AlternatingLeastSquares(
            factors=self.factors,
            regularization=self.regularization,
            alpha=self.alpha,
            iterations=self.iterations,
            random_state=self.random_state,
            num_threads=_threads(),
        )


class BPRRecommender(_ImplicitFactors):
    def __init__(
        self,
        user: str = "user",
        item: str = "item",
        time: str | None = None,
        factors: int = 32,
        learning_rate: float = 0.01,
        regularization: float = 0.01,
        iterations: int = 400,
        random_state: int | None = None,
    ) -> None:
        self.user = user
        self.item = item
        self.time = time
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.random_state = random_state

    def _model(self):
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        return BayesianPersonalizedRanking(
            factors=self.factors,
            learning_rate=self.learning_rate,
            regularization=self.regularization,
            iterations=self.iterations,
            random_state=self.random_state,
            num_threads=_threads(),
        )


class EASERecommender(BaseRecommender):
    """Steck's EASE: a closed-form item-item model, scores ``x_u B``."""

    def __init__(
        self,
        user: str = "user",
        item: str = "item",
        time: str | None = None,
        l2: float = 250.0,
    ) -> None:
        self.user = user
        self.item = item
        self.time = time
        self.l2 = l2

    def _fit(self, users, items, ratings, times) -> None:
        X = self.seen_matrix()
        G = (X.T @ X).toarray()
        G[np.diag_indices_from(G)] += self.l2
        P = np.linalg.inv(G)
        B = -P / np.diag(P)[None, :]
        B[np.diag_indices_from(B)] = 0.0
        self.B_ = B.astype(np.float32)

    def _scores(self, users: np.ndarray) -> np.ndarray:
        rows = self.seen_matrix()[users]
        return np.asarray(rows @ self.B_, dtype=np.float64)

    def item_vectors(self) -> np.ndarray:
        return self.B_.T
