"""Dimensionality reduction: D coordinates per row, learned without labels.

Models are fitted on the training rows alone (``fit(X)``) and answer ``transform`` (the
coordinates); those with an inverse (``inverse_transform``: PCA, truncated SVD, the
autoencoders' decoders) are also scored on how well the coordinates rebuild the input. A label
column, when the user names one (``--label``), is read for evaluation only: it stratifies the
split and measures what a downstream model would gain, never seen by a model.

Every metric is measured on the scored rows (validation folds, then the held-out test rows) in
the model's *input space*, the output of its pipeline before the last step (the encoding every
tabular family shares: one-hot + standardized numerics; TF-IDF for text; pixels in [0, 1] for
images; the MiniLM sentence embedding for the MiniLM family):

* ``trustworthiness`` (Venna & Kaski 2001; scikit-learn's ``manifold.trustworthiness``): are the
  rows that are near in the embedding near in the input? 1 when every embedding neighbour is an
  input neighbour;
* ``continuity``: the same with the roles of the spaces swapped (are input neighbours kept?);
* ``knn_accuracy`` (with a label): leave-one-out accuracy of a ``KNN_K``-nearest-neighbour
  majority vote in the embedding, among the scored rows;
* ``reconstruction_error``: mean squared error per input feature of ``inverse_transform``.

The neighbourhood metrics compare all pairs of rows, so they use a seeded sample of at most
``NEIGHBOUR_ROWS`` scored rows. Ranking: kNN accuracy with a label, else trustworthiness.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.manifold import trustworthiness
from sklearn.neighbors import NearestNeighbors

from mlvsdl.data.embed_options import DEFAULT_DIMS
from mlvsdl.data.split import Splits, make_splits
from mlvsdl.errors import ConfigError
from mlvsdl.tasks.base import Predictions, TaskSpec
from mlvsdl.types import Schema, Task

__all__ = [
    "DEFAULT_DIMS",
    "EMBED",
    "EmbedPredictions",
    "EmbedTask",
    "continuity",
    "dim_columns",
    "knn_accuracy",
    "reconstruction_error",
]

TRUST_K = 10  # neighbours compared by trustworthiness and continuity
KNN_K = 10  # neighbours voting in the kNN accuracy
NEIGHBOUR_ROWS = 1_000  # scored rows the neighbourhood metrics compare, at most (seeded sample)
RECON_BATCH = 256  # rows rebuilt at a time (a TF-IDF input is wide)


@dataclass(frozen=True, eq=False)
class EmbedPredictions(Predictions):
    """``values``: the coordinates ``(n, D)``; ``reference``: the rows in the model's input
    space (dense or sparse), what the metrics compare the coordinates with; ``inverse``: the
    model's ``inverse_transform`` (coordinates back to the input space), or None."""

    reference: Any = None
    inverse: Callable[[np.ndarray], np.ndarray] | None = None

    def take(self, rows: np.ndarray) -> EmbedPredictions:
        ref = None if self.reference is None else self.reference[rows]
        return EmbedPredictions(self.values[rows], reference=ref, inverse=self.inverse)


def dim_columns(n_dims: int) -> list[str]:
    return [f"dim_{i}" for i in range(n_dims)]


def _dense(block: Any) -> np.ndarray:
    return np.asarray(block.toarray() if sparse.issparse(block) else block, dtype=np.float64)


