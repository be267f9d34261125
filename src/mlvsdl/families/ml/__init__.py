"""Classical machine-learning families for tables.

Each family is one ``register(Family(...))`` call plus a factory that wraps a scikit-learn or
LightGBM estimator in the shared cleaning step and the encoder that suits it: one-hot and scaling
for linear, distance and Bayes models; ordinal codes for trees.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from sklearn.base import BaseEstimator
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import Pipeline
from sklearn.random_projection import GaussianRandomProjection
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from mlvsdl.families.base import Family
from mlvsdl.families.ml.boosting import (
    CatBoostClassifier,
    CatBoostRegressor,
    XGBoostClassifier,
    XGBoostRegressor,
)
from mlvsdl.families.ml.constant import ChanceClusterer, ConstantDetector
from mlvsdl.families.ml.lgbm import TimedLGBMClassifier, TimedLGBMRegressor
from mlvsdl.families.registry import register
from mlvsdl.features.tabular import (
    cleaned_columns,
    linear_encoder,
    ordinal_encoder,
    table_cleaner,
)
from mlvsdl.search.tune import TunedClassifier, TunedRegressor
from mlvsdl.types import SUPERVISED, Kind, Modality, Schema, Task

ALL_TASKS = SUPERVISED  # the prediction tasks; other tasks have families of their own
CLASSIFICATION = frozenset({Task.BINARY, Task.MULTICLASS})
TABULAR = frozenset({Modality.TABULAR})
# A model's threads: all cores, or a worker's share when trials run in parallel (search/executor).
N_JOBS = max(1, int(os.environ.get("MLVSDL_THREADS") or 0) or os.cpu_count() or 1)
# Below this many rows LightGBM trains on one thread: threads gain little on small data, and when
# the cores are busy with other work its OpenMP threads wait on each other (measured: 300 rounds
# on 10k rows took 0.7 s on one thread and 2.5-44 s on two beside one other busy process).
LGBM_THREADED_ROWS = 50_000


def lgbm_threads(n_rows: int) -> int:
    """LightGBM's (and XGBoost's and CatBoost's) thread count for a table of ``n_rows``."""
    return N_JOBS if n_rows >= LGBM_THREADED_ROWS else 1


def _pipeline(schema: Schema, encoder: BaseEstimator | None, model: BaseEstimator) -> Pipeline:
    steps = [("clean", table_cleaner(schema))]
    if encoder is not None:
        steps.append(("encode", encoder))
    return Pipeline([*steps, ("model", model)])


def _dummy(schema: Schema, seed: int) -> Pipeline:
    if schema.task is Task.ANOMALY:
        return _pipeline(schema, linear_encoder(schema), ConstantDetector())
    if schema.task is Task.EMBED:  # a random projection: the structure any D directions keep
        from mlvsdl.families.embed import embed_pipeline

        dims = int(schema.options.get("dims", 2))
        projection = GaussianRandomProjection(
            dims, compute_inverse_components=True, random_state=seed
        )
        return embed_pipeline(schema, projection)
    if schema.task is Task.CLUSTER:
        from mlvsdl.families.cluster import build_cluster_pipeline, evaluation_space

        model = ChanceClusterer(schema.options.get("k"), evaluation_space(schema, seed))
        return build_cluster_pipeline(schema, model)
    if schema.task is Task.FORECAST:  # the seasonal naive forecast
        from mlvsdl.families.forecast import seasonal_naive

        return seasonal_naive(schema, seed)
    if schema.task is Task.RECOMMEND:  # popularity, or each item's shrunk mean rating
        from mlvsdl.families.recommend import popularity_pipeline

        return popularity_pipeline(schema, seed)
    if schema.task is Task.SYNTHESIZE:  # independent marginals: every association lost
        from mlvsdl.families.synth import MarginalSynthesizer, sampler_pipeline

        return sampler_pipeline(schema, MarginalSynthesizer, seed)
    if schema.task.is_classification:
        model = DummyClassifier(strategy="prior", random_state=seed)
    else:
        model = DummyRegressor(strategy="mean")
    return _pipeline(schema, None, model)


