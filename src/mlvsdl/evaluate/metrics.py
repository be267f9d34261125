"""Metrics: one table of definitions, one function that scores a fitted model's predictions.

Every metric is stored as is (RMSE in target units, log loss in nats);
``Metric.greater_is_better`` says which way is up, so ranking never needs a negated score.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn import exceptions as skm_exceptions
from sklearn import metrics as skm

from mlvsdl.errors import ConfigError
from mlvsdl.types import Task

logger = logging.getLogger(__name__)

__all__ = [
    "METRICS",
    "Metric",
    "bootstrap_std",
    "default_metric",
    "get_metric",
    "score_predictions",
]


@dataclass(frozen=True)
class Metric:
    key: str
    title: str
    tasks: frozenset[Task]
    greater_is_better: bool
    needs_proba: bool
    fn: Callable[..., float]

    def better(self, a: float, b: float) -> bool:
        """Whether score ``a`` is strictly better than ``b``."""
        return a > b if self.greater_is_better else a < b


CLASSIFICATION = frozenset({Task.BINARY, Task.MULTICLASS})
REGRESSION = frozenset({Task.REGRESSION})
ANOMALY = frozenset({Task.ANOMALY})
EMBED = frozenset({Task.EMBED})
CLUSTER = frozenset({Task.CLUSTER})
FORECAST = frozenset({Task.FORECAST})
RECOMMEND = frozenset({Task.RECOMMEND})
SYNTHESIZE = frozenset({Task.SYNTHESIZE})


def _by_task(*args: object) -> float:
    raise NotImplementedError("computed by the task's spec (mlvsdl.tasks), not here")


def _roc_auc(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    if len(classes) == 2:
        return float(skm.roc_auc_score(y == classes[1], proba[:, 1]))
    return float(skm.roc_auc_score(y, proba, multi_class="ovr", labels=classes))


def _log_loss(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    return float(skm.log_loss(y, np.clip(proba, 1e-15, 1.0), labels=classes))


def _rmse(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.sqrt(skm.mean_squared_error(y, pred)))


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("accuracy", "Accuracy", CLASSIFICATION, True, False, skm.accuracy_score),
        Metric(
            "balanced_accuracy",
            "Balanced accuracy",
            CLASSIFICATION,
            True,
            False,
            skm.balanced_accuracy_score,
        ),
        Metric(
            "f1_macro",
            "Macro F1",
            CLASSIFICATION,
            True,
            False,
            lambda y, p: skm.f1_score(y, p, average="macro"),
        ),
        Metric("roc_auc", "ROC AUC", CLASSIFICATION | ANOMALY, True, True, _roc_auc),
        Metric("log_loss", "Log loss", CLASSIFICATION, False, True, _log_loss),
        Metric("mcc", "MCC", CLASSIFICATION, True, False, skm.matthews_corrcoef),
        Metric("rmse", "RMSE", REGRESSION | FORECAST | RECOMMEND, False, False, _rmse),
        Metric(
            "mae", "MAE", REGRESSION | FORECAST | RECOMMEND, False, False, skm.mean_absolute_error
        ),
        Metric("r2", "R²", REGRESSION, True, False, skm.r2_score),
        # Anomaly detection: scored from anomaly scores and flags by tasks/anomaly.py.
        Metric("average_precision", "Average precision", ANOMALY, True, False, _by_task),
        Metric("precision_at_n", "Precision at n", ANOMALY, True, False, _by_task),
        Metric("recall_at_n", "Recall at n", ANOMALY, True, False, _by_task),
        Metric("precision_flagged", "Precision (flagged)", ANOMALY, True, False, _by_task),
        Metric("recall_flagged", "Recall (flagged)", ANOMALY, True, False, _by_task),
        Metric("flagged", "Flagged rows", ANOMALY, False, False, _by_task),
        Metric("flagged_share", "Flagged share", ANOMALY, False, False, _by_task),
        Metric("stability", "Stability", ANOMALY | CLUSTER, True, False, _by_task),
        # Dimensionality reduction: scored from coordinates and inputs by tasks/embed.py.
        Metric("trustworthiness", "Trustworthiness", EMBED, True, False, _by_task),
        Metric("continuity", "Continuity", EMBED, True, False, _by_task),
        Metric("knn_accuracy", "kNN accuracy", EMBED, True, False, _by_task),
        Metric("reconstruction_error", "Reconstruction MSE", EMBED, False, False, _by_task),
        # Clustering: scored from cluster ids and the evaluation space by tasks/cluster.py.
        Metric("nmi", "NMI", CLUSTER, True, False, _by_task),
        Metric("ari", "Adjusted Rand index", CLUSTER, True, False, _by_task),
        Metric("cluster_accuracy", "Cluster accuracy", CLUSTER, True, False, _by_task),
        Metric("silhouette", "Silhouette", CLUSTER, True, False, _by_task),
        Metric("davies_bouldin", "Davies-Bouldin", CLUSTER, False, False, _by_task),
        Metric("calinski_harabasz", "Calinski-Harabasz", CLUSTER, True, False, _by_task),
        Metric("n_clusters", "Clusters", CLUSTER, True, False, _by_task),
        # Recommendations: ranks over the full catalogue, scored by evaluate/ranking.py.
        Metric("ndcg_at_10", "NDCG@10", RECOMMEND, True, False, _by_task),
        Metric("recall_at_20", "Recall@20", RECOMMEND, True, False, _by_task),
        Metric("hr_at_10", "HR@10", RECOMMEND, True, False, _by_task),
        Metric("mrr", "MRR", RECOMMEND, True, False, _by_task),
        Metric("coverage", "Catalogue coverage", RECOMMEND, True, False, _by_task),
        Metric("popularity", "Popularity of recommended", RECOMMEND, False, False, _by_task),
        Metric("noise_share", "Noise share", CLUSTER, False, False, _by_task),
        # Forecasting: scored from forecasts, intervals and each series' scale by tasks/forecast.py.
        Metric("mase", "MASE", FORECAST, False, False, _by_task),
        Metric("smape", "sMAPE (%)", FORECAST, False, False, _by_task),
        Metric("coverage_80", "80 % interval coverage", FORECAST, True, False, _by_task),
        Metric("coverage_95", "95 % interval coverage", FORECAST, True, False, _by_task),
        # Synthetic tables: scored against held-out real rows by tasks/synthesize.py.
        Metric("quality", "Quality (fidelity + utility)", SYNTHESIZE, True, False, _by_task),
        Metric("fidelity", "Fidelity", SYNTHESIZE, True, False, _by_task),
        Metric("column_distance", "Column distance", SYNTHESIZE, False, False, _by_task),
        Metric("association_difference", "Association diff.", SYNTHESIZE, False, False, _by_task),
        Metric("detection_auc", "Detection AUC", SYNTHESIZE, False, False, _by_task),
        Metric("utility", "Utility", SYNTHESIZE, True, False, _by_task),
        Metric("utility_raw", "Utility (raw)", SYNTHESIZE, True, False, _by_task),
    )
}


def _undefined_as_nan(fn: Callable[..., float], *args: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", skm_exceptions.UndefinedMetricWarning)
        try:
            return float(fn(*args))
        except ValueError:
            return float("nan")


def default_metric(task: Task) -> Metric:
    """The metric that ranks models of ``task`` by default (the task's spec says which)."""
    from mlvsdl.tasks import get_task

    return METRICS[get_task(task).default_metric]


def get_metric(key: str | None, task: Task) -> Metric:
    """The metric named ``key`` (or the task's default), checked against the task."""
    if key is None:
        return default_metric(task)
    metric = METRICS.get(key)
    valid = ", ".join(k for k, m in METRICS.items() if task in m.tasks)
    if metric is None or task not in metric.tasks:
        raise ConfigError(f"metric {key!r} does not apply to a {task} task; use one of: {valid}.")
    return metric


def score_predictions(
    task: Task,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray | None = None,
    classes: np.ndarray | None = None,
) -> dict[str, float]:
    """Every metric of ``task`` that can be computed from these predictions.

    Probability metrics are skipped when ``proba`` is None or when they are undefined on these
    rows (ROC AUC when the evaluation rows lack a class).
    """
    scores: dict[str, float] = {}
    if task in CLASSIFICATION:
        y_true, y_pred, classes = _as_codes(y_true, y_pred, classes)
    for key, metric in METRICS.items():
        if task not in metric.tasks or metric.fn is _by_task:
            continue
        if metric.needs_proba:
            if proba is None or classes is None:
                continue
            value = _undefined_as_nan(metric.fn, y_true, proba, classes)
            if np.isnan(value):  # e.g. ROC AUC when the evaluation rows lack a class
                logger.debug("metric %s undefined on these rows", key)
            else:
                scores[key] = value
        else:
            scores[key] = float(metric.fn(y_true, y_pred))
    return scores


def _as_codes(
    y_true: np.ndarray, y_pred: np.ndarray, classes: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Class labels as integer codes, ``classes`` first in their order, then any other label.

    Every classification metric here is invariant to renaming the labels, and scikit-learn's
    metrics sort object (string) labels with Python comparisons on every call, which costs about
    a second per metric on 100k rows; on integer codes the same metrics take milliseconds.
    """
    labels = list(classes) if classes is not None else []
    known = set(labels)
    for value in pd.unique(np.concatenate([np.asarray(y_true), np.asarray(y_pred)])):
        if value not in known:
            known.add(value)
            labels.append(value)
    index = pd.Index(labels, dtype=object)
    codes = np.arange(len(classes)) if classes is not None else None
    return index.get_indexer(y_true), index.get_indexer(y_pred), codes


def _metric_value(
    metric: Metric,
    y: np.ndarray,
    pred: np.ndarray,
    proba: np.ndarray | None,
    classes: np.ndarray | None,
) -> float:
    if metric.needs_proba:
        if proba is None or classes is None:
            return float("nan")
        return _undefined_as_nan(metric.fn, y, proba, classes)
    return _undefined_as_nan(metric.fn, y, pred)


def bootstrap_std(
    metric: Metric,
    y: np.ndarray,
    pred: np.ndarray,
    proba: np.ndarray | None = None,
    classes: np.ndarray | None = None,
    *,
    n_resamples: int = 50,
    random_state: int = 0,
) -> float | None:
    """Standard deviation of ``metric`` over bootstrap resamples of one validation set.

    Used as the score's spread when validation is a single holdout instead of K folds.
    """
    rng = np.random.default_rng(random_state)
    if metric.tasks & CLASSIFICATION:
        y, pred, classes = _as_codes(y, pred, classes)
    values = []
    for _ in range(n_resamples):
        idx = rng.integers(0, len(y), len(y))
        value = _metric_value(
            metric, y[idx], pred[idx], proba[idx] if proba is not None else None, classes
        )
        if not np.isnan(value):
            values.append(value)
    return float(np.std(values)) if len(values) > 1 else None
