"""Image families, classical and deep. Importing this package registers them.

Classical, on raw pixels beside HOG descriptors: ``image_logreg`` (all pixels),
``image_svm`` and ``image_lgbm`` (pixels reduced by PCA to 50 components). Networks on the
pixels, with light augmentation (random shifts): ``image_cnn`` (convolution + batch norm + max
pooling stages, fully connected head) and ``image_resnet`` (a small residual network).
"""

from __future__ import annotations

from functools import partial

from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC, SVR

from mlvsdl.families.base import Family
from mlvsdl.families.image.dl import build_image_net_pipeline
from mlvsdl.families.ml import lgbm_threads
from mlvsdl.families.ml.lgbm import TimedLGBMClassifier, TimedLGBMRegressor
from mlvsdl.families.registry import register
from mlvsdl.families.text.ml import CalibratedSVM
from mlvsdl.features.image import image_features
from mlvsdl.types import SUPERVISED, Kind, Modality, Schema

__all__ = ["IMAGE_FAMILIES", "lgbm_model", "logreg_model", "svm_model"]

ALL_TASKS = SUPERVISED  # the prediction tasks; other tasks have families of their own
IMAGE = frozenset({Modality.IMAGE})


def logreg_model(schema: Schema, seed: int) -> object:
    if schema.task.is_classification:
        return LogisticRegression(C=0.1, max_iter=500, random_state=seed)
    return Ridge(alpha=10.0)


def svm_model(schema: Schema, seed: int) -> object:
    if schema.task.is_classification:
        return CalibratedSVM(SVC(C=10.0, gamma="scale", random_state=seed), cv=3)
    return SVR(C=10.0, gamma="scale")


def lgbm_model(schema: Schema, seed: int) -> object:
    cls = TimedLGBMClassifier if schema.task.is_classification else TimedLGBMRegressor
    return cls(
        n_estimators=200,
        learning_rate=0.1,
        num_leaves=31,
        colsample_bytree=0.5,
        subsample=0.8,
        subsample_freq=1,
        random_state=seed,
        n_jobs=lgbm_threads(schema.n_rows),  # all cores only where they pay (see there)
        verbose=-1,
    )


def _ml(schema: Schema, seed: int, *, model: str) -> Pipeline:
    builders = {"logreg": logreg_model, "svm": svm_model, "lgbm": lgbm_model}
    features = image_features(schema, pca_components=None if model == "logreg" else 50)
    return Pipeline([("features", features), ("model", builders[model](schema, seed))])


IMAGE_FAMILIES = tuple(
    register(family)
    for family in (
        Family(
            "image_logreg",
            "Pixels + HOG, logistic regression",
            Kind.ML,
            ALL_TASKS,
            IMAGE,
            partial(_ml, model="logreg"),
            relative_cost=2.0,
            interpretable=True,
            description="Logistic regression (ridge) on raw pixels and HOG descriptors.",
        ),
        Family(
            "image_svm",
            "PCA pixels + HOG, RBF SVM",
            Kind.ML,
            ALL_TASKS,
            IMAGE,
            partial(_ml, model="svm"),
            relative_cost=4.0,
            max_train_rows=20_000,
            description="RBF-kernel SVM on 50 PCA components of the pixels and HOG.",
        ),
        Family(
            "image_lgbm",
            "PCA pixels + HOG, LightGBM",
            Kind.ML,
            ALL_TASKS,
            IMAGE,
            partial(_ml, model="lgbm"),
            relative_cost=6.0,
            self_limiting=True,  # stops boosting at its allowance (families/ml/lgbm.py)
            description="Gradient-boosted trees on 50 PCA components of the pixels and HOG.",
        ),
        Family(
            "image_cnn",
            "CNN",
            Kind.DL,
            ALL_TASKS,
            IMAGE,
            partial(build_image_net_pipeline, arch="cnn"),
            relative_cost=30.0,
            max_train_rows=200_000,
            description="Conv + batch norm + max-pool stages, dense head, shift augmentation.",
            self_limiting=True,
        ),
        Family(
            "image_resnet",
            "Residual CNN",
            Kind.DL,
            ALL_TASKS,
            IMAGE,
            partial(build_image_net_pipeline, arch="resnet"),
            relative_cost=40.0,
            max_train_rows=200_000,
            description="Small ResNet: residual basic blocks, global pooling, shift augmentation.",
            self_limiting=True,
        ),
    )
)