def _linear(schema: Schema, seed: int) -> Pipeline:
    if schema.task.is_classification:
        model = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
    else:
        model = Ridge(alpha=1.0, random_state=seed)
    return _pipeline(schema, linear_encoder(schema), model)


def _knn(schema: Schema, seed: int) -> Pipeline:
    cls = KNeighborsClassifier if schema.task.is_classification else KNeighborsRegressor
    return _pipeline(schema, linear_encoder(schema), cls(n_neighbors=15, weights="distance"))


def _naive_bayes(schema: Schema, seed: int) -> Pipeline:
    return _pipeline(schema, linear_encoder(schema, dense=True), GaussianNB())


def _decision_tree(schema: Schema, seed: int) -> Pipeline:
    cls = DecisionTreeClassifier if schema.task.is_classification else DecisionTreeRegressor
    model = cls(min_samples_leaf=5, max_depth=12, random_state=seed)
    return _pipeline(schema, ordinal_encoder(schema), model)


RF_MAX_LEAVES = 10_000  # leaves per tree of the random forest


def _random_forest(schema: Schema, seed: int) -> Pipeline:
    cls = RandomForestClassifier if schema.task.is_classification else RandomForestRegressor
    # One thread: a forest predicting on several threads adds tree outputs in a varying order,
    # so its probabilities (and scores) would change in the last bits from call to call.
    # At most RF_MAX_LEAVES leaves a tree: fully grown trees grow with the data (150 of them on
    # 100k rows pickle to 593 MB, on 300k to about 1.8 GB, and a 1M-row run peaked at 9.8 GB);
    # capped, the forest stays near 220 MB at any size, for 0.2 % more RMSE on 100k rows.
    model = cls(
        n_estimators=150,
        min_samples_leaf=2,
        max_leaf_nodes=RF_MAX_LEAVES,
        max_features="sqrt",
        n_jobs=1,
        random_state=seed,
    )
    return _pipeline(schema, ordinal_encoder(schema), model)


def _lgbm(schema: Schema, seed: int) -> Pipeline:
    cls = TimedLGBMClassifier if schema.task.is_classification else TimedLGBMRegressor
    model = cls(
        n_estimators=300,
        learning_rate=0.05,
        num_leaves=31,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        random_state=seed,
        n_jobs=lgbm_threads(schema.n_rows),
        verbose=-1,
    )
    return _pipeline(schema, ordinal_encoder(schema), model)


def _xgboost(schema: Schema, seed: int) -> Pipeline:
    cls = XGBoostClassifier if schema.task.is_classification else XGBoostRegressor
    model = cls(n_jobs=lgbm_threads(schema.n_rows), random_state=seed)
    return _pipeline(schema, ordinal_encoder(schema), model)


def _catboost(schema: Schema, seed: int) -> Pipeline:
    cls = CatBoostClassifier if schema.task.is_classification else CatBoostRegressor
    _, categorical = cleaned_columns(schema)  # the ordinal encoder puts their codes last
    model = cls(
        n_categorical=len(categorical), n_jobs=lgbm_threads(schema.n_rows), random_state=seed
    )
    return _pipeline(schema, ordinal_encoder(schema), model)


def _tuned(library: str) -> Callable[[Schema, int], Pipeline]:
    def factory(schema: Schema, seed: int) -> Pipeline:
        cls = TunedClassifier if schema.task.is_classification else TunedRegressor
        _, categorical = cleaned_columns(schema)
        model = cls(
            library=library,
            n_categorical=len(categorical),
            n_jobs=lgbm_threads(schema.n_rows),
            random_state=seed,
        )
        return _pipeline(schema, ordinal_encoder(schema), model)

    return factory


