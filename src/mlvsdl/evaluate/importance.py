"""Global importance of the input columns, in one comparable format for every candidate.

Two views per model, both over the raw input columns a user knows:

* **permutation importance** (model-agnostic, every model): how much the primary metric gets
  worse on held-out rows when one column's values are shuffled, mean and spread over repeats. The
  unit is the metric's own (a drop of 0.03 ROC AUC), so models are comparable directly.
* **native view**, where the family has one: mean |coefficient x input| for linear models, mean
  |TreeSHAP| for LightGBM, impurity decrease (split gain) for single trees and forests, and mean
  |integrated gradients| for networks; normalized to shares of 1 for plotting side by side.

:func:`agreement` measures how far the models agree on what matters: Spearman rank correlation of
their permutation importances, pair by pair, and the columns most of them rank in their top 3.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mlvsdl.evaluate.metrics import Metric
from mlvsdl.explain import (
    ROW_EXPLAINERS,
    attribute,
    encoded_sources,
    final_step,
    native_explainer,
)
from mlvsdl.types import Schema

__all__ = [
    "Agreement",
    "ModelImportance",
    "agreement",
    "native_importance",
    "oriented_score",
    "permutation_importance",
]

logger = logging.getLogger(__name__)

MAX_BATCH_ROWS = 20_000  # rows per prediction call when scoring shuffled copies


@dataclass(frozen=True)
class ModelImportance:
    """Both importance views of one model. ``native`` maps column -> share (sums to 1)."""

    model: str
    interpretable: bool
    permutation_mean: dict[str, float]
    permutation_std: dict[str, float]
    n_repeats: int
    n_rows: int
    native_method: str | None = None
    native: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _outputs(estimator: Any, X: pd.DataFrame, metric: Metric) -> np.ndarray:
    """What ``metric`` scores: class probabilities or predictions."""
    if metric.needs_proba:
        return np.asarray(estimator.predict_proba(X))
    return np.asarray(estimator.predict(X))


def _oriented(outputs: np.ndarray, y: np.ndarray, metric: Metric, classes: Any) -> float:
    try:
        if metric.needs_proba:
            value = float(metric.fn(y, outputs, np.asarray(classes)))
        else:
            value = float(metric.fn(y, outputs))
    except ValueError:
        return float("nan")
    return value if metric.greater_is_better else -value


def oriented_score(estimator: Any, X: pd.DataFrame, y: np.ndarray, metric: Metric) -> float:
    """``metric`` of ``estimator`` on (X, y), oriented so that larger is better."""
    try:
        outputs = _outputs(estimator, X, metric)
    except ValueError:
        return float("nan")
    return _oriented(outputs, y, metric, getattr(estimator, "classes_", None))


def _one_repeat(
    estimator: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    metric: Metric,
    columns: list[str],
    rng: np.random.Generator,
) -> np.ndarray:
    """Oriented scores with each column shuffled in turn, predicted in a few large batches."""
    n = len(X)
    per_batch = max(1, MAX_BATCH_ROWS // max(n, 1))
    classes = getattr(estimator, "classes_", None)
    scores: list[float] = []
    for start in range(0, len(columns), per_batch):
        chunk = columns[start : start + per_batch]
        frames = []
        for name in chunk:
            shuffled = X.copy()
            shuffled[name] = X[name].to_numpy()[rng.permutation(n)]
            frames.append(shuffled)
        outputs = _outputs(estimator, pd.concat(frames, ignore_index=True), metric)
        scores += [
            _oriented(outputs[k * n : (k + 1) * n], y, metric, classes) for k in range(len(chunk))
        ]
    return np.asarray(scores)


def permutation_importance(
    estimator: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    metric: Metric,
    columns: list[str],
    *,
    random_state: int = 0,
    max_repeats: int = 3,
    max_time_s: float = 2.0,
) -> tuple[dict[str, float], dict[str, float], int]:
    """Drop in ``metric`` per shuffled raw column: (means, standard deviations, repeats done).

    Each repeat shuffles every column once with its own seeded permutation; repeats continue
    while they fit ``max_time_s`` (at least one, at most ``max_repeats``).
    """
    rng = np.random.default_rng(random_state)
    base = oriented_score(estimator, X, y, metric)
    start = time.perf_counter()
    repeats = [base - _one_repeat(estimator, X, y, metric, columns, rng)]
    one_repeat_s = time.perf_counter() - start
    while len(repeats) < max_repeats and (len(repeats) + 1) * one_repeat_s <= max_time_s:
        repeats.append(base - _one_repeat(estimator, X, y, metric, columns, rng))
    drops = np.stack(repeats)
    means = dict(zip(columns, np.nanmean(drops, axis=0).tolist(), strict=True))
    spread = np.nanstd(drops, axis=0) if len(repeats) > 1 else np.zeros(len(columns))
    return means, dict(zip(columns, spread.tolist(), strict=True)), len(repeats)


def _shares(values: np.ndarray, columns: list[str]) -> dict[str, float]:
    values = np.abs(np.nan_to_num(np.asarray(values, dtype=float)))
    total = values.sum()
    shares = values / total if total > 0 else values
    return dict(zip(columns, shares.tolist(), strict=True))


_NATIVE_NAMES = {
    "coefficient x input": "mean |coefficient x input| (log-odds or target units)",
    "TreeSHAP (LightGBM, exact)": "mean |TreeSHAP| (exact, LightGBM pred_contrib)",
    "integrated gradients": "mean |integrated gradients| (captum)",
}


def native_importance(
    estimator: Any, X: pd.DataFrame, schema: Schema, reference: dict[str, Any]
) -> tuple[str, dict[str, float]] | None:
    """The family's own global view as column shares, or None where it has none."""
    if schema.modality not in ROW_EXPLAINERS:
        return None  # text and image views plug in through explain.ROW_EXPLAINERS
    model = final_step(estimator)
    columns = schema.feature_names
    if hasattr(model, "feature_importances_") and not hasattr(model, "booster_"):
        sources = encoded_sources(estimator, schema)
        raw = np.zeros(len(columns))
        for value, source in zip(model.feature_importances_, sources, strict=False):
            if source in columns:
                raw[columns.index(source)] += value
        return "impurity decrease (split gain)", _shares(raw, columns)
    attribution = (
        attribute(estimator, X, schema, reference) if native_explainer(estimator) else None
    )
    if attribution is None:
        return None
    method = _NATIVE_NAMES.get(attribution.method, attribution.method)
    return method, _shares(np.abs(attribution.values).mean(axis=0), columns)


