"""Anomaly detection: rank rows by how unusual they are, without labels.

Models are fitted on the training rows alone (``fit(X)``); a label column, when the user names
one (``--label``), is read for evaluation only: it stratifies the split and scores the models,
and no model or hyperparameter ever sees it. Detectors follow scikit-learn's outlier-detector
convention (``score_samples``: lower is more abnormal; ``decision_function``: negative flags a
row; ``offset_``: the threshold, chosen on the training rows' scores).

Ranking: with a label, average precision (area under the precision-recall curve) on the
validation folds. Without one, **stability**: each fold's model scores the same seeded sample of
training rows, and the models are compared by how much their top-ranked rows agree (mean
pairwise Jaccard overlap of the top 5 %, or of the top ``--contamination`` share, ties broken at
random so a constant score earns nothing). A detector that flags different rows whenever its
training rows change cannot be trusted with unlabelled data, whatever it flags.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from mlvsdl.data.split import Splits, make_splits
from mlvsdl.tasks.base import Predictions, TaskSpec
from mlvsdl.types import Schema, Task

__all__ = ["ANOMALY", "AnomalyTask", "pairwise_overlaps"]

STABILITY_TOP = 0.05  # share of rows whose agreement is measured, without --contamination
PROBE_ROWS = 2_000  # training rows every fold model scores, for stability
LABELLED_METRICS = (
    "average_precision",
    "roc_auc",
    "precision_at_n",
    "recall_at_n",
    "precision_flagged",
    "recall_flagged",
    "flagged",
    "flagged_share",
)


def _top_n_hits(y: np.ndarray, scores: np.ndarray) -> tuple[int, int]:
    n = int(y.sum())
    top = np.argsort(-scores, kind="stable")[:n]
    return int(y[top].sum()), n


def _precision_at_n(y: np.ndarray, scores: np.ndarray, flags: np.ndarray) -> float:
    hits, n = _top_n_hits(y, scores)
    return hits / n if n else float("nan")


def _precision_flagged(y: np.ndarray, scores: np.ndarray, flags: np.ndarray) -> float:
    return float(y[flags].mean()) if flags.any() else 0.0


def _recall_flagged(y: np.ndarray, scores: np.ndarray, flags: np.ndarray) -> float:
    return float(flags[y].mean()) if y.any() else float("nan")


def _ranking(fn: Any) -> Any:
    def score(y: np.ndarray, scores: np.ndarray, flags: np.ndarray) -> float:
        return float(fn(y, scores)) if 0 < y.sum() < len(y) else float("nan")

    return score


# key -> fn(y: bool array, anomaly scores, flags: bool array)
_LABELLED = {
    "average_precision": _ranking(skm.average_precision_score),
    "roc_auc": _ranking(skm.roc_auc_score),
    "precision_at_n": _precision_at_n,
    "recall_at_n": _precision_at_n,  # at n = the true anomaly count, recall equals precision
    "precision_flagged": _precision_flagged,
    "recall_flagged": _recall_flagged,
}


def pairwise_overlaps(score_sets: list[np.ndarray], top: float, seed: int) -> list[float]:
    """The Jaccard overlap of the top rows of every pair of models (their mean is stability).

    ``score_sets`` holds each model's anomaly scores on the same rows. Ties are broken by an
    independent seeded permutation per model, so a detector that scores every row alike has the
    overlap of two random draws (about ``top``), not a perfect one.
    """
    n = len(score_sets[0])
    m = max(1, round(top * n))
    rng = np.random.default_rng(seed)
    tops = []
    for scores in score_sets:
        noise = rng.permutation(n)
        order = np.lexsort((noise, -np.asarray(scores, dtype=float)))
        tops.append(set(order[:m].tolist()))
    return [len(a & b) / len(a | b) for a, b in itertools.combinations(tops, 2)]


class AnomalyTask(TaskSpec):
    task = Task.ANOMALY
    title = "Anomaly detection"
    target = "evaluation"
    metrics = (*LABELLED_METRICS, "stability")
    default_metric = "average_precision"
    baseline = "dummy"
    answers = ("score_samples", "decision_function", "predict")
    report_sections = (
        "recommendation",
        "leaderboard",
        "detectors",
        "flagged",
        "labels",
        "cost",
        "overfitting",
        "provenance",
    )

    def metric_for(self, schema: Schema, requested: str | None) -> str:
        if requested:
            return requested
        return "average_precision" if schema.label else "stability"

    def split(
        self, y: np.ndarray | None, n_rows: int, test_size: float, n_folds: int, seed: int
    ) -> Splits:
        """Stratified by the label when there is one (each side keeps its anomalies), else
        shuffled; a holdout (``n_folds == 1``) is the first fold of five."""
        labels = np.zeros(n_rows) if y is None else np.asarray(y)
        task = Task.BINARY if y is not None else Task.REGRESSION
        k = n_folds if n_folds > 1 else 5
        splits = make_splits(labels, task, test_size=test_size, n_folds=k, random_state=seed)
        folds = splits.folds if n_folds > 1 else splits.folds[:1]
        return Splits(train=splits.train, test=splits.test, folds=folds)

    def fit(self, estimator: Any, X: pd.DataFrame, y: np.ndarray | None) -> Any:
        return estimator.fit(X)  # never the label

    def predict(self, estimator: Any, X: pd.DataFrame) -> Predictions:
        """One model call: ``decision_function`` gives the flags (negative) and, with the final
        step's ``offset_``, the anomaly score ``-score_samples``."""
        decision = np.asarray(estimator.decision_function(X), dtype=float)
        final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
        scores = -(decision + float(final.offset_))
        return Predictions((decision < 0).astype(np.int64), scores=scores)

    def score(self, y: np.ndarray | None, predictions: Predictions) -> dict[str, float]:
        flags = predictions.values.astype(bool)
        out = {"flagged": float(flags.sum()), "flagged_share": float(flags.mean())}
        if y is None:
            return out
        truth = np.asarray(y).astype(bool)
        scores = np.asarray(predictions.scores, dtype=float)
        for key, fn in _LABELLED.items():
            value = fn(truth, scores, flags)
            if not np.isnan(value):
                out[key] = float(value)
        return out

    def spread(
        self, metric: str, y: np.ndarray | None, predictions: Predictions, seed: int
    ) -> float | None:
        if y is None or metric not in _LABELLED:
            return None
        rng = np.random.default_rng(seed)
        values = []
        for _ in range(50):
            rows = rng.integers(0, len(y), len(y))
            value = self.score(np.asarray(y)[rows], predictions.take(rows)).get(metric)
            if value is not None:
                values.append(value)
        return float(np.std(values)) if len(values) > 1 else None

    def probe_rows(
        self, schema: Schema, y: np.ndarray | None, train: np.ndarray, seed: int
    ) -> np.ndarray | None:
        if y is not None:
            return None  # with a label the folds are scored against it
        rng = np.random.default_rng(seed)
        size = min(len(train), PROBE_ROWS)
        return np.sort(rng.choice(train, size=size, replace=False))

    def across_folds(
        self, predictions: list[Predictions], schema: Schema, seed: int
    ) -> dict[str, list[float]]:
        if len(predictions) < 2:
            return {}
        top = schema.options.get("contamination") or STABILITY_TOP
        return {"stability": pairwise_overlaps([p.scores for p in predictions], top, seed)}

    def min_folds(self, schema: Schema) -> int:
        return 1 if schema.label else 3  # stability compares at least three refits

    def output_columns(self, schema: Schema) -> list[str]:
        return ["anomaly_score", "is_anomaly"]

    def to_frame(self, predictions: Predictions, schema: Schema) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "anomaly_score": predictions.scores,
                "is_anomaly": predictions.values.astype(bool),
            }
        )

    def to_records(self, predictions: Predictions, schema: Schema) -> list[dict[str, Any]]:
        return [
            {"anomaly_score": float(s), "is_anomaly": bool(f)}
            for s, f in zip(predictions.scores, predictions.values, strict=True)
        ]


ANOMALY = AnomalyTask()


def _register() -> None:
    from mlvsdl.tasks import register_task

    register_task(ANOMALY)


_register()
