"""Clustering: find groups of rows without labels.

Models are fitted on the training rows alone (``fit(X)``); a label column, when the user names
one (``--label``), is read for evaluation only: it stratifies the split and scores the models,
and no model or rule that picks a number of clusters ever sees it. Held-out rows are assigned
by the fitted model (its ``predict``), never by refitting on them.

A clusterer answers ``predict`` (the cluster id; -1 for noise, HDBSCAN only), ``transform``
(the distance of each row to every cluster centre, in the space the model clusters in) and
``evaluation_space`` (the rows in the run's shared evaluation space, see
``families/cluster/base.py``). ``predict`` writes ``cluster`` and ``distance`` (to the assigned
centre; to the nearest one for a noise row).

Metrics, all stored for every model:

* with a label — normalized mutual information (**primary**), adjusted Rand index and cluster
  accuracy (the best one-to-one matching of clusters to classes, Hungarian algorithm:
  ``scipy.optimize.linear_sum_assignment``); noise rows count as one more cluster;
* without — silhouette (**primary**), Davies-Bouldin (lower is better) and Calinski-Harabasz,
  computed in the shared evaluation space on the rows assigned to a cluster (silhouette on a
  seeded sample of at most ``SILHOUETTE_ROWS``), and **stability**: every fold's model assigns
  the same seeded sample of training rows, and stability is the mean adjusted Rand index over
  every pair of fold models (refits on different subsamples of the training rows);
* always — the number of clusters found and the share of noise rows.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn import metrics as skm

from mlvsdl.data.split import Splits, make_splits
from mlvsdl.errors import ConfigError
from mlvsdl.tasks.base import Predictions, TaskSpec
from mlvsdl.types import Schema, Task

__all__ = ["CLUSTER", "ClusterTask", "cluster_accuracy", "pairwise_ari"]

SILHOUETTE_ROWS = 2_000  # rows the silhouette is computed on, at most (it is quadratic)
PROBE_ROWS = 2_000  # training rows every fold model assigns, for stability
LABELLED_METRICS = ("nmi", "ari", "cluster_accuracy")
INTERNAL_METRICS = ("silhouette", "davies_bouldin", "calinski_harabasz")


def cluster_accuracy(y: np.ndarray, clusters: np.ndarray) -> float:
    """The share of rows whose cluster maps to their class under the best one-to-one matching
    of clusters to classes (Hungarian algorithm on the contingency table). With more clusters
    than classes the unmatched clusters count as wrong, as in Xie et al. (2016)."""
    table = skm.cluster.contingency_matrix(y, clusters)  # (classes, clusters)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / len(y))


def pairwise_ari(assignments: list[np.ndarray]) -> list[float]:
    """The adjusted Rand index of every pair of models' assignments of the same rows."""
    return [float(skm.adjusted_rand_score(a, b)) for a, b in itertools.combinations(assignments, 2)]


def _internal(space: Any, clusters: np.ndarray, seed: int) -> dict[str, float]:
    """Silhouette, Davies-Bouldin and Calinski-Harabasz on the rows in a cluster (not noise);
    none when fewer than two clusters (or as many clusters as rows) remain."""
    kept = np.flatnonzero(clusters >= 0)
    labels = clusters[kept]
    n_labels = len(np.unique(labels))
    if not 2 <= n_labels <= len(kept) - 1:
        return {}
    X = space[kept]
    dense = X.toarray() if hasattr(X, "toarray") else np.asarray(X, dtype=np.float64)
    size = min(len(kept), SILHOUETTE_ROWS)
    sample = np.random.default_rng(seed).choice(len(kept), size=size, replace=False)
    out: dict[str, float] = {}
    if 2 <= len(np.unique(labels[sample])) <= size - 1:
        out["silhouette"] = float(skm.silhouette_score(dense[sample], labels[sample]))
    out["davies_bouldin"] = float(skm.davies_bouldin_score(dense, labels))
    out["calinski_harabasz"] = float(skm.calinski_harabasz_score(dense, labels))
    return out


