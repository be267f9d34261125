"""What every recommender shares: ids, the training interactions, fallbacks and the answers.

A recommender is a scikit-learn estimator fitted on the interactions table itself:
``fit(X, y)`` reads the ``user`` and ``item`` columns of ``X`` (and ``time``, for the models
that use order) and the ratings ``y`` (explicit feedback) or nothing (implicit). It keeps:

* the catalogue (``item_ids_``) and the users (``user_ids_``), as text, in order of appearance;
* each user's training items (``seen_indptr_``, ``seen_indices_``: a CSR matrix), which the
  rankings exclude, and each item's share of users (``item_share_``: popularity);
* the fallbacks: for a user unseen in training, the most popular items (implicit) or each
  item's mean rating shrunk toward the global mean (explicit) — always flagged, never an error.

A subclass implements ``_fit(users, items, ratings, times)`` (catalogue positions) and
``_scores(users) -> (n_users, n_items)``: predicted ratings (explicit) or preference scores
(implicit) of every catalogue item for known users. Everything else — ``predict`` for (user,
item) pairs, ``recommend`` (top-k unseen items per user), ``similar_items`` — is here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator

from mlvsdl.data.recommend_options import id_strings
from mlvsdl.errors import ConfigError
from mlvsdl.evaluate.ranking import top_items

__all__ = ["SHRINK_MEAN", "BaseRecommender"]

SHRINK_MEAN = 5.0  # pseudo-ratings at the global mean in an item's fallback mean rating
SCORE_CHUNK = 1024  # users scored per block


class BaseRecommender(BaseEstimator):
    """Base of every recommender (see the module docstring)."""

    user: str = "user"
    item: str = "item"
    time: str | None = None

    # --- fit ------------------------------------------------------------------------------------

    def fit(self, X: pd.DataFrame, y: Any = None) -> BaseRecommender:
        for column in (self.user, self.item):
            if column not in X.columns:
                raise ConfigError(f"the interactions have no {column!r} column; pass it.")
        users, items = id_strings(X[self.user]), id_strings(X[self.item])
        u_codes, u_ids = pd.factorize(users)
        i_codes, i_ids = pd.factorize(items)
        self.user_ids_ = [str(v) for v in u_ids]
        self.item_ids_ = [str(v) for v in i_ids]
        n_users, n_items = len(u_ids), len(i_ids)
        ratings = None if y is None else np.asarray(y, dtype=np.float64)
        self.explicit_ = ratings is not None
        seen = sparse.csr_matrix(
            (np.ones(len(u_codes)), (u_codes, i_codes)), shape=(n_users, n_items)
        )
        seen.sum_duplicates()
        seen.data[:] = 1.0
        self.seen_indptr_ = seen.indptr.astype(np.int64)
        self.seen_indices_ = seen.indices.astype(np.int64)
        counts = np.asarray(seen.sum(axis=0)).ravel()
        self.item_share_ = counts / max(n_users, 1)
        if ratings is not None:
            self.global_mean_ = float(ratings.mean())
            sums = np.bincount(i_codes, weights=ratings, minlength=n_items)
            n = np.bincount(i_codes, minlength=n_items)
            self.item_mean_ = (sums + SHRINK_MEAN * self.global_mean_) / (n + SHRINK_MEAN)
            self.rating_range_ = [float(ratings.min()), float(ratings.max())]
        times = None
        if self.time is not None and self.time in X.columns:
            times = X[self.time].to_numpy(dtype=np.float64)
        self._fit(u_codes.astype(np.int64), i_codes.astype(np.int64), ratings, times)
        return self

    def _fit(
        self,
        users: np.ndarray,
        items: np.ndarray,
        ratings: np.ndarray | None,
        times: np.ndarray | None,
    ) -> None:
        raise NotImplementedError

    def _scores(self, users: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # --- shared state ---------------------------------------------------------------------------

    @property
    def n_items_(self) -> int:
        return len(self.item_ids_)

    def seen_matrix(self) -> sparse.csr_matrix:
        """Training interactions, users x items, 1.0 where a user interacted with an item."""
        data = np.ones(len(self.seen_indices_))
        shape = (len(self.user_ids_), len(self.item_ids_))
        return sparse.csr_matrix((data, self.seen_indices_, self.seen_indptr_), shape=shape)

    def _lookup(self, kind: str) -> dict[str, int]:
        key = f"_cache_{kind}"
        found = self.__dict__.get(key)
        if found is None:
            ids = self.user_ids_ if kind == "users" else self.item_ids_
            found = {v: i for i, v in enumerate(ids)}
            self.__dict__[key] = found
        return found

    def user_codes(self, values: Any) -> np.ndarray:
        """Catalogue positions of users (-1: unknown in training)."""
        lookup = self._lookup("users")
        return np.array([lookup.get(v, -1) for v in id_strings(pd.Series(values))], np.int64)

    def item_codes(self, values: Any) -> np.ndarray:
        lookup = self._lookup("items")
        return np.array([lookup.get(v, -1) for v in id_strings(pd.Series(values))], np.int64)

    def fallback_scores(self) -> np.ndarray:
        """What a user unseen in training gets: each item's (shrunk) mean rating, or its
        popularity."""
        if self.explicit_:
            return np.asarray(self.item_mean_, dtype=np.float64)
        return np.asarray(self.item_share_, dtype=np.float64)

    def scores_for(self, users: np.ndarray) -> np.ndarray:
        """Scores of every catalogue item for user positions (-1: the fallback row)."""
        users = np.asarray(users, dtype=np.int64)
        out = np.empty((len(users), self.n_items_), dtype=np.float64)
        known = np.flatnonzero(users >= 0)
        for start in range(0, len(known), SCORE_CHUNK):
            rows = known[start : start + SCORE_CHUNK]
            out[rows] = self._scores(users[rows])
        if len(known) < len(users):
            out[users < 0] = self.fallback_scores()
        if not np.isfinite(out).all():
            out = np.nan_to_num(out, nan=-1e30, posinf=1e30, neginf=-1e30)
        return out

    def seen_mask(self, users: np.ndarray) -> np.ndarray:
        """Boolean (len(users), n_items): the user's training items (none for unknown users)."""
        mask = np.zeros((len(users), self.n_items_), dtype=bool)
        for row, u in enumerate(users):
            if u >= 0:
                mask[row, self.seen_indices_[self.seen_indptr_[u] : self.seen_indptr_[u + 1]]] = (
                    True
                )
        return mask

    # --- answers --------------------------------------------------------------------------------

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The predicted rating (explicit) or score (implicit) of every (user, item) row; a
        pair with an unknown user or item gets the fallback (global mean for an unknown item)."""
        users, items = self.user_codes(X[self.user]), self.item_codes(X[self.item])
        out = np.empty(len(users), dtype=np.float64)
        uniq, inverse = np.unique(users, return_inverse=True)
        scores = self.scores_for(uniq)
        known_item = items >= 0
        out[known_item] = scores[inverse[known_item], items[known_item]]
        if self.explicit_:
            out[~known_item] = self.global_mean_
            low, high = self.rating_range_
            return np.clip(out, low, high)
        out[~known_item] = 0.0
        return out

    def recommend(
        self, users: Any, k: int = 10, exclude_seen: bool = True
    ) -> tuple[list[list[str]], np.ndarray, np.ndarray]:
        """The top-``k`` items per user (ids), their scores, and whether each user was unknown
        in training (then the fallback ranking answered)."""
        codes = self.user_codes(users)
        scores = self.scores_for(codes)
        seen = self.seen_mask(codes) if exclude_seen else np.zeros_like(scores, dtype=bool)
        lists: list[list[str]] = []
        values = np.full((len(codes), k), np.nan)
        for row in range(len(codes)):
            top = top_items(scores[row], seen[row], k)
            top = top[top >= 0]
            lists.append([self.item_ids_[i] for i in top])
            values[row, : len(top)] = scores[row, top]
        return lists, values, codes < 0

    def item_vectors(self) -> np.ndarray:
        """One vector per catalogue item for ``similar_items``: the users who interacted with
        it (a factor model returns its item factors)."""
        return self.seen_matrix().T.toarray()

    def similar_items(self, item: Any, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` items most similar to ``item`` (cosine of ``item_vectors``); [] when the
        item is not in the catalogue."""
        code = int(self.item_codes([item])[0])
        if code < 0:
            return []
        vectors = np.asarray(self.item_vectors(), dtype=np.float64)
        norms = np.linalg.norm(vectors, axis=1) + 1e-12
        sims = vectors @ vectors[code] / (norms * norms[code])
        sims[code] = -np.inf
        order = np.argsort(-sims, kind="stable")[:k]
        return [(self.item_ids_[i], float(sims[i])) for i in order if np.isfinite(sims[i])]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        for key in [k for k in state if k.startswith("_cache_")]:
            del state[key]
        return state