@dataclass(frozen=True)
class Agreement:
    """How far the models' permutation importances agree."""

    models: list[str]
    spearman: list[list[float | None]]  # models x models
    mean_spearman: float | None
    mean_spearman_ml_dl: float | None
    consensus_top: list[str]  # columns in the top 3 of at least half the models
    top3: dict[str, list[str]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def agreement(importances: list[ModelImportance], kinds: dict[str, str]) -> Agreement | None:
    """Pairwise Spearman correlation of permutation importances (models with any signal)."""
    usable = [m for m in importances if any(v > 0 for v in m.permutation_mean.values())]
    if len(usable) < 2 or len(usable[0].permutation_mean) < 3:
        return None  # rank correlation needs two models and at least three columns
    names = [m.model for m in usable]
    columns = list(usable[0].permutation_mean)
    vectors = {m.model: [m.permutation_mean.get(c, 0.0) for c in columns] for m in usable}
    matrix: list[list[float | None]] = [[1.0] * len(names) for _ in names]
    pairs, mixed = [], []
    for (i, a), (j, b) in combinations(enumerate(names), 2):
        rho = _spearman(vectors[a], vectors[b])
        matrix[i][j] = matrix[j][i] = rho
        if rho is not None:
            pairs.append(rho)
            if kinds.get(a) != kinds.get(b):
                mixed.append(rho)
    top3 = {m.model: _top(m.permutation_mean, 3) for m in usable}
    counts = pd.Series([c for tops in top3.values() for c in tops]).value_counts()
    consensus = [str(c) for c, n in counts.items() if n >= len(usable) / 2]
    return Agreement(
        models=names,
        spearman=matrix,
        mean_spearman=float(np.mean(pairs)) if pairs else None,
        mean_spearman_ml_dl=float(np.mean(mixed)) if mixed else None,
        consensus_top=consensus,
        top3=top3,
    )


def _spearman(a: list[float], b: list[float]) -> float | None:
    if len(set(a)) < 2 or len(set(b)) < 2:
        return None
    rho = stats.spearmanr(a, b).statistic
    return None if np.isnan(rho) else float(rho)


def _top(values: dict[str, float], k: int) -> list[str]:
    ranked = sorted(values.items(), key=lambda item: -item[1])
    return [name for name, value in ranked[:k] if value > 0]
