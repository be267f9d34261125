"""Per-prediction explanations: how much each input column moved one model's output.

Every fitted candidate is a ``clean -> encode -> model`` pipeline taking raw rows, so attributions
are computed in the encoded space and summed back onto the raw input columns a user knows. Each
family uses its native view where it has one, and a model-agnostic one otherwise:

==================  ===============================================  =========================
model               method                                           unit
==================  ===============================================  =========================
linear              coefficient x (input - reference input)          log-odds / target units
LightGBM            TreeSHAP (LightGBM ``pred_contrib``, exact)      log-odds / target units
networks            integrated gradients (captum), from the          probability / target
                    reference row, through the embedding layer       units
anything else       replace-with-reference (occlusion, see            probability / target
                    :mod:`mlvsdl.evaluate.local`)                    units
==================  ===============================================  =========================

The *reference row* holds each column's typical training value (:func:`reference_values`); it is
computed during ``compare`` and kept in the run's settings, so explanations need only the store
and the row to explain. Classifiers explain the predicted class; regressors the prediction.

Text and images are explained per word and per pixel instead of per column
(:mod:`mlvsdl.explain.text`, :mod:`mlvsdl.explain.image`); :func:`explain_row`
sends them there. Other modalities (audio) are refused with a clear error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.errors import ConfigError, DataError, StoreError
from mlvsdl.evaluate.local import reference_values
from mlvsdl.explain._common import (
    OCCLUSION,
    display_value,
    encoded_matrix,
    final_step,
    occlusion_contributions,
    to_raw_columns,
    top_contributions,
)
from mlvsdl.explain.explanation import (
    Attribution,
    Contribution,
    Explanation,
    ImageView,
    TextView,
    TokenWeight,
)
from mlvsdl.types import Modality, Schema, Task

__all__ = [
    "ROW_EXPLAINERS",
    "Attribution",
    "Contribution",
    "Explanation",
    "ImageView",
    "TextView",
    "TokenWeight",
    "attribute",
    "encoded_sources",
    "explain_row",
    "explain_run_row",
    "native_explainer",
    "reference_frame",
]

IG_STEPS = 32


def reference_frame(reference: dict[str, Any], like: pd.DataFrame | None = None) -> pd.DataFrame:
    """The reference row as a one-row DataFrame (columns of ``like`` kept where given)."""
    frame = pd.DataFrame([reference])
    if like is not None:
        for name in like.columns:
            if name not in frame:
                frame[name] = like[name].iloc[:1].to_numpy()
    return frame


def encoded_sources(estimator: Any, schema: Schema) -> list[str]:
    """For each column the pipeline's ``encode`` step outputs, the raw column it came from."""
    encode = estimator.named_steps.get("encode")
    if encode is None:
        names = list(estimator.named_steps["clean"].get_feature_names_out())
        return [_cleanedto_raw_columns(n, schema) for n in names]
    sources: list[str] = []
    for _, transformer, cols in encode.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        cols = list(cols)
        outs = list(transformer.get_feature_names_out(cols)) if cols else []
        sources += [_cleanedto_raw_columns(_match(out, cols), schema) for out in outs]
    return sources


def _match(output: str, inputs: list[str]) -> str:
    name = output.removeprefix("missingindicator_")
    if name in inputs:
        return name
    prefixed = [c for c in inputs if name.startswith(f"{c}_")]
    return max(prefixed, key=len) if prefixed else name


def _cleanedto_raw_columns(name: str, schema: Schema) -> str:
    features = schema.feature_names
    if name in features:
        return name
    parents = [c for c in features if name.startswith(f"{c}__")]
    return max(parents, key=len) if parents else name


