"""Anomaly-detection families. Importing this package registers them.

Each factory returns ``Pipeline([clean, encode, model])``: the shared cleaning step, one-hot
categoricals with imputed, standardized numerics (dense), and a detector that follows
scikit-learn's outlier convention through :class:`~mlvsdl.families.anomaly.base.BaseDetector`
(``score_samples``: lower = more abnormal; ``decision_function``; ``predict``: -1 / +1;
``feature_contributions``). Detectors never see a label: fit ignores ``y``.
"""

from __future__ import annotations

from collections.abc import Callable

from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from mlvsdl.families.anomaly.base import BaseDetector
from mlvsdl.families.anomaly.classical import (
    GaussianMixtureDetector,
    IsolationForestDetector,
    KNNDistanceDetector,
    LOFDetector,
    OneClassSVMDetector,
    PCADetector,
)
from mlvsdl.families.anomaly.deep import AutoencoderDetector, DeepSVDDDetector, VAEDetector
from mlvsdl.families.anomaly.ecod import ECODDetector
from mlvsdl.families.base import Family
from mlvsdl.families.registry import register
from mlvsdl.features.tabular import linear_encoder, table_cleaner
from mlvsdl.types import Kind, Modality, Schema, Task

__all__ = [
    "AutoencoderDetector",
    "BaseDetector",
    "DeepSVDDDetector",
    "ECODDetector",
    "GaussianMixtureDetector",
    "IsolationForestDetector",
    "KNNDistanceDetector",
    "LOFDetector",
    "OneClassSVMDetector",
    "PCADetector",
    "VAEDetector",
    "build_detector_pipeline",
]

ANOMALY = frozenset({Task.ANOMALY})
TABULAR = frozenset({Modality.TABULAR})


def build_detector_pipeline(schema: Schema, detector: BaseEstimator) -> Pipeline:
    """Unfitted ``clean -> encode (one-hot + standardized numerics, dense) -> detector``."""
    return Pipeline(
        [
            ("clean", table_cleaner(schema)),
            ("encode", linear_encoder(schema, dense=True)),
            ("model", detector),
        ]
    )


def _factory(detector_class: type[BaseDetector]) -> Callable[[Schema, int], Pipeline]:
    def factory(schema: Schema, random_state: int) -> Pipeline:
        return build_detector_pipeline(schema, detector_class(random_state=random_state))

    factory.__name__ = f"build_{detector_class.__name__}"
    return factory


for _family in (
    Family(
        "iforest",
        "Isolation forest",
        Kind.ML,
        ANOMALY,
        TABULAR,
        _factory(IsolationForestDetector),
        relative_cost=2.0,
        priority=0,
        description="200 random isolation trees; rows isolated in few splits are anomalies.",
    ),
    Family(
        "ecod",
        "ECOD",
        Kind.ML,
        ANOMALY,
        TABULAR,
        _factory(ECODDetector),
        relative_cost=0.5,
        priority=0,
        interpretable=True,
        description="Empirical-CDF tail probabilities per feature, summed (Li et al. 2022).",
    ),
    Family(
        "pca_recon",
        "PCA reconstruction",
        Kind.ML,
        ANOMALY,
        TABULAR,
        _factory(PCADetector),
        relative_cost=0.5,
        max_train_rows=200_000,
        interpretable=True,
        description="Squared distance to the principal subspace keeping 90 % of the variance.",
    ),
    Family(
        "gmm",
        "Gaussian mixture",
        Kind.ML,
        ANOMALY,
        TABULAR,
        _factory(GaussianMixtureDetector),
        relative_cost=3.0,
        max_train_rows=100_000,
        description="Negative log-likelihood under a Gaussian mixture (1, 2 or 4 parts by BIC).",
    ),
    Family(
        "knn_dist",
        "k-NN distance",
        Kind.ML,
        ANOMALY,
        TABULAR,
        _factory(KNNDistanceDetector),
        relative_cost=1.0,
        max_train_rows=20_000,
        lazy=True,
        description="Distance to the 10th nearest training row in standardized space.",
    ),
    Family(
        "lof",
        "Local outlier factor",
        Kind.ML,
        ANOMALY,
        TABULAR,
        _factory(LOFDetector),
        relative_cost=1.5,
        max_train_rows=20_000,
        lazy=True,
        description="Local density of a row against its 20 nearest neighbours' densities.",
    ),
    Family(
        "ocsvm",
        "One-class SVM",
        Kind.ML,
        ANOMALY,
        TABULAR,
        _factory(OneClassSVMDetector),
        relative_cost=3.0,
        max_train_rows=5_000,
        description="RBF one-class SVM on at most 5,000 rows (nu = contamination or 0.05).",
    ),
    Family(
        "autoencoder",
        "Autoencoder",
        Kind.DL,
        ANOMALY,
        TABULAR,
        _factory(AutoencoderDetector),
        relative_cost=20.0,
        max_train_rows=200_000,
        description="Dense autoencoder (64-unit layers); score = squared reconstruction error.",
        self_limiting=True,
    ),
    Family(
        "vae",
        "Variational autoencoder",
        Kind.DL,
        ANOMALY,
        TABULAR,
        _factory(VAEDetector),
        relative_cost=25.0,
        max_train_rows=200_000,
        description="VAE (Kingma & Welling 2014); score = negative ELBO at the posterior mean.",
        self_limiting=True,
    ),
    Family(
        "deep_svdd",
        "Deep SVDD",
        Kind.DL,
        ANOMALY,
        TABULAR,
        _factory(DeepSVDDDetector),
        relative_cost=15.0,
        max_train_rows=200_000,
        description="One-class Deep SVDD (Ruff et al. 2018); distance to a fixed centre.",
        self_limiting=True,
    ),
):
    register(_family)