class ClusterTask(TaskSpec):
    task = Task.CLUSTER
    title = "Clustering"
    target = "evaluation"
    metrics = (*LABELLED_METRICS, *INTERNAL_METRICS, "stability", "n_clusters", "noise_share")
    default_metric = "nmi"
    baseline = "dummy"
    # and the final step's ``evaluation_space`` (a pipeline does not pass it on)
    answers = ("predict", "transform")
    report_sections = (
        "recommendation",
        "leaderboard",
        "clusterers",
        "clusters",
        "cluster_map",
        "cost",
        "overfitting",
        "provenance",
    )

    def metric_for(self, schema: Schema, requested: str | None) -> str:
        if requested:
            return requested
        return "nmi" if schema.label else "silhouette"

    def split(
        self, y: np.ndarray | None, n_rows: int, test_size: float, n_folds: int, seed: int
    ) -> Splits:
        """Stratified by the label when every class allows it, else shuffled; a holdout
        (``n_folds == 1``) is the first fold of five."""
        k = n_folds if n_folds > 1 else 5
        stratify = y is not None and np.unique(np.asarray(y), return_counts=True)[1].min() > k
        labels = np.asarray(y) if stratify else np.zeros(n_rows)
        task = Task.MULTICLASS if stratify else Task.REGRESSION
        splits = make_splits(labels, task, test_size=test_size, n_folds=k, random_state=seed)
        folds = splits.folds if n_folds > 1 else splits.folds[:1]
        return Splits(train=splits.train, test=splits.test, folds=folds)

    def check_splits(self, schema: Schema, splits: Splits) -> None:
        k = schema.options.get("k")
        if k is None:
            return
        smallest = min(len(fit_rows) for fit_rows, _ in splits.folds)
        if k > smallest:
            raise ConfigError(
                f"--k {k} is more clusters than the {smallest} rows a model is fitted on (the "
                "training part of a validation fold); pass a smaller --k, or more rows."
            )

    def fit(self, estimator: Any, X: pd.DataFrame, y: np.ndarray | None) -> Any:
        return estimator.fit(X)  # never the label

    def predict(self, estimator: Any, X: pd.DataFrame) -> Predictions:
        """The cluster of every row (-1: noise), its distance to that cluster's centre (to the
        nearest centre for noise) and the rows in the shared evaluation space; the pipeline's
        preparation steps run once."""
        if hasattr(estimator, "steps"):
            model = estimator.steps[-1][1]
            Xt = estimator[:-1].transform(X) if len(estimator.steps) > 1 else X
        else:
            model, Xt = estimator, X
        if hasattr(model, "answers"):  # the clusterers: their space computed once
            clusters, distances, space = model.answers(Xt)
        else:
            clusters, distances = model.predict(Xt), model.transform(Xt)
            space = model.evaluation_space(Xt)
        clusters = np.asarray(clusters, dtype=np.int64)
        distances = np.asarray(distances, dtype=np.float64)
        nearest = distances.min(axis=1) if distances.shape[1] else np.zeros(len(clusters))
        assigned = np.where(clusters >= 0, clusters, 0)
        own = distances[np.arange(len(clusters)), assigned] if distances.shape[1] else nearest
        scores = np.where(clusters >= 0, own, nearest)
        return Predictions(clusters, scores=scores, space=space)

    def score(self, y: np.ndarray | None, predictions: Predictions) -> dict[str, float]:
        clusters = np.asarray(predictions.values)
        found = clusters[clusters >= 0]
        out = {
            "n_clusters": float(len(np.unique(found))),
            "noise_share": float(np.mean(clusters < 0)) if len(clusters) else 0.0,
        }
        if y is not None and len(clusters):
            truth = np.asarray(y)
            out["nmi"] = float(skm.normalized_mutual_info_score(truth, clusters))
            out["ari"] = float(skm.adjusted_rand_score(truth, clusters))
            out["cluster_accuracy"] = cluster_accuracy(truth, clusters)
        if predictions.space is not None:
            out |= _internal(predictions.space, clusters, seed=0)
        return out

    def spread(
        self, metric: str, y: np.ndarray | None, predictions: Predictions, seed: int
    ) -> float | None:
        """Bootstrap standard deviation of a labelled metric over the holdout (50 resamples)."""
        if y is None or metric not in LABELLED_METRICS:
            return None
        rng = np.random.default_rng(seed)
        truth, clusters = np.asarray(y), np.asarray(predictions.values)
        values = []
        for _ in range(50):
            rows = rng.integers(0, len(truth), len(truth))
            labelled = Predictions(clusters[rows])
            values.append(self.score(truth[rows], labelled)[metric])
        return float(np.std(values))

    def probe_rows(
        self, schema: Schema, y: np.ndarray | None, train: np.ndarray, seed: int
    ) -> np.ndarray | None:
        rng = np.random.default_rng(seed)
        size = min(len(train), PROBE_ROWS)
        return np.sort(rng.choice(train, size=size, replace=False))

    def across_folds(
        self, predictions: list[Predictions], schema: Schema, seed: int
    ) -> dict[str, list[float]]:
        if len(predictions) < 2:
            return {}
        return {"stability": pairwise_ari([p.values for p in predictions])}

    def min_folds(self, schema: Schema) -> int:
        return 1 if schema.label else 3  # without a label, stability compares three refits

    def output_columns(self, schema: Schema) -> list[str]:
        return ["cluster", "distance"]

    def to_frame(self, predictions: Predictions, schema: Schema) -> pd.DataFrame:
        return pd.DataFrame(
            {"cluster": predictions.values.astype(np.int64), "distance": predictions.scores}
        )

    def to_records(self, predictions: Predictions, schema: Schema) -> list[dict[str, Any]]:
        return [
            {"cluster": int(c), "distance": float(d)}
            for c, d in zip(predictions.values, predictions.scores, strict=True)
        ]


CLUSTER = ClusterTask()


def _register() -> None:
    from mlvsdl.tasks import register_task

    register_task(CLUSTER)


_register()
