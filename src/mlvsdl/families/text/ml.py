"""Classical text models on TF-IDF n-grams and hand-made statistics.

Each factory returns ``Pipeline([clean, features, model])``: :class:`TextCleaner`, then
:func:`~mlvsdl.features.text.text_features` (TF-IDF of word 1-2 grams and character 2-5 grams,
text statistics, and the other columns encoded as for linear models), then the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC, LinearSVR

from mlvsdl.families.ml import lgbm_threads
from mlvsdl.families.ml.lgbm import TimedLGBMClassifier, TimedLGBMRegressor
from mlvsdl.features.text import text_cleaner, text_features
from mlvsdl.types import Schema

__all__ = ["CalibratedSVM", "build_lgbm", "build_logreg", "build_naive_bayes", "build_svm"]


class CalibratedSVM(ClassifierMixin, BaseEstimator):
    """An SVM with Platt-scaled probabilities: ``CalibratedClassifierCV`` with ``cv`` folds, or
    fewer when the smallest class has fewer rows (at least 2); one final SVM on all rows."""

    def __init__(self, estimator: BaseEstimator | None = None, cv: int = 3) -> None:
        self.estimator = estimator
        self.cv = cv

    def fit(self, X: Any, y: Any) -> CalibratedSVM:
        smallest = int(np.unique(np.asarray(y), return_counts=True)[1].min())
        folds = max(2, min(self.cv, smallest))
        base = clone(self.estimator) if self.estimator is not None else LinearSVC()
        self.calibrated_ = CalibratedClassifierCV(
            base, cv=folds, method="sigmoid", ensemble=False
        ).fit(X, y)
        self.classes_ = self.calibrated_.classes_
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.calibrated_.predict_proba(X)

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def _pipeline(schema: Schema, features: object, model: object) -> Pipeline:
    return Pipeline([("clean", text_cleaner(schema)), ("features", features), ("model", model)])


def build_logreg(schema: Schema, seed: int) -> Pipeline:
    """Logistic regression (ridge for regression) on word + character TF-IDF."""
    if schema.task.is_classification:
        model: object = LogisticRegression(C=10.0, max_iter=1000, random_state=seed)
    else:
        model = Ridge(alpha=1.0)
    return _pipeline(schema, text_features(schema), model)


def build_svm(schema: Schema, seed: int) -> Pipeline:
    """Linear SVM on word + character TF-IDF, with Platt-scaled probabilities (3-fold)."""
    if schema.task.is_classification:
        model: object = CalibratedSVM(LinearSVC(C=0.5, random_state=seed), cv=3)
    else:
        model = LinearSVR(C=0.5, random_state=seed, max_iter=5000)
    return _pipeline(schema, text_features(schema), model)


def build_naive_bayes(schema: Schema, seed: int) -> Pipeline:
    """Complement naive Bayes on non-negative features (TF-IDF, scaled statistics)."""
    return _pipeline(schema, text_features(schema, nonnegative=True), ComplementNB(alpha=0.3))


def build_lgbm(schema: Schema, seed: int) -> Pipeline:
    """LightGBM on word TF-IDF (20k n-grams) and statistics; columns subsampled per tree."""
    cls = TimedLGBMClassifier if schema.task.is_classification else TimedLGBMRegressor
    model = cls(
        n_estimators=200,
        learning_rate=0.1,
        num_leaves=15,
        min_child_samples=5,
        # at least this much hessian per leaf: with many classes, sparse TF-IDF and few rows per
        # class, the default (1e-3) let leaf values blow up (banking77, 77 intents: accuracy
        # 0.02, below the baseline; with 1.0, 0.83 at 40 trees)
        min_child_weight=1.0,
        colsample_bytree=0.3,
        subsample=0.8,
        subsample_freq=1,
        random_state=seed,
        n_jobs=lgbm_threads(schema.n_rows),
        verbose=-1,
    )
    features = text_features(schema, char_ngrams=False, max_word_features=20_000)
    return _pipeline(schema, features, model)
