"""Feature engineering, measured: classical models with and without engineered features, beside
networks on the raw input, on the same cross-validation folds.

For tables the engineered variant adds, after the usual cleaning step:

* products and ratios of every pair among the (up to) four most important numeric columns;
* ``log1p`` of skewed non-negative numeric columns;
* the frequency of each categorical value (how common it was in the training rows).

Each classical candidate (linear and LightGBM where they ran) is refitted with those features on
as many of the run's folds as the time allows and compared, fold by fold, with its own stored fold
scores (same rows, same seed). Networks are listed with their stored fold scores on the raw input.

Text (TF-IDF versus plain word counts) and images (pixels and HOG versus each alone) are measured
by :mod:`mlvsdl.evaluate.engineering_media`; other modalities can plug in through
:data:`VARIANT_BUILDERS`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline

from mlvsdl.data.split import Splits
from mlvsdl.evaluate.importance import oriented_score
from mlvsdl.evaluate.metrics import Metric
from mlvsdl.families.registry import get_family
from mlvsdl.features.tabular import cleaned_columns, table_cleaner
from mlvsdl.types import ColumnInfo, ColumnKind, Modality, Schema

__all__ = ["VARIANT_BUILDERS", "EngineeredFeatures", "engineered_pipeline", "measure_engineering"]

logger = logging.getLogger(__name__)

MAX_PAIR_COLUMNS = 4
ML_FAMILIES = ("linear", "lgbm")


class EngineeredFeatures(TransformerMixin, BaseEstimator):
    """Add pairwise products and ratios, log1p of skewed columns and categorical frequencies."""

    def __init__(
        self,
        pairs: tuple[tuple[str, str], ...] = (),
        logs: tuple[str, ...] = (),
        categorical: tuple[str, ...] = (),
    ) -> None:
        self.pairs = pairs
        self.logs = logs
        self.categorical = categorical

    def fit(self, X: pd.DataFrame, y: Any = None) -> EngineeredFeatures:
        self.frequencies_ = {
            c: X[c].value_counts(normalize=True).to_dict() for c in self.categorical
        }
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        new: dict[str, np.ndarray] = {}
        for a, b in self.pairs:
            left, right = X[a].to_numpy(float), X[b].to_numpy(float)
            new[f"{a}__times__{b}"] = left * right
            new[f"{a}__per__{b}"] = left / (np.abs(right) + 1e-9)
        for name in self.logs:
            new[f"{name}__log1p"] = np.log1p(np.clip(X[name].to_numpy(float), 0, None))
        for name in self.categorical:
            freq = X[name].map(self.frequencies_[name]).astype(float).fillna(0.0)
            new[f"{name}__frequency"] = freq.to_numpy()
        return pd.concat([X, pd.DataFrame(new, index=X.index)], axis=1)

    def new_columns(self) -> list[str]:
        names = [f"{a}__{op}__{b}" for a, b in self.pairs for op in ("times", "per")]
        return (
            names
            + [f"{n}__log1p" for n in self.logs]
            + [f"{c}__frequency" for c in self.categorical]
        )


def _engineer_for(X_clean: pd.DataFrame, schema: Schema, ranking: list[str]) -> EngineeredFeatures:
    numeric, categorical = cleaned_columns(schema)
    used = [c for c in numeric if X_clean[c].nunique(dropna=True) > 2]
    ordered = [c for c in ranking if c in used] + [c for c in used if c not in ranking]
    top = ordered[:MAX_PAIR_COLUMNS]
    logs = tuple(
        c for c in used if X_clean[c].min() >= 0 and abs(float(X_clean[c].skew() or 0)) > 1
    )
    return EngineeredFeatures(tuple(combinations(top, 2)), logs, tuple(categorical))


def _cleaned_schema(schema: Schema, extra: list[str]) -> Schema:
    """A schema describing the cleaned (and engineered) frame, so encoders can be built for it."""
    numeric, categorical = cleaned_columns(schema)
    columns = [ColumnInfo(n, ColumnKind.NUMERIC, "float64", 0, 0.0) for n in [*numeric, *extra]]
    columns += [ColumnInfo(n, ColumnKind.CATEGORICAL, "object", 0, 0.0) for n in categorical]
    return replace(schema, columns=tuple(columns))


def engineered_pipeline(
    family_key: str, schema: Schema, engineer: EngineeredFeatures, random_state: int
) -> Pipeline:
    """``clean -> engineer -> (the family's own pipeline on the engineered columns)``."""
    inner = get_family(family_key).build(
        _cleaned_schema(schema, engineer.new_columns()), random_state=random_state
    )
    return Pipeline([("clean_raw", table_cleaner(schema)), ("engineer", engineer), *inner.steps])


def _tabular_variants(
    X: pd.DataFrame, schema: Schema, ranking: list[str]
) -> tuple[str, Callable[[str, int], Pipeline]]:
    sample = table_cleaner(schema).fit_transform(X.iloc[:5000])
    engineer = _engineer_for(sample, schema, ranking)
    n_new = len(engineer.new_columns())
    label = f"+ {n_new} engineered features (pair products/ratios, log1p, frequencies)"
    return label, lambda key, seed: engineered_pipeline(key, schema, engineer, seed)


#: Per-modality builders of the engineered variant: ``(X, schema, ranking) -> (label, factory)``.
VARIANT_BUILDERS: dict[Modality, Callable[..., tuple[str, Callable[[str, int], Pipeline]]]] = {
    Modality.TABULAR: _tabular_variants
}


def measure_engineering(
    X: pd.DataFrame,
    y: np.ndarray,
    schema: Schema,
    splits: Splits,
    metric: Metric,
    candidates: list[dict[str, Any]],
    ranking: list[str],
    *,
    random_state: int = 0,
    deadline: float | None = None,
) -> dict[str, Any] | None:
    """Rows ``{model, kind, variant, score, folds, delta}`` comparing the feature sets."""
    if schema.modality in (Modality.TEXT, Modality.IMAGE):
        from mlvsdl.evaluate.engineering_media import measure_media_engineering

        return measure_media_engineering(
            X, y, schema, splits, metric, candidates, random_state=random_state, deadline=deadline
        )
    builder = VARIANT_BUILDERS.get(schema.modality)
    done = {c["name"]: c for c in candidates if c["status"] == "completed"}
    chosen = [done[k] for k in ML_FAMILIES if k in done]
    if builder is None or not chosen:
        return None
    label, factory = builder(X, schema, ranking)
    rows: list[dict[str, Any]] = []
    for cand in chosen:
        scores = _fold_scores(X, y, splits, metric, cand, factory, random_state, deadline)
        if not scores:
            continue
        base = cand["details"]["fold_scores"][: len(scores)]
        rows.append(variant_row(cand, "raw input (as in the leaderboard)", base, None))
        rows.append(variant_row(cand, label, scores, np.subtract(scores, base)))
    for cand in done.values():
        if cand["kind"] == "dl":
            rows.append(
                variant_row(cand, "raw input (network)", cand["details"]["fold_scores"], None)
            )
    return {"rows": rows, "engineered": label} if rows else None


def _fold_scores(
    X: pd.DataFrame,
    y: np.ndarray,
    splits: Splits,
    metric: Metric,
    candidate: dict[str, Any],
    factory: Callable[[str, int], Pipeline],
    random_state: int,
    deadline: float | None,
) -> list[float]:
    scores: list[float] = []
    per_fold_s = 1.5 * float(candidate.get("fit_time_s") or 0.0)
    for fit_rows, val_rows in splits.folds:
        if deadline is not None and time.perf_counter() + per_fold_s > deadline:
            break
        model = factory(candidate["family"], random_state)
        fit_idx, val_idx = splits.train[fit_rows], splits.train[val_rows]
        model.fit(X.iloc[fit_idx], y[fit_idx])
        value = oriented_score(model, X.iloc[val_idx], y[val_idx], metric)
        scores.append(value if metric.greater_is_better else -value)
    return scores


def variant_row(
    candidate: dict[str, Any], variant: str, scores: list[float], delta: Any
) -> dict[str, Any]:
    return {
        "model": candidate["name"],
        "kind": candidate["kind"],
        "variant": variant,
        "score": float(np.mean(scores)),
        "folds": len(scores),
        "delta": float(np.mean(delta)) if delta is not None else None,
        "delta_std": float(np.std(delta)) if delta is not None and len(delta) > 1 else None,
    }
