"""Error diagnostics on the held-out test rows and the train-versus-validation gap.

* classification: the confusion matrix (rows: true class, columns: predicted), and for binary
  tasks the ROC curve (at most 101 points);
* regression: a 2-D histogram of predicted versus true values and a histogram of residuals, so the
  store keeps counts, never rows;
* overfitting: each candidate's primary metric on the rows it was trained on versus its
  cross-validated score, read from the ``metrics`` table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, roc_curve

from mlvsdl.evaluate.metrics import Metric
from mlvsdl.types import Schema

__all__ = ["error_diagnostics", "overfitting"]

HIST_BINS = 24


def error_diagnostics(estimator: Any, X: Any, y: np.ndarray, schema: Schema) -> dict[str, Any]:
    """Confusion matrix (and ROC) for classifiers, residual histograms for regressors."""
    if schema.task.is_classification:
        return _classification(estimator, X, y)
    return _regression(np.asarray(y, dtype=float), np.asarray(estimator.predict(X), dtype=float))


def _classification(estimator: Any, X: Any, y: np.ndarray) -> dict[str, Any]:
    proba = np.asarray(estimator.predict_proba(X))
    classes = np.asarray(estimator.classes_)
    pred = classes[proba.argmax(axis=1)]
    out: dict[str, Any] = {
        "labels": [str(c) for c in classes],
        "confusion": confusion_matrix(y, pred, labels=classes).tolist(),
        "n_rows": len(y),
    }
    if len(classes) == 2:
        fpr, tpr, _ = roc_curve(y == classes[1], proba[:, 1])
        keep = np.unique(np.round(np.linspace(0, len(fpr) - 1, min(len(fpr), 101))).astype(int))
        out["roc"] = {"fpr": fpr[keep].tolist(), "tpr": tpr[keep].tolist()}
    return out


def _regression(y: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    both = np.concatenate([y, pred])
    low, high = np.nanpercentile(both, [0.5, 99.5])
    edges = np.linspace(low, high, HIST_BINS + 1)
    counts, _, _ = np.histogram2d(np.clip(y, low, high), np.clip(pred, low, high), bins=edges)
    residuals = pred - y
    r_low, r_high = np.nanpercentile(residuals, [0.5, 99.5])
    r_counts, r_edges = np.histogram(np.clip(residuals, r_low, r_high), bins=HIST_BINS)
    return {
        "edges": edges.tolist(),
        "counts": counts.astype(int).tolist(),  # [true bin][predicted bin]
        "residual_edges": r_edges.tolist(),
        "residual_counts": r_counts.astype(int).tolist(),
        "residual_quantiles": dict(
            zip(("p5", "p50", "p95"), np.percentile(residuals, [5, 50, 95]).tolist(), strict=True)
        ),
        "n_rows": len(y),
    }


def overfitting(
    metrics: list[dict[str, Any]], metric: Metric
) -> dict[str, dict[str, float | None]]:
    """Per candidate: primary metric on its training rows, cross-validated, and the gap.

    ``gap`` is oriented so that a positive value means better on the training rows than on
    unseen rows (overfitting), whichever way the metric points.
    """
    scores: dict[str, dict[str, float]] = {}
    for row in metrics:
        if row["metric"] == metric.key and row["split"] in ("train", "cv", "test"):
            scores.setdefault(row["candidate"], {})[row["split"]] = float(row["value"])
    out: dict[str, dict[str, float | None]] = {}
    for name, by_split in scores.items():
        train, cv = by_split.get("train"), by_split.get("cv")
        gap = None
        if train is not None and cv is not None:
            gap = train - cv if metric.greater_is_better else cv - train
        out[name] = {"train": train, "cv": cv, "test": by_split.get("test"), "gap": gap}
    return out
