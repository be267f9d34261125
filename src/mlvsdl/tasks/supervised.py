"""The three prediction tasks: binary and multiclass classification, and regression.

A target column is required; models are fitted on ``(X, y)``; the test split is stratified by
class for classification and shuffled for regression (``data/split.py``). Classifiers answer
``predict_proba`` (the label is the most probable class, so one model call gives both);
regressors answer ``predict``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.data.split import Splits, make_splits
from mlvsdl.evaluate.metrics import METRICS, bootstrap_std, get_metric, score_predictions
from mlvsdl.tasks.base import Predictions, TaskSpec
from mlvsdl.types import Schema, Task

__all__ = ["BINARY", "MULTICLASS", "REGRESSION", "SupervisedTask"]


class SupervisedTask(TaskSpec):
    target = "required"
    report_sections = (
        "recommendation",
        "leaderboard",
        "curves",
        "cost",
        "transparency",
        "engineering",
        "ensembles",
        "overfitting",
        "errors",
        "provenance",
    )

    def __init__(self, task: Task, title: str, default_metric: str) -> None:
        self.task = task
        self.title = title
        self.default_metric = default_metric
        self.metrics = tuple(k for k, m in METRICS.items() if task in m.tasks)
        classify = task.is_classification
        self.answers = ("predict", "predict_proba") if classify else ("predict",)

    def split(
        self, y: np.ndarray | None, n_rows: int, test_size: float, n_folds: int, seed: int
    ) -> Splits:
        """K folds, or for ``n_folds == 1`` the first fold of a 5-fold split (a holdout)."""
        if n_folds > 1:
            return make_splits(
                y, self.task, test_size=test_size, n_folds=n_folds, random_state=seed
            )
        splits = make_splits(y, self.task, test_size=test_size, n_folds=5, random_state=seed)
        return Splits(train=splits.train, test=splits.test, folds=splits.folds[:1])

    def predict(self, estimator: Any, X: pd.DataFrame) -> Predictions:
        """Labels and class probabilities from a single model call, or values."""
        if hasattr(estimator, "predict_proba"):
            proba = np.asarray(estimator.predict_proba(X))
            classes = np.asarray(estimator.classes_)
            return Predictions(classes[proba.argmax(axis=1)], proba, classes)
        return Predictions(np.asarray(estimator.predict(X)))

    def score(self, y: np.ndarray | None, predictions: Predictions) -> dict[str, float]:
        p = predictions
        return score_predictions(self.task, y, p.values, p.proba, p.classes)

    def spread(
        self, metric: str, y: np.ndarray | None, predictions: Predictions, seed: int
    ) -> float | None:
        p = predictions
        chosen = get_metric(metric, self.task)
        return bootstrap_std(chosen, y, p.values, p.proba, p.classes, random_state=seed)

    def output_columns(self, schema: Schema) -> list[str]:
        classes = schema.classes if self.task.is_classification else None
        return ["prediction", *(f"proba_{c}" for c in classes or ())]

    def to_frame(self, predictions: Predictions, schema: Schema) -> pd.DataFrame:
        out = pd.DataFrame({"prediction": predictions.values})
        if predictions.proba is not None and predictions.classes is not None:
            for j, label in enumerate(predictions.classes):
                out[f"proba_{label}"] = predictions.proba[:, j]
        return out


BINARY = SupervisedTask(Task.BINARY, "Binary classification", "roc_auc")
MULTICLASS = SupervisedTask(Task.MULTICLASS, "Multiclass classification", "accuracy")
REGRESSION = SupervisedTask(Task.REGRESSION, "Regression", "rmse")


def _register() -> None:
    from mlvsdl.tasks import register_task

    for spec in (BINARY, MULTICLASS, REGRESSION):
        register_task(spec)


_register()
