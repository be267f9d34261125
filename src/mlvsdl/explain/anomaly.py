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

from mlvsdl.explain._common import (
    OCCLUSION,
    encoded_matrix,
    final_step,
    occlusion_contributions,
    to_raw_columns,
    top_contributions,
)
from mlvsdl.explain.explanation import Attribution, Explanation
from mlvsdl.explain.row import encoded_sources
from mlvsdl.tasks import get_task
from mlvsdl.types import Schema

__all__ = ["anomaly_attribution", "explain_anomaly_row"]

UNIT = "anomaly score"


def anomaly_attribution(estimator: Any, X: pd.DataFrame, schema: Schema) -> Attribution | None:
    """Per-row, per-raw-column contributions to the anomaly score, or None when the detector
    has no ``feature_contributions``."""
    model = final_step(estimator)
    if not hasattr(model, "feature_contributions"):
        return None
    encoded = encoded_matrix(estimator, X)
    per_encoded = np.asarray(model.feature_contributions(encoded), dtype=float)
    values = to_raw_columns(per_encoded, encoded_sources(estimator, schema), schema.feature_names)
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
        contributions = occlusion_contributions(estimator, schema, row, reference, top)
        return Explanation(model_name, prediction, "anomaly score", OCCLUSION, UNIT, contributions)
    items = top_contributions(attribution, row, top)
    return Explanation(model_name, prediction, "anomaly score", attribution.method, UNIT, items)