def _neighbours_k(n_rows: int, k: int) -> int:
    """``k``, or fewer on few rows (scikit-learn requires k < n / 2)."""
    return max(1, min(k, (n_rows - 1) // 2))


def continuity(X: Any, X_embedded: np.ndarray, n_neighbors: int = TRUST_K) -> float:
    """Continuity: trustworthiness with the two spaces' roles swapped (Venna & Kaski 2001) —
    whether the rows nearest in the input stay near in the embedding."""
    return float(trustworthiness(X_embedded, _dense(X), n_neighbors=n_neighbors))


def knn_accuracy(X_embedded: np.ndarray, labels: np.ndarray, k: int = KNN_K) -> float:
    """Leave-one-out accuracy of a ``k``-nearest-neighbour majority vote in the embedding
    (ties to the smallest label code; a row never votes for itself)."""
    codes = pd.factorize(np.asarray(labels))[0]
    k = max(1, min(k, len(codes) - 1))
    nn = NearestNeighbors(n_neighbors=k + 1).fit(X_embedded)
    order = nn.kneighbors(X_embedded, return_distance=False)
    neighbours = np.empty((len(codes), k), dtype=np.int64)
    for i, row in enumerate(order):  # drop the row itself (not always first when rows tie)
        neighbours[i] = row[row != i][:k]
    counts = np.zeros((len(codes), int(codes.max()) + 1), dtype=np.int64)
    np.add.at(counts, (np.arange(len(codes))[:, None], codes[neighbours]), 1)
    return float((counts.argmax(axis=1) == codes).mean())


def reconstruction_error(
    reference: Any, inverse: Callable[[np.ndarray], np.ndarray], Z: Any
) -> float:
    """Mean squared error per input feature of ``inverse(Z)`` against ``reference``."""
    total, n = 0.0, reference.shape[0]
    for start in range(0, n, RECON_BATCH):
        rebuilt = np.asarray(inverse(Z[start : start + RECON_BATCH]), dtype=np.float64)
        total += float(((_dense(reference[start : start + RECON_BATCH]) - rebuilt) ** 2).sum())
    return total / max(n * reference.shape[1], 1)


def _final_step(estimator: Any) -> tuple[Any, Any]:
    """The pipeline before its last step (None: no steps before) and its last step."""
    if hasattr(estimator, "steps") and len(estimator.steps) > 1:
        return estimator[:-1], estimator.steps[-1][1]
    if hasattr(estimator, "steps"):
        return None, estimator.steps[-1][1]
    return None, estimator


class EmbedTask(TaskSpec):
    task = Task.EMBED
    title = "Dimensionality reduction"
    target = "evaluation"
    metrics = ("trustworthiness", "continuity", "knn_accuracy", "reconstruction_error")
    default_metric = "trustworthiness"
    baseline = "dummy"
    answers = ("transform",)
    report_sections = (
        "recommendation",
        "leaderboard",
        "embeddings",
        "maps",
        "cost",
        "overfitting",
        "provenance",
    )

    def metric_for(self, schema: Schema, requested: str | None) -> str:
        if requested:
            return requested
        return "knn_accuracy" if schema.label else "trustworthiness"

    def split(
        self, y: np.ndarray | None, n_rows: int, test_size: float, n_folds: int, seed: int
    ) -> Splits:
        """Shuffled; stratified by the label when every value has a row per fold and the test
        part (a label with rarer values is not used to split); a holdout (``n_folds == 1``) is
        the first fold of five."""
        k = n_folds if n_folds > 1 else 5
        stratify = y is not None and np.unique(np.asarray(y), return_counts=True)[1].min() > k
        labels = np.asarray(y) if stratify else np.zeros(n_rows)
        task = Task.MULTICLASS if stratify else Task.REGRESSION
        splits = make_splits(labels, task, test_size=test_size, n_folds=k, random_state=seed)
        folds = splits.folds if n_folds > 1 else splits.folds[:1]
        return Splits(train=splits.train, test=splits.test, folds=folds)

    def check_plan(self, frame: pd.DataFrame, schema: Schema, metric: str) -> None:
        """``--dims`` below the input features; the kNN accuracy only with a label."""
        from mlvsdl.families.embed import input_width

        if metric == "knn_accuracy" and not schema.label:
            raise ConfigError(
                "--metric knn_accuracy scores the embedding against a label; pass --label "
                "COLUMN, or rank by trustworthiness (the default without a label)."
            )
        dims = int(schema.options.get("dims", DEFAULT_DIMS))
        width = input_width(frame, schema)
        if dims >= width:
            raise ConfigError(
                f"--dims {dims} must be below the {width} input features the models reduce "
                f"(after encoding); pass a --dims from 1 to {width - 1}."
            )

    def fit(self, estimator: Any, X: pd.DataFrame, y: np.ndarray | None) -> Any:
        return estimator.fit(X)  # never the label

    def predict(self, estimator: Any, X: pd.DataFrame) -> EmbedPredictions:
        """One pass through the pipeline: the input encoding, then the last step's
        ``transform``; its ``inverse_transform`` is kept for the reconstruction error."""
        head, model = _final_step(estimator)
        encoded = X if head is None else head.transform(X)
        coords = np.asarray(model.transform(encoded), dtype=np.float64)
        inverse = getattr(model, "inverse_transform", None)
        return EmbedPredictions(coords, reference=encoded, inverse=inverse)

    def score(self, y: np.ndarray | None, predictions: Predictions) -> dict[str, float]:
        assert isinstance(predictions, EmbedPredictions)
        Z, reference = predictions.values, predictions.reference
        out: dict[str, float] = {}
        if predictions.inverse is not None:
            out["reconstruction_error"] = reconstruction_error(reference, predictions.inverse, Z)
        rows = np.arange(len(Z))
        if len(rows) > NEIGHBOUR_ROWS:
            rows = np.sort(np.random.default_rng(0).choice(rows, NEIGHBOUR_ROWS, replace=False))
        if len(rows) < 4:
            return out  # too few rows for a neighbourhood
        Zs, Xs = Z[rows], _dense(reference[rows])
        k = _neighbours_k(len(rows), TRUST_K)
        out["trustworthiness"] = float(trustworthiness(Xs, Zs, n_neighbors=k))
        out["continuity"] = continuity(Xs, Zs, n_neighbors=k)
        if y is not None:
            out["knn_accuracy"] = knn_accuracy(Zs, np.asarray(y)[rows])
        return out

    def output_columns(self, schema: Schema) -> list[str]:
        return dim_columns(int(schema.options.get("dims", DEFAULT_DIMS)))

    def to_frame(self, predictions: Predictions, schema: Schema) -> pd.DataFrame:
        return pd.DataFrame(predictions.values, columns=self.output_columns(schema))

    def to_records(self, predictions: Predictions, schema: Schema) -> list[dict[str, Any]]:
        names = self.output_columns(schema)
        return [dict(zip(names, map(float, row), strict=True)) for row in predictions.values]


EMBED = EmbedTask()


def _register() -> None:
    from mlvsdl.tasks import register_task

    register_task(EMBED)


_register()