def _explained(model: Any, proba: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The predicted class's index per row, and its label."""
    index = np.asarray(proba).argmax(axis=1)
    return index, [str(model.classes_[i]) for i in index]


def _binary_sign(index: np.ndarray, n_classes: int) -> np.ndarray:
    """+1/-1 per row: a binary model's log-odds favour class 1, so flip rows predicting class 0."""
    return np.where(index == 1, 1.0, -1.0)[:, None] if n_classes == 2 else np.ones((len(index), 1))


def _linear(estimator: Any, X: pd.DataFrame, schema: Schema, ref: pd.DataFrame) -> Attribution:
    model = final_step(estimator)
    x, x_ref = encoded_matrix(estimator, X), encoded_matrix(estimator, ref)
    coef = np.atleast_2d(model.coef_)
    rows, sign = np.zeros(len(x), dtype=int), np.ones((len(x), 1))
    unit, targets = "target units", ["prediction"] * len(x)
    if schema.task.is_classification:
        index, labels = _explained(model, estimator.predict_proba(X))
        rows = index if len(coef) > 1 else rows
        sign = _binary_sign(index, len(model.classes_))
        unit, targets = "log-odds", [f"logit of {label!r}" for label in labels]
    contrib = sign * coef[rows] * (x - x_ref)
    values = to_raw_columns(contrib, encoded_sources(estimator, schema), schema.feature_names)
    return Attribution(values, schema.feature_names, "coefficient x input", unit, targets)


def _treeshap(estimator: Any, X: pd.DataFrame, schema: Schema, ref: pd.DataFrame) -> Attribution:
    model = final_step(estimator)
    x = encoded_matrix(estimator, X)
    contrib = np.asarray(model.predict(x, pred_contrib=True))
    n_enc = x.shape[1]
    if schema.task.is_classification and len(model.classes_) > 2:
        index, labels = _explained(model, estimator.predict_proba(X))
        blocks = contrib.reshape(len(x), len(model.classes_), n_enc + 1)
        contrib = blocks[np.arange(len(x)), index]
        targets = [f"logit of {label!r}" for label in labels]
    elif schema.task.is_classification:
        index, labels = _explained(model, estimator.predict_proba(X))
        contrib = contrib * _binary_sign(index, 2)
        targets = [f"logit of {label!r}" for label in labels]
    else:
        targets = ["prediction"] * len(x)
    unit = "log-odds" if schema.task.is_classification else "target units"
    values = to_raw_columns(
        contrib[:, :n_enc], encoded_sources(estimator, schema), schema.feature_names
    )
    return Attribution(values, schema.feature_names, "TreeSHAP (LightGBM, exact)", unit, targets)


def _integrated_gradients(
    estimator: Any, X: pd.DataFrame, schema: Schema, ref: pd.DataFrame
) -> Attribution:
    import torch
    from captum.attr import LayerIntegratedGradients

    model = final_step(estimator)
    net = model.module_.eval()
    device = next(net.parameters()).device
    x_num, x_cat = (t.to(device) for t in model.encode(encoded_matrix(estimator, X)))
    r_num, r_cat = (t.to(device) for t in model.encode(encoded_matrix(estimator, ref)))
    baselines = (r_num.expand_as(x_num).contiguous(), r_cat.expand_as(x_cat).contiguous())
    if schema.task.is_classification:
        index, labels = _explained(model, estimator.predict_proba(X))
        target: Any = torch.as_tensor(index, device=device)
        targets, unit = [f"P({label!r})" for label in labels], "probability"

        def forward(xn: Any, xc: Any) -> Any:
            return torch.softmax(net(xn, xc), dim=1)
    else:
        target, targets, unit = None, ["prediction"] * len(X), "target units"

        def forward(xn: Any, xc: Any) -> Any:
            return net(xn, xc)[:, 0] * model.y_scale_

    layer = LayerIntegratedGradients(forward, net.inputs)
    attr = layer.attribute(
        (x_num, x_cat),
        baselines=baselines,
        target=target,
        n_steps=IG_STEPS,
        internal_batch_size=4096,
    )
    per_dim = attr.detach().cpu().double().numpy()  # (B, n_numeric + sum of embedding dims)
    widths = [1] * x_num.shape[1] + [e.embedding_dim for e in net.inputs.embeddings]
    per_enc = np.add.reduceat(per_dim, np.cumsum([0, *widths[:-1]]), axis=1)
    values = to_raw_columns(per_enc, encoded_sources(estimator, schema), schema.feature_names)
    return Attribution(values, schema.feature_names, "integrated gradients", unit, targets)


Explainer = Callable[[Any, pd.DataFrame, Schema, pd.DataFrame], Attribution]


def native_explainer(estimator: Any) -> Explainer | None:
    """The family's own per-row attribution method, or None (occlusion applies)."""
    model = final_step(estimator)
    if hasattr(model, "module_") and hasattr(model.module_, "inputs"):
        return _integrated_gradients
    if hasattr(model, "booster_"):
        return _treeshap
    if hasattr(model, "coef_") and estimator.named_steps.get("encode") is not None:
        return _linear
    return None


def _tabular(
    estimator: Any, X: pd.DataFrame, schema: Schema, reference: pd.DataFrame
) -> Attribution | None:
    method = native_explainer(estimator)
    return method(estimator, X, schema, reference) if method is not None else None


#: Per-modality native attribution functions over raw columns ``(estimator, X, schema,
#: reference_frame) -> Attribution | None``. Text and images are explained per word and per
#: pixel by :func:`explain_row` instead (see the module docstring).
ROW_EXPLAINERS: dict[Modality, Callable[..., Attribution | None]] = {Modality.TABULAR: _tabular}


def attribute(
    estimator: Any, X: pd.DataFrame, schema: Schema, reference: dict[str, Any]
) -> Attribution | None:
    """Native contributions of each raw input column to each row's explained output.

    None when the family has no native view (the caller falls back to occlusion).
    """
    explainer = ROW_EXPLAINERS.get(schema.modality)
    if explainer is None:
        raise ConfigError(
            f"explanations for {schema.modality} data are not available yet; tables are."
        )
    return explainer(estimator, X, schema, reference_frame(reference, X))


def explain_row(
    estimator: Any,
    model_name: str,
    row: pd.DataFrame,
    schema: Schema,
    reference: dict[str, Any],
    *,
    top: int = 10,
    fill: Sequence[float] | None = None,
) -> Explanation:
    """The ``top`` columns that moved ``row``'s prediction most, with their raw values.

    Text: the ``top`` words, with a weight for every word (``Explanation.text``). Images: a
    saliency map (``Explanation.image``) relative to the reference image ``fill`` (the data's
    mean image; default: a uniform image of the row's mean colour), and its ``top`` regions.
    """
    row = row.iloc[:1]
    if schema.task is Task.EMBED:
        raise ConfigError(
            "an embedding answers coordinates, not one value a column pushes up or down, so "
            "it has no per-row explanation; see the report's maps, or 'mlvsdl predict'."
        )
    if schema.task is Task.CLUSTER:
        raise ConfigError(
            "a clustering model answers cluster and distance per row; per-column explanations "
            "are not built for clusters (the report profiles each cluster)."
        )
    if schema.task is Task.ANOMALY:
        from mlvsdl.explain.anomaly import explain_anomaly_row

        return explain_anomaly_row(estimator, model_name, row, schema, reference, top)
    if schema.modality is Modality.TEXT:
        from mlvsdl.explain.text import explain_text_row

        return explain_text_row(estimator, model_name, row, schema, top=top)
    if schema.modality is Modality.IMAGE:
        from mlvsdl.explain.image import explain_image_row

        return explain_image_row(estimator, model_name, row, schema, top=top, fill=fill)
    prediction = display_value(np.asarray(estimator.predict(row))[0])
    attribution = attribute(estimator, row, schema, reference)
    if attribution is None:
        return _occlusion(estimator, model_name, row, schema, reference, prediction, top)
    items = top_contributions(attribution, row, top)
    return Explanation(
        model_name, prediction, attribution.targets[0], attribution.method, attribution.unit, items
    )


def _occlusion(
    estimator: Any,
    model_name: str,
    row: pd.DataFrame,
    schema: Schema,
    reference: dict[str, Any],
    prediction: str,
    top: int,
) -> Explanation:
    contributions = occlusion_contributions(estimator, schema, row, reference, top)
    if schema.task.is_classification:
        explained, unit = f"P({prediction!r})", "probability"
    else:
        explained, unit = "prediction", "target units"
    return Explanation(model_name, prediction, explained, OCCLUSION, unit, contributions)


def explain_run_row(
    run_id: str,
    *,
    store: Any = None,
    row: int = 0,
    data: Any = None,
    model: str | None = None,
    top: int = 10,
) -> Explanation:
    """Explain row ``row`` of ``data`` (default: the run's own data file, checked unchanged) with
    ``model`` (default: the recommended model, else the best)."""
    from mlvsdl.data.media import read_inputs
    from mlvsdl.evaluate.rundata import read_options, source_path
    from mlvsdl.result import load_run
    from mlvsdl.store import Store

    result = load_run(run_id, store=store)
    recommended = result.recommendation
    name = model or (recommended.model if recommended else result.best_model_name)
    if name not in result.models:
        raise StoreError(
            f"run {run_id} has no model {name!r}; choose one of: {', '.join(result.models)}."
        )
    run = Store(result.store, create=False).db.run(run_id)
    if data is None:
        data = source_path(run)
    options = {k: v for k, v in read_options(run).items() if v}  # as the run read its data
    frame = data if isinstance(data, pd.DataFrame) else read_inputs(data, **options).frame
    if not 0 <= row < len(frame):
        raise DataError(
            f"row {row} is out of range: the data has {len(frame)} rows (0 to {len(frame) - 1})."
        )
    schema = result.schema
    fill = None
    if schema.modality is Modality.IMAGE:
        from mlvsdl.explain.image import mean_image

        fill = mean_image(frame, schema)  # the reference: the data's mean image
        reference: dict[str, Any] = {}
    else:
        reference = result.settings.get("reference") or reference_values(frame, schema)
    estimator = result.models[name]
    return explain_row(estimator, name, frame.iloc[[row]], schema, reference, top=top, fill=fill)
