"""Ranking metrics of recommendations over the full item catalogue.

Every held-out interaction (user u, item i) comes with the **rank** of i in u's ranking of every
catalogue item u did not interact with in training (1 = first; ties broken by catalogue order,
as the top-k lists are). Nothing is sampled: sampled negatives can reverse the order of models
(Krichene & Rendle, 2020). Per user, with R the user's held-out items and r_i their ranks:

* ``ndcg_at_10`` = sum over i in R with r_i <= 10 of 1/log2(r_i + 1), divided by the ideal
  sum over positions 1 .. min(|R|, 10) (binary relevance);
* ``recall_at_20`` = |{i in R: r_i <= 20}| / |R| (the definition of Microsoft's recommenders);
* ``hr_at_10`` = 1 when some r_i <= 10, else 0;
* ``mrr`` = 1 / min r_i;

each averaged over users (every user counts once, whatever its number of held-out items). Of the
top-10 lists: ``coverage`` = the share of the catalogue recommended to at least one user, and
``popularity`` = the mean, over the recommended items, of the share of training users who
interacted with the item (a popularity bias measure: the popularity baseline has the highest).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "RANKING_METRICS",
    "per_user",
    "ranking_scores",
    "ranks_and_top",
]

RANKING_METRICS = ("ndcg_at_10", "recall_at_20", "hr_at_10", "mrr")
TOP_K = 10
_DISCOUNT = 1.0 / np.log2(np.arange(2, TOP_K + 2))  # positions 1 .. 10
_IDEAL = np.concatenate([[0.0], np.cumsum(_DISCOUNT)])  # ideal DCG for 0 .. 10 relevant items


def per_user(ranks: np.ndarray, users: np.ndarray) -> dict[str, np.ndarray]:
    """Each ranking metric per user (users in order of first appearance)."""
    codes, _ = _factorize(users)
    n = int(codes.max()) + 1 if len(codes) else 0
    ranks = np.asarray(ranks, dtype=np.float64)
    gain = np.where(ranks <= TOP_K, 1.0 / np.log2(ranks + 1.0), 0.0)
    n_rel = np.bincount(codes, minlength=n)
    dcg = np.bincount(codes, weights=gain, minlength=n)
    ideal = _IDEAL[np.minimum(n_rel, TOP_K)]
    hits20 = np.bincount(codes, weights=(ranks <= 20).astype(float), minlength=n)
    hits10 = np.bincount(codes, weights=(ranks <= TOP_K).astype(float), minlength=n)
    best = np.full(n, np.inf)
    np.minimum.at(best, codes, ranks)
    return {
        "ndcg_at_10": dcg / ideal,
        "recall_at_20": hits20 / n_rel,
        "hr_at_10": (hits10 > 0).astype(float),
        "mrr": 1.0 / best,
    }


def _factorize(users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniques, first, codes = np.unique(np.asarray(users), return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # codes in order of first appearance
    remap = np.empty_like(order)
    remap[order] = np.arange(len(order))
    return remap[codes.ravel()], uniques[order]


def ranking_scores(
    ranks: np.ndarray,
    users: np.ndarray,
    top: np.ndarray | None = None,
    n_items: int = 0,
    item_share: np.ndarray | None = None,
) -> dict[str, float]:
    """The ranking metrics averaged over users; with the top-10 lists (one row of catalogue
    positions per user, -1 for an empty slot) also coverage and popularity."""
    if len(ranks) == 0:
        return {}
    out = {k: float(np.mean(v)) for k, v in per_user(ranks, users).items()}
    if top is not None and n_items:
        listed = top[top >= 0]
        out["coverage"] = float(len(np.unique(listed)) / n_items)
        if item_share is not None and len(listed):
            out["popularity"] = float(np.mean(item_share[listed]))
    return out


def ranks_and_top(
    scores: np.ndarray, seen: np.ndarray, targets: np.ndarray, k: int = TOP_K
) -> tuple[np.ndarray, np.ndarray]:
    """For one user: the rank of each target item among the items not ``seen`` (plus the target
    itself, so a training item can be ranked too), and the top-``k`` unseen items.

    ``scores``: one score per catalogue item (higher first); ``seen``: boolean mask of the
    user's training items; ``targets``: catalogue positions (-1: an item outside the catalogue,
    ranked last). Ties go to the earlier catalogue position, as in the top-k list.
    """
    scores = np.asarray(scores, dtype=np.float64)
    n = len(scores)
    candidate = ~seen
    ranks = np.empty(len(targets), dtype=np.int64)
    positions = np.arange(n)
    for j, t in enumerate(targets):
        if t < 0:
            ranks[j] = int(candidate.sum()) + 1
            continue
        s = scores[t]
        ahead = candidate & ((scores > s) | ((scores == s) & (positions < t)))
        ahead[t] = False
        ranks[j] = int(ahead.sum()) + 1
    return ranks, top_items(scores, seen, k)


def top_items(scores: np.ndarray, seen: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` best unseen catalogue positions, best first (-1 pads a short list)."""
    masked = np.where(seen, -np.inf, np.asarray(scores, dtype=np.float64))
    n_free = int((~seen).sum())
    take = min(k, n_free)
    if take == 0:
        return np.full(k, -1, dtype=np.int64)
    order = np.argsort(-masked, kind="stable")[:take]
    return np.concatenate([order, np.full(k - take, -1)]).astype(np.int64)
