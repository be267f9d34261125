"""What every explainer shares: the model at the end of a pipeline and what it receives, the
output being explained, and how values are shown.

Every explainer in this package takes a fitted pipeline (``clean -> encode -> model``, or
``load -> model`` for images) and explains the model at its end. These helpers are the one
place that knows how to reach that model and its inputs; a network's own input tensors come
from its public :meth:`~mlvsdl.families.dl.network.NetworkEstimator.encode`, never from its
internals. The names are public so the modules of this package share them openly; the module is
private because nothing outside the package should need them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from mlvsdl.evaluate.local import explain_row as occlusion_row
from mlvsdl.evaluate.local import json_scalar
from mlvsdl.explain.explanation import Attribution, Contribution
from mlvsdl.types import Schema

__all__ = [
    "OCCLUSION",
    "display_value",
    "encoded_inputs",
    "encoded_matrix",
    "explained_output",
    "final_step",
    "occlusion_contributions",
    "target_of",
    "to_raw_columns",
    "top_contributions",
]

OCCLUSION = "replace-with-reference (occlusion)"


def final_step(estimator: Any) -> Any:
    """The model at the end of a pipeline (``estimator`` itself when it is not a pipeline)."""
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator


def encoded_inputs(estimator: Any, X: Any) -> Any:
    """What the pipeline's last step receives for ``X`` (every step but the last, in order)."""
    for _, step in estimator.steps[:-1]:
        X = step.transform(X)
    return X


def encoded_matrix(estimator: Any, X: pd.DataFrame) -> np.ndarray:
    """:func:`encoded_inputs` as a dense float matrix (a sparse encoding is densified)."""
    encoded = encoded_inputs(estimator, X)
    return encoded.toarray() if sparse.issparse(encoded) else np.asarray(encoded, dtype=float)


def to_raw_columns(values: np.ndarray, sources: list[str], columns: list[str]) -> np.ndarray:
    """Sum encoded-column contributions ``(n, n_encoded)`` onto raw columns ``(n, n_raw)``.

    ``sources[j]`` names the raw column encoded column ``j`` came from; one not in ``columns``
    is dropped.
    """
    index = {c: i for i, c in enumerate(columns)}
    mapping = np.zeros((len(sources), len(columns)))
    for j, source in enumerate(sources):
        if source in index:
            mapping[j, index[source]] = 1.0
    return np.asarray(values) @ mapping


def display_value(value: Any) -> str:
    """A raw input value as an explanation shows it: ``(missing)``, 6 significant digits."""
    value = json_scalar(value)
    if value is None:
        return "(missing)"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def target_of(estimator: Any, row: pd.DataFrame, schema: Schema) -> tuple[int | None, str, str]:
    """The output explained for ``row``: (class index or None, its name, its unit).

    Classifiers explain the predicted class's probability; regressors the prediction.
    """
    if not schema.task.is_classification:
        return None, "prediction", "target units"
    proba = np.asarray(estimator.predict_proba(row))[0]
    index = int(proba.argmax())
    return index, f"P({str(final_step(estimator).classes_[index])!r})", "probability"


def explained_output(model: Any, call: Callable[..., Any], index: int | None) -> Callable[..., Any]:
    """The explained output as a function of a network's inputs, given ``call`` (its raw output).

    ``index`` None (regression): the prediction in target units (``model.y_scale_`` undoes
    the standardization); else the class probabilities (captum picks column ``index``).
    """
    import torch

    if index is None:
        return lambda *args: call(*args)[:, 0] * float(getattr(model, "y_scale_", 1.0))
    return lambda *args: torch.softmax(call(*args), dim=1)


def top_contributions(attribution: Attribution, row: pd.DataFrame, top: int) -> list[Contribution]:
    """The ``top`` columns of ``attribution``'s first row by absolute weight, with their values."""
    values = attribution.values[0]
    order = np.argsort(-np.abs(values))[:top]
    return [
        Contribution(
            attribution.columns[j],
            display_value(row.iloc[0][attribution.columns[j]]),
            float(values[j]),
        )
        for j in order
    ]


def occlusion_contributions(
    estimator: Any, schema: Schema, row: pd.DataFrame, reference: dict[str, Any], top: int
) -> list[Contribution]:
    """The ``top`` columns by replace-with-reference occlusion (:mod:`mlvsdl.evaluate.local`)."""
    items = occlusion_row(estimator, schema, row, reference)[:top]
    return [
        Contribution(i["feature"], display_value(i["value"]), float(i["contribution"]))
        for i in items
    ]
