"""Why a row looks unusual to a detector: each input column's share of its anomaly score.

Every detector offers ``feature_contributions(X_encoded)``: per encoded column, how much of the
row's unusualness it carries (per-column reconstruction error for PCA and the autoencoders,
per-column tail probabilities for ECOD, the deviation from the training distribution
otherwise; ``contribution_method_`` names it). The encoded columns are summed back onto the raw
columns (a one-hot category's columns onto its column). A detector without that method is
explained by replace-with-reference occlusion: the drop in anomaly score when one column takes
its typical training value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.evaluate.explain import OCCLUSION, _encode, _final, _text, _to_raw, encoded_sources
from mlvsdl.evaluate.explanation import Attribution, Contribution, Explanation
from mlvsdl.evaluate.local import explain_row as occlusion_row
from mlvsdl.tasks import get_task
from mlvsdl.types import Schema

__all__ = ["anomaly_attribution", "explain_anomaly_row"]

UNIT = "anomaly score"


def anomaly_attribution(estimator: Any, X: pd.DataFrame, schema: Schema) -> Attribution | None:
    """Per-row, per-raw-column contributions to the anomaly score, or None when the detector
    has no ``feature_contributions``."""
    model = _final(estimator)
    if not hasattr(model, "feature_contributions"):
        return None
    encoded = _encode(estimator, X)
    per_encoded = np.asarray(model.feature_contributions(encoded), dtype=float)
    values = _to_raw(per_encoded, encoded_sources(estimator, schema), schema.feature_names)
    method = str(getattr(model, "contribution_method_", "per-feature contribution"))
    return Attribution(values, schema.feature_names, method, UNIT, ["anomaly score"] * len(X))


def explain_anomaly_row(
    estimator: Any,
    model_name: str,
    row: pd.DataFrame,
    schema: Schema,
    reference: dict[str, Any],
    top: int = 10,
) -> Explanation:
    """The ``top`` columns that make ``row`` unusual to this detector."""
    predictions = get_task(schema.task).predict(estimator, row)
    score = float(predictions.scores[0])
    verdict = "anomaly" if predictions.values[0] else "normal"
    prediction = f"{verdict} (anomaly score {score:.4g})"
    attribution = anomaly_attribution(estimator, row, schema)
    if attribution is None:
        items = occlusion_row(estimator, schema, row, reference)[:top]
        contributions = [
            Contribution(i["feature"], _text(i["value"]), float(i["contribution"])) for i in items
        ]
        return Explanation(model_name, prediction, "anomaly score", OCCLUSION, UNIT, contributions)
    values = attribution.values[0]
    order = np.argsort(-np.abs(values))[:top]
    items = [
        Contribution(
            attribution.columns[j], _text(row.iloc[0][attribution.columns[j]]), float(values[j])
        )
        for j in order
    ]
    return Explanation(model_name, prediction, "anomaly score", attribution.method, UNIT, items)
