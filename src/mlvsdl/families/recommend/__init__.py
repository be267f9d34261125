"""Recommendation families (``--task recommend``). Importing this package registers them.

Each factory returns ``Pipeline([("model", recommender)])``: a recommender reads the user, item
(and time) columns itself, so there is no preparation step; the pipeline gives every family the
same ``model__`` parameters (``model__max_time_s`` for the ones that stop on a clock). A family
serves explicit feedback (ratings), implicit feedback, or both (``RecommendFamily.modes``); the
baseline is the ``dummy`` family (popularity, or the shrunk mean rating of each item).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sklearn.pipeline import Pipeline

from mlvsdl.families.base import Family
from mlvsdl.families.recommend.base import BaseRecommender
from mlvsdl.families.recommend.classical import (
    ALSRecommender,
    BiasedMFRecommender,
    BPRRecommender,
    EASERecommender,
    ItemKNNRecommender,
    PopularityRecommender,
    UserKNNRecommender,
)
from mlvsdl.families.recommend.deep import MultVAERecommender, NeuMFRecommender
from mlvsdl.families.recommend.sequential import SASRecRecommender
from mlvsdl.families.registry import register
from mlvsdl.types import Kind, Modality, Schema, Task

__all__ = [
    "BaseRecommender",
    "RecommendFamily",
    "popularity_pipeline",
    "recommend_pipeline",
]

RECOMMEND = frozenset({Task.RECOMMEND})
TABLES = frozenset({Modality.TABULAR})
BOTH = frozenset({"explicit", "implicit"})


@dataclass(frozen=True)
class RecommendFamily(Family):
    """A family of ``--task recommend`` for the feedback it can learn from."""

    modes: frozenset[str] = BOTH
    needs_time: bool = False  # a sequential model: only for runs with --time

    def supports(self, schema: Schema) -> bool:
        mode = schema.options.get("mode")
        timed = not self.needs_time or bool(schema.options.get("time"))
        return super().supports(schema) and mode in self.modes and timed


def recommend_pipeline(schema: Schema, model: BaseRecommender) -> Pipeline:
    """``model`` told the run's column names, in a one-step pipeline."""
    o = schema.options
    model.set_params(user=o["user"], item=o["item"], time=o.get("time"))
    return Pipeline([("model", model)])


def popularity_pipeline(schema: Schema, seed: int) -> Pipeline:
    """The baseline (the ``dummy`` family of a recommendation run)."""
    return recommend_pipeline(schema, PopularityRecommender())


def _factory(cls: type[BaseRecommender], **params: Any) -> Callable[[Schema, int], Pipeline]:
    def factory(schema: Schema, seed: int) -> Pipeline:
        extra = {"random_state": seed} if "random_state" in cls().get_params() else {}
        return recommend_pipeline(schema, cls(**params, **extra))

    return factory


for _family in (
    RecommendFamily(
        "item_knn",
        "Item k-NN",
        Kind.ML,
        RECOMMEND,
        TABLES,
        _factory(ItemKNNRecommender),
        relative_cost=0.5,
        interpretable=True,
        description="Items similar to the user's (cosine, shrinkage); with ratings, kNN over a "
        "biased baseline.",
    ),
    RecommendFamily(
        "user_knn",
        "User k-NN",
        Kind.ML,
        RECOMMEND,
        TABLES,
        _factory(UserKNNRecommender),
        relative_cost=0.5,
        interpretable=True,
        description="What similar users took (cosine, shrinkage); with ratings, kNN over a "
        "biased baseline.",
    ),
    RecommendFamily(
        "ease",
        "EASE",
        Kind.ML,
        RECOMMEND,
        TABLES,
        _factory(EASERecommender),
        relative_cost=0.5,
        description="Steck's closed-form item-item model (implicit feedback).",
        modes=frozenset({"implicit"}),
    ),
    RecommendFamily(
        "als",
        "ALS (implicit)",
        Kind.ML,
        RECOMMEND,
        TABLES,
        _factory(ALSRecommender),
        relative_cost=1.0,
        description="Alternating least squares on implicit feedback (the implicit library).",
        modes=frozenset({"implicit"}),
    ),
    RecommendFamily(
        "bpr",
        "BPR",
        Kind.ML,
        RECOMMEND,
        TABLES,
        _factory(BPRRecommender),
        relative_cost=1.0,
        description="Bayesian personalized ranking (the implicit library).",
        modes=frozenset({"implicit"}),
    ),
    RecommendFamily(
        "biased_mf",
        "Biased MF (SGD)",
        Kind.ML,
        RECOMMEND,
        TABLES,
        _factory(BiasedMFRecommender),
        relative_cost=2.0,
        self_limiting=True,
        description="mu + b_u + b_i + p_u.q_i by stochastic gradient descent (SVD-style), "
        "explicit ratings.",
        modes=frozenset({"explicit"}),
    ),
    RecommendFamily(
        "neumf",
        "NeuMF",
        Kind.DL,
        RECOMMEND,
        TABLES,
        _factory(NeuMFRecommender),
        relative_cost=20.0,
        self_limiting=True,
        description="Neural collaborative filtering: GMF + MLP over user and item embeddings.",
    ),
    RecommendFamily(
        "mult_vae",
        "Mult-VAE",
        Kind.DL,
        RECOMMEND,
        TABLES,
        _factory(MultVAERecommender),
        relative_cost=20.0,
        self_limiting=True,
        description="Variational autoencoder over user histories (implicit feedback).",
        modes=frozenset({"implicit"}),
    ),
    RecommendFamily(
        "sasrec",
        "SASRec",
        Kind.DL,
        RECOMMEND,
        TABLES,
        _factory(SASRecRecommender),
        relative_cost=20.0,
        self_limiting=True,
        description="Self-attentive sequential recommendation: the next item after each "
        "user's latest (implicit feedback, with --time).",
        modes=frozenset({"implicit"}),
        needs_time=True,
    ),
):
    register(_family)
