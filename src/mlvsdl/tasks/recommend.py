"""Recommendations: learn from interactions (user, item[, rating][, time]) which items to offer.

Two modes, fixed by the data: with ``--rating`` the run is **explicit** (a model predicts each
held-out rating: RMSE, primary, and MAE); without, **implicit** (a model ranks, for each user,
every catalogue item the user did not interact with in training; the held-out items' ranks give
NDCG@10, primary, recall@20, HR@10 and MRR, and the top-10 lists give catalogue coverage and the
popularity of what is recommended — ``evaluate/ranking.py`` defines them). Rankings are over the
full catalogue, never sampled negatives.

The split is per user (``split_frame``): with ``--time``, leave-last-out — each user's newest
interaction is the test, the one before it the validation (fold j of K validates on the
(j+1)-th newest training interaction, the model fitted on every other training row); without a
time column, a seeded random ``test_size`` share of each user's interactions is the test (at
least one), and the training interactions are cut into K folds per user, seeded. Users with fewer
than ``MIN_USER_ROWS`` interactions stay in training only. The test rows are scored once; no
model ever fits on a held-out interaction (``tests/tasks/test_recommend.py`` checks it).

A model answers ``predict`` (the rating or score of (user, item) pairs) and ``recommend``
(top-k unseen items per user); a user unseen in training gets the popularity (or mean-rating)
fallback, flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.data.recommend_options import MIN_USER_ROWS, id_strings
from mlvsdl.data.split import Splits
from mlvsdl.errors import ConfigError, DataError
from mlvsdl.evaluate.ranking import RANKING_METRICS, TOP_K, per_user, ranking_scores, ranks_and_top
from mlvsdl.tasks.base import Predictions, TaskSpec
from mlvsdl.types import Schema, Task

__all__ = ["RECOMMEND", "RecommendPredictions", "RecommendTask", "final_step", "per_user_split"]

BOOTSTRAPS = 50


@dataclass(frozen=True, eq=False)
class RecommendPredictions(Predictions):
    """``values``: the rank of each row's item among the user's unseen items (implicit) or the
    predicted rating (explicit); ``scores``: the model's score; ``users``: the user of each row;
    ``top``: each user's top-10 catalogue positions (rows in the order of ``top_users``);
    ``fallback``: rows whose user was unseen in training; ``item_share``: each catalogue item's
    share of training users."""

    users: np.ndarray | None = None
    top: np.ndarray | None = None
    top_users: np.ndarray | None = None
    fallback: np.ndarray | None = None
    item_share: np.ndarray | None = None

    def take(self, rows: np.ndarray) -> RecommendPredictions:
        keep = None
        if self.top is not None and self.top_users is not None and self.users is not None:
            keep = np.isin(self.top_users, self.users[rows])
        return RecommendPredictions(
            self.values[rows],
            scores=None if self.scores is None else self.scores[rows],
            users=None if self.users is None else self.users[rows],
            top=None if keep is None else self.top[keep],
            top_users=None if keep is None else self.top_users[keep],
            fallback=None if self.fallback is None else self.fallback[rows],
            item_share=self.item_share,
        )


def final_step(estimator: Any) -> Any:
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator


def per_user_split(
    users: np.ndarray,
    times: np.ndarray | None,
    test_size: float,
    n_folds: int,
    seed: int,
) -> Splits:
    """Test rows and validation folds per user (see the module docstring)."""
    rng = np.random.default_rng(seed)
    codes, _ = pd.factorize(pd.Series(users))
    n = len(codes)
    if times is None:
        key = rng.permutation(n).astype(np.float64)  # a seeded random order per user
    else:
        key = np.asarray(times, dtype=np.float64)
    # each user's rows, oldest first (ties: file order); position from the newest
    order = np.lexsort((np.arange(n), key, codes))
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    sizes = np.diff(np.r_[starts, n])
    size_of = np.repeat(sizes, sizes)
    from_newest = np.empty(n, dtype=np.int64)
    from_newest[order] = size_of - 1 - (np.arange(n) - np.repeat(starts, sizes))
    user_size = np.empty(n, dtype=np.int64)
    user_size[order] = size_of
    eligible = user_size >= MIN_USER_ROWS
    if times is not None:
        n_test = np.ones(n, dtype=np.int64)
    else:
        n_test = np.clip(np.floor(user_size * test_size + 0.5), 1, user_size - 2).astype(np.int64)
    is_test = eligible & (from_newest < n_test)
    if not is_test.any():
        raise DataError(
            f"no user has {MIN_USER_ROWS} or more interactions, so nothing can be tested; add "
            "interactions."
        )
    test = np.flatnonzero(is_test)
    train = np.flatnonzero(~is_test)
    position = from_newest[train] - np.where(eligible[train], n_test[train], 0)  # 0: newest
    left = (user_size - np.where(eligible, n_test, 0))[train]  # training rows of the user
    can_validate = eligible[train] & (left >= 2)
    folds = []
    k = max(n_folds, 1)
    for j in range(k):
        if times is not None:  # the (j+1)-th newest training interaction, if one stays to fit
            val = can_validate & (position == j) & (left >= j + 2)
        elif k == 1:  # one seeded share of each user's training rows
            share = np.clip(np.floor(left * test_size + 0.5), 1, left - 1)
            val = can_validate & (position < share)
        else:  # per-user K-fold over the training rows
            val = can_validate & (position % k == j)
        if val.any():
            folds.append((np.flatnonzero(~val), np.flatnonzero(val)))
    if not folds:
        raise DataError(
            "no user has enough training interactions for a validation fold; add interactions "
            "or lower --cv."
        )
    return Splits(train=train, test=test, folds=tuple(folds))


class RecommendTask(TaskSpec):
    task = Task.RECOMMEND
    title = "Recommendations"
    target = "evaluation"  # the rating, when given, is the explicit models' target
    metrics = ("rmse", "mae", *RANKING_METRICS, "coverage", "popularity")
    default_metric = "ndcg_at_10"
    baseline = "dummy"
    answers = ("predict",)  # and the final step's ``recommend`` (a pipeline does not pass it on)
    report_sections = (
        "recommendation",
        "leaderboard",
        "recommenders",
        "activity",
        "rec_examples",
        "cost",
        "overfitting",
        "provenance",
    )

    def metric_for(self, schema: Schema, requested: str | None) -> str:
        if requested:
            return requested
        return "rmse" if schema.options.get("mode") == "explicit" else "ndcg_at_10"

    def check_plan(self, frame: pd.DataFrame, schema: Schema, metric: str) -> None:
        explicit = schema.options.get("mode") == "explicit"
        allowed = ("rmse", "mae") if explicit else (*RANKING_METRICS, "coverage", "popularity")
        if metric not in allowed:
            mode = "explicit (--rating given)" if explicit else "implicit (no --rating)"
            raise ConfigError(
                f"--metric {metric} does not apply to {mode} recommendations; use one of: "
                f"{', '.join(allowed)}."
            )

    def split_frame(
        self,
        frame: pd.DataFrame,
        schema: Schema,
        y: np.ndarray | None,
        test_size: float,
        n_folds: int,
        seed: int,
    ) -> Splits:
        time = schema.options.get("time")
        times = frame[time].to_numpy(dtype=np.float64) if time else None
        users = frame[schema.options["user"]].to_numpy()
        return per_user_split(users, times, test_size, n_folds, seed)

    def split(
        self, y: np.ndarray | None, n_rows: int, test_size: float, n_folds: int, seed: int
    ) -> Splits:
        raise DataError("a recommendation split needs the interactions (split_frame).")

    def fit(self, estimator: Any, X: pd.DataFrame, y: np.ndarray | None) -> Any:
        return estimator.fit(X, y)

    def predict(self, estimator: Any, X: pd.DataFrame) -> Predictions:
        model = final_step(estimator)
        users = id_strings(X[model.user]).to_numpy(dtype=object)
        if model.explicit_:
            values = np.asarray(model.predict(X), dtype=np.float64)
            codes = model.user_codes(users)
            items = id_strings(X[model.item]).to_numpy(dtype=object)
            fallback = (codes < 0) | (model.item_codes(items) < 0)
            return RecommendPredictions(
                values, scores=values, space=items, users=users, fallback=fallback
            )
        return _ranked(model, X, users)

    def score(self, y: np.ndarray | None, predictions: Predictions) -> dict[str, float]:
        p = predictions
        if not isinstance(p, RecommendPredictions) or p.users is None:
            return {}
        if y is not None and len(y):  # explicit: ratings
            err = np.asarray(p.values, dtype=np.float64) - np.asarray(y, dtype=np.float64)
            return {"rmse": float(np.sqrt(np.mean(err**2))), "mae": float(np.mean(np.abs(err)))}
        n_items = 0 if p.item_share is None else len(p.item_share)
        return ranking_scores(p.values, p.users, p.top, n_items, p.item_share)

    def spread(
        self, metric: str, y: np.ndarray | None, predictions: Predictions, seed: int
    ) -> float | None:
        """Bootstrap standard deviation over users (ranking) or rows (ratings)."""
        p = predictions
        if not isinstance(p, RecommendPredictions) or p.users is None or len(p.values) < 2:
            return None
        rng = np.random.default_rng(seed)
        if y is not None and metric in ("rmse", "mae"):
            err = np.asarray(p.values, dtype=np.float64) - np.asarray(y, dtype=np.float64)
            stats = []
            for _ in range(BOOTSTRAPS):
                e = err[rng.integers(0, len(err), len(err))]
                stats.append(np.sqrt(np.mean(e**2)) if metric == "rmse" else np.mean(np.abs(e)))
            return float(np.std(stats))
        if metric not in RANKING_METRICS:
            return None
        values = per_user(p.values, p.users)[metric]
        means = [values[rng.integers(0, len(values), len(values))].mean() for _ in range(50)]
        return float(np.std(means))

    def output_columns(self, schema: Schema) -> list[str]:
        o = schema.options
        return [o["user"], o["item"], o.get("rating") or "score", "fallback"]

    def to_frame(self, predictions: Predictions, schema: Schema) -> pd.DataFrame:
        """(user, item) pairs with their predicted rating (explicit) or score (implicit); the
        items are those of the input (``predict`` keeps them in ``space``)."""
        o = schema.options
        p = predictions
        items = p.space if p.space is not None else np.full(len(p.values), None)
        value = p.values if o.get("mode") == "explicit" else p.scores
        return pd.DataFrame(
            {
                o["user"]: p.users if isinstance(p, RecommendPredictions) else None,
                o["item"]: items,
                o.get("rating") or "score": np.asarray(value, dtype=np.float64),
                "fallback": (
                    p.fallback.astype(bool)
                    if isinstance(p, RecommendPredictions) and p.fallback is not None
                    else False
                ),
            }
        )

    def to_records(self, predictions: Predictions, schema: Schema) -> list[dict[str, Any]]:
        frame = self.to_frame(predictions, schema)
        return [
            {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in frame.to_dict("records")
        ]


def _ranked(model: Any, X: pd.DataFrame, users: np.ndarray) -> RecommendPredictions:
    """Each row's rank (its item among the user's unseen items and itself), each user's top-10
    and the scores, one user at a time over the full catalogue."""
    items = model.item_codes(X[model.item])
    codes = model.user_codes(users)
    uniq, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    ranks = np.empty(len(codes), dtype=np.int64)
    scores = np.zeros(len(codes), dtype=np.float64)
    top = np.full((len(uniq), TOP_K), -1, dtype=np.int64)
    by_user = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[by_user], np.arange(len(uniq) + 1))
    chunk = 512
    for start in range(0, len(uniq), chunk):
        block = uniq[start : start + chunk]
        block_scores = model.scores_for(block)
        seen = model.seen_mask(block)
        for j in range(len(block)):
            rows = by_user[bounds[start + j] : bounds[start + j + 1]]
            targets = items[rows]
            ranks[rows], top[start + j] = ranks_and_top(block_scores[j], seen[j], targets)
            known = targets >= 0
            scores[rows[known]] = block_scores[j, targets[known]]
    return RecommendPredictions(
        ranks,
        scores=scores,
        space=id_strings(X[model.item]).to_numpy(dtype=object),
        users=users,
        top=top,
        top_users=users[first],
        fallback=codes < 0,
        item_share=np.asarray(model.item_share_, dtype=np.float64),
    )


RECOMMEND = RecommendTask()


def _register() -> None:
    from mlvsdl.tasks import register_task

    register_task(RECOMMEND)


_register()