for _family in (
    Family(
        "dummy",
        "Dummy baseline",
        Kind.ML,
        ALL_TASKS
        | {Task.ANOMALY, Task.CLUSTER, Task.EMBED, Task.FORECAST, Task.RECOMMEND, Task.SYNTHESIZE},
        frozenset(Modality) - {Modality.SERIES},  # the baseline of every comparison
        _dummy,
        relative_cost=0.01,
        priority=0,
        interpretable=True,
        description=(
            "Predicts the class prior or the mean (anomaly detection: scores every row alike; "
            "dimensionality reduction: a seeded Gaussian random projection; clustering: chance "
            "groups by a hash of each row; forecasting: the seasonal naive forecast; "
            "recommendations: the most popular items, or each item's mean rating; synthesis: "
            "independent marginals); the score every model must beat."
        ),
    ),
    Family(
        "linear",
        "Linear (logistic / ridge)",
        Kind.ML,
        ALL_TASKS,
        TABULAR,
        _linear,
        relative_cost=1.0,
        priority=0,
        interpretable=True,
        description="Logistic regression or ridge on one-hot and standardized inputs.",
    ),
    Family(
        "naive_bayes",
        "Gaussian naive Bayes",
        Kind.ML,
        CLASSIFICATION,
        TABULAR,
        _naive_bayes,
        relative_cost=0.3,
        # per-class means and variances settle long before this; its one-hot input is dense
        max_train_rows=100_000,
        interpretable=True,
        description="Per-class Gaussian likelihoods with independent features.",
    ),
    Family(
        "decision_tree",
        "Decision tree",
        Kind.ML,
        ALL_TASKS,
        TABULAR,
        _decision_tree,
        relative_cost=1.0,
        interpretable=True,
        description="One depth-limited CART tree on ordinal-coded inputs.",
    ),
    Family(
        "lgbm",
        "LightGBM",
        Kind.ML,
        ALL_TASKS,
        TABULAR,
        _lgbm,
        relative_cost=3.0,
        self_limiting=True,  # stops boosting at its allowance (families/ml/lgbm.py)
        priority=0,
        description="Gradient-boosted trees (300 rounds, 31 leaves).",
    ),
    Family(
        "xgboost",
        "XGBoost",
        Kind.ML,
        ALL_TASKS,
        TABULAR,
        _xgboost,
        relative_cost=6.0,
        self_limiting=True,
        description=(
            "Gradient-boosted trees, tuned defaults of Holzmüller et al. 2024 (up to 1,000 "
            "rounds, early stopping on a 20 % inner split)."
        ),
    ),
    Family(
        "catboost",
        "CatBoost",
        Kind.ML,
        ALL_TASKS,
        TABULAR,
        _catboost,
        relative_cost=8.0,
        self_limiting=True,
        description=(
            "Oblivious boosted trees with ordered target statistics for categoricals, tuned "
            "defaults of Holzmüller et al. 2024 (early stopping on a 20 % inner split)."
        ),
    ),
    # Searched within their allowance (search/tune.py), when named (--families): run by
    # default, each would take a share of every self-limiting family's allowance. Costed to run
    # after the networks, so that a short budget is not taken from them.
    Family(
        "xgboost_tuned",
        "XGBoost, tuned",
        Kind.ML,
        ALL_TASKS,
        TABULAR,
        _tuned("xgboost"),
        relative_cost=80.0,
        self_limiting=True,
        opt_in=True,
        description=(
            "XGBoost whose hyperparameters are searched within its time allowance (Optuna TPE "
            "with median pruning, the tuned defaults tried first); only when named."
        ),
    ),
    Family(
        "catboost_tuned",
        "CatBoost, tuned",
        Kind.ML,
        ALL_TASKS,
        TABULAR,
        _tuned("catboost"),
        relative_cost=90.0,
        self_limiting=True,
        opt_in=True,
        description=(
            "CatBoost whose hyperparameters are searched within its time allowance (Optuna TPE "
            "with median pruning, the tuned defaults tried first); only when named."
        ),
    ),
    Family(
        "knn",
        "k-nearest neighbours",
        Kind.ML,
        ALL_TASKS,
        TABULAR,
        _knn,
        relative_cost=1.0,
        max_train_rows=20_000,
        lazy=True,
        description="Distance-weighted vote of the 15 nearest rows in standardized space.",
    ),
    Family(
        "random_forest",
        "Random forest",
        Kind.ML,
        ALL_TASKS,
        TABULAR,
        _random_forest,
        relative_cost=8.0,
        max_train_rows=300_000,
        description="150 bagged trees with random feature subsets.",
    ),
):
    register(_family)
