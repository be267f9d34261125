"""Local (one-row) explanations that work for any fitted model, ML or DL.

Method: *replace-with-reference*. For each input feature, the row is copied with that one feature
set to its reference value (the training median for numeric and datetime columns, the most
frequent value otherwise; see :func:`reference_values`), and the model is asked again. The
feature's contribution is the change that replacement undoes:

    contribution(f) = score(row) - score(row with f := reference[f])

where ``score`` is the probability of the class predicted for the row (classification) or the
predicted value (regression). A positive contribution means the row's actual value of ``f``
pushed the score up compared with a typical value. All variants go through the model in one
batch, so an explanation costs one prediction call on ``n_features + 1`` rows.

This is an occlusion-style, one-feature-at-a-time view: it ignores interactions (contributions
need not add up to the difference from the reference prediction) and is not a Shapley value.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.errors import DataError
from mlvsdl.types import ColumnKind, Schema, Task

__all__ = ["MAX_REFERENCE_TEXT_CHARS", "explain_row", "reference_values"]

MAX_REFERENCE_TEXT_CHARS = 200  # a longer most-frequent text is stored as None (missing)


def reference_values(frame: pd.DataFrame, schema: Schema) -> dict[str, Any]:
    """A typical value per used feature of ``frame`` (the training part), JSON-safe.

    Numeric: the median; datetime: the median instant as ISO 8601 text; boolean, categorical and
    text: the most frequent value (a text longer than ``MAX_REFERENCE_TEXT_CHARS`` becomes None).
    A column with no values gets None (read as missing by every model).
    """
    out: dict[str, Any] = {}
    for column in schema.columns:
        if not column.used or column.name not in frame.columns:
            continue
        series = frame[column.name]
        if column.kind in (ColumnKind.IMAGE, ColumnKind.AUDIO):
            value: Any = None  # no typical image or sound: media are not explained per feature
        elif column.kind is ColumnKind.NUMERIC:
            value = pd.to_numeric(series, errors="coerce").median()
        elif column.kind is ColumnKind.DATETIME:
            value = _median_instant(series)
        else:
            value = _most_frequent(series)
            if column.kind is ColumnKind.TEXT and len(str(value)) > MAX_REFERENCE_TEXT_CHARS:
                value = None
        out[column.name] = json_scalar(value)
    return out


def _median_instant(series: pd.Series) -> str | None:
    stamps = pd.to_datetime(series, errors="coerce", format="mixed", utc=True).dropna()
    if stamps.empty:
        return None
    return stamps.sort_values().iloc[len(stamps) // 2].isoformat()


def _most_frequent(series: pd.Series) -> Any:
    counts = series.dropna().value_counts(sort=True)
    return counts.index[0] if len(counts) else None


def json_scalar(value: Any) -> Any:
    """numpy and pandas scalars to plain Python; NaN, NaT and NA to None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def explain_row(
    estimator: Any, schema: Schema, row_frame: pd.DataFrame, background: dict[str, Any]
) -> list[dict[str, Any]]:
    """Per-feature contributions for one row, largest effect first (see the module docstring).

    Args:
        estimator: a fitted pipeline taking raw DataFrames (any mlvsdl model).
        schema: the run's schema.
        row_frame: exactly one row with the schema's feature columns.
        background: reference value per feature (:func:`reference_values`); features without
            one are left out.

    Returns:
        ``[{"feature", "value", "reference", "contribution"}, ...]`` sorted by ``|contribution|``.
    """
    if len(row_frame) != 1:
        raise DataError(f"explain_row takes exactly one row, got {len(row_frame)}.")
    features = [f for f in schema.feature_names if f in background and f in row_frame.columns]
    row = {name: row_frame[name].iloc[0] for name in row_frame.columns}
    columns: dict[str, list[Any]] = {}
    for name, value in row.items():
        values = [value] * (len(features) + 1)
        if name in features:
            values[features.index(name) + 1] = background[name]
        columns[name] = values
    scores = _scores(estimator, schema, pd.DataFrame(columns))
    items = [
        {
            "feature": name,
            "value": json_scalar(row[name]),
            "reference": json_scalar(background[name]),
            "contribution": float(scores[0] - scores[i + 1]),
        }
        for i, name in enumerate(features)
    ]
    return sorted(items, key=lambda item: -abs(item["contribution"]))


def _scores(estimator: Any, schema: Schema, variants: pd.DataFrame) -> np.ndarray:
    """Probability of the first row's predicted class, the predicted value, or the anomaly
    score (higher is more unusual), per row."""
    if schema.task is Task.ANOMALY:
        return -np.asarray(estimator.score_samples(variants), dtype=np.float64)
    if schema.task.is_classification:
        proba = np.asarray(estimator.predict_proba(variants), dtype=np.float64)
        return proba[:, int(proba[0].argmax())]
    return np.asarray(estimator.predict(variants), dtype=np.float64)
