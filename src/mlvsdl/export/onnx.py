"""Export a fitted pipeline to ONNX: the encoding step and the model, in one graph.

What the graph contains, for every exportable family:

* INCLUDED: the ``encode`` step (median imputation with missing-value indicators, standardization,
  one-hot or ordinal category codes, unseen categories handled as in scikit-learn) and the model,
  with class probabilities (softmax for networks) and the predicted label.
* NOT INCLUDED: the ``clean`` step (:class:`~mlvsdl.features.tabular.TableCleaner`), which parses
  raw values: text to numbers, booleans to 0/1, datetimes to year/month/day/day_of_week/hour,
  text to n_chars/n_words, missing categories to ``"__missing__"``. ONNX has no operators for
  this parsing, so the caller does it: :func:`onnx_feed` applies the model's own cleaner.

Inputs: one tensor of shape ``(N, 1)`` per cleaned column, named as the cleaner names them:
float32 for numeric columns (NaN = missing), string for categorical ones. Outputs:
``label`` (N,) and ``probabilities`` (N, n_classes) in ``classes_`` order for classification;
``prediction`` (N, 1) for regression. Classical models convert with skl2onnx (LightGBM through
onnxmltools); networks export with ``torch.onnx`` (dynamo) and are joined to the skl2onnx encoder
graph. The run id, model name, classes and these notes are stored in the model's metadata.

Exportable (:data:`EXPORTABLE`, each verified exact): logistic regression, ridge, LightGBM,
Gaussian naive Bayes and the networks. kNN, decision trees, random forests and the dummy
baseline are refused with the reason. ``export_run_onnx`` also runs the graph in ONNX Runtime on
check rows built from the schema (the typical row, each feature missing, each category unseen)
and writes nothing unless it matches the native model within ``TOLERANCE``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import warnings
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.errors import ConfigError, StoreError
from mlvsdl.features.tabular import TableCleaner
from mlvsdl.result import load_run
from mlvsdl.store.artifacts import write_bytes_atomic
from mlvsdl.store.db import check_run_id
from mlvsdl.types import ColumnKind, Schema, Task

__all__ = [
    "EXCLUDED",
    "EXPORTABLE",
    "INCLUDED",
    "OnnxExport",
    "export_onnx",
    "export_run_onnx",
    "onnx_feed",
    "probe_rows",
]

logger = logging.getLogger(__name__)

OPSET = {"": 18, "ai.onnx.ml": 3}
INCLUDED = (
    "encoding (imputation, missing indicators, scaling, one-hot/ordinal category codes)",
    "the model, with class probabilities and the predicted label",
)
EXCLUDED = (
    "the cleaning step (TableCleaner): parse numbers, booleans to 0/1, datetime parts, text "
    "lengths, missing categories to '__missing__'; apply it first (mlvsdl.export.onnx.onnx_feed)",
)


# Final estimators whose skl2onnx / torch.onnx graphs were verified to match scikit-learn.
EXPORTABLE = frozenset(
    {
        "LogisticRegression",
        "Ridge",
        "LGBMClassifier",
        "LGBMRegressor",
        "TimedLGBMClassifier",
        "TimedLGBMRegressor",
        "GaussianNB",
        "TabularNetClassifier",
        "TabularNetRegressor",
    }
)
_WHY_NOT = {
    "Dummy": "skl2onnx has no converter for it",
    "KNeighbors": "skl2onnx's converter does not reproduce its distance-weighted vote",
    "DecisionTree": "skl2onnx's tree converter ignores where the tree sends missing values",
    "RandomForest": "skl2onnx's tree converter ignores where the trees send missing values",
    "XGBoost": "no converter for it has been verified here yet",
    "CatBoost": "no converter for it has been verified here yet",
}
TOLERANCE = 1e-5


@dataclass(frozen=True)
class OnnxExport:
    """What was written: the file, its inputs and outputs, and what the graph covers."""

    path: Path
    inputs: list[tuple[str, str]]  # (name, element type)
    outputs: list[str]
    included: tuple[str, ...] = INCLUDED
    excluded: tuple[str, ...] = EXCLUDED


def _require() -> None:
    needed = ("onnx", "skl2onnx", "onnxmltools", "onnxruntime", "onnxscript")
    missing = [name for name in needed if find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"ONNX export needs {', '.join(missing)}, which are not installed; "
            "run: pip install 'mlvsdl[export]'"
        )


def _split(estimator: Any) -> tuple[TableCleaner, list[tuple[str, Any]]]:
    steps = getattr(estimator, "steps", None)
    if not steps or not isinstance(steps[0][1], TableCleaner):
        raise ConfigError(
            f"cannot export a {type(estimator).__name__} to ONNX: expected an mlvsdl tabular "
            "pipeline (clean -> encode -> model); use --format bundle instead."
        )
    return steps[0][1], steps[1:]


def onnx_feed(estimator: Any, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """ONNX Runtime inputs for raw rows: the pipeline's own cleaner, then one array per column."""
    cleaner, _ = _split(estimator)
    cleaned = cleaner.transform(frame)
    categorical = set(cleaner.categorical)
    return {
        name: (
            cleaned[name].to_numpy(dtype=object).astype(str)
            if name in categorical
            else cleaned[name].to_numpy(dtype=np.float32)
        ).reshape(-1, 1)
        for name in cleaned.columns
    }


def _initial_types(cleaner: TableCleaner) -> list[tuple[str, Any]]:
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    categorical = set(cleaner.categorical)
    return [
        (
            str(name),
            StringTensorType([None, 1]) if name in categorical else FloatTensorType([None, 1]),
        )
        for name in cleaner.get_feature_names_out()
    ]


def export_onnx(
    estimator: Any,
    schema: Schema,
    path: str | Path,
    *,
    run_id: str = "",
    model_name: str = "",
    probe: pd.DataFrame | None = None,
) -> OnnxExport:
    """Write ``estimator`` (encode + model; see the module docstring) to ``path`` as ONNX.

    With ``probe`` (raw rows), ONNX Runtime must reproduce the native predictions on them
    (probabilities within ``TOLERANCE``) before anything is written.

    Raises:
        ConfigError: the export extra is missing, the model has no exact ONNX conversion, or
            the graph disagrees with the model on ``probe``.
    """
    _require()
    import onnx

    from mlvsdl.export import converters as convert

    cleaner, rest = _split(estimator)
    final = rest[-1][1]
    embedding = schema.task is Task.EMBED
    if embedding:
        from mlvsdl.export import embed

        embed.check_embedder(final)
    else:
        _check_exportable(final)
    inputs = _initial_types(cleaner)
    detector = schema.task is Task.ANOMALY
    with _quiet():
        if embedding:
            graph = embed.embedding_graph(rest, inputs, OPSET)
        elif detector:
            graph = convert.detector_graph(rest, inputs, OPSET)
        elif hasattr(final, "module_"):
            graph = convert.network_graph(rest, inputs, OPSET)
        else:
            graph = convert.classical_graph(rest, inputs, OPSET, schema.task.is_classification)
    _annotate(graph, schema, final, run_id, model_name)
    onnx.checker.check_model(graph)
    if probe is not None and embedding:
        embed.verify_embedding(graph, estimator, probe, TOLERANCE)
    elif probe is not None and detector:
        _verify_detector(graph, estimator, probe)
    elif probe is not None:
        _verify(graph, estimator, probe, schema.task.is_classification)
    out = Path(path)
    write_bytes_atomic(out, graph.SerializeToString())
    logger.info("wrote %s (%d bytes)", out, out.stat().st_size)
    kinds = {1: "float32", 8: "string"}
    return OnnxExport(
        path=out,
        inputs=[(i.name, kinds.get(i.type.tensor_type.elem_type, "?")) for i in graph.graph.input],
        outputs=[o.name for o in graph.graph.output],
        included=(INCLUDED[0], "the embedding's coordinates") if embedding else INCLUDED,
    )


@contextlib.contextmanager
def _quiet() -> Any:
    """Silence the converters' progress prints, log chatter and deprecation warnings."""
    torch_log = logging.getLogger("torch.onnx")
    level = torch_log.level
    torch_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        torch_log.setLevel(level)


def export_run_onnx(
    run_id: str,
    path: str | os.PathLike[str],
    *,
    store: str | os.PathLike[str] | None = None,
    model: str | None = None,
) -> tuple[OnnxExport, str]:
    """Export ``model`` (default: the best) of a stored run; return the export and model name."""
    _require()
    result = load_run(check_run_id(run_id), store=store)
    name = model or result.best_model_name
    if name not in result.models:
        raise StoreError(
            f"run {run_id} has no fitted model {name!r}; choose one of: {', '.join(result.models)}."
        )
    estimator = result.models[name]
    probe = probe_rows(result.schema, result.settings.get("reference") or {})
    done = export_onnx(estimator, result.schema, path, run_id=run_id, model_name=name, probe=probe)
    return done, name


def _annotate(graph: Any, schema: Schema, final: Any, run_id: str, model_name: str) -> None:
    """Record where the graph comes from and what it covers in its metadata."""
    meta = {
        "mlvsdl.run_id": run_id,
        "mlvsdl.model": model_name,
        "mlvsdl.target": schema.target,
        "mlvsdl.task": str(schema.task),
        "mlvsdl.classes": json.dumps([str(c) for c in getattr(final, "classes_", [])]),
        "mlvsdl.included": "; ".join(INCLUDED),
        "mlvsdl.not_included": "; ".join(EXCLUDED),
    }
    for key, value in meta.items():
        graph.metadata_props.add(key=key, value=value)
    graph.producer_name = "mlvsdl"


def _check_exportable(final: Any) -> None:
    name = type(final).__name__
    if hasattr(final, "offset_") and hasattr(final, "score_samples"):
        from mlvsdl.export.converters import DETECTORS

        if name in DETECTORS:
            return
        raise ConfigError(
            f"{name} is not exported to ONNX: of the anomaly detectors, only the isolation "
            "forest and PCA reconstruction have an exact graph yet; export it with --format "
            "bundle instead."
        )
    if name not in EXPORTABLE:
        why = next((w for k, w in _WHY_NOT.items() if name.startswith(k)), "it is not supported")
        raise ConfigError(
            f"{name} is not exported to ONNX: {why}; export it with --format bundle instead."
        )


def _verify(graph: Any, estimator: Any, probe: pd.DataFrame, classification: bool) -> None:
    """Refuse a graph whose ONNX Runtime predictions differ from the model's on ``probe``."""
    import onnxruntime

    session = onnxruntime.InferenceSession(
        graph.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    got = session.run(None, onnx_feed(estimator, probe))[-1]
    if classification:
        expected = np.asarray(estimator.predict_proba(probe), dtype=np.float64)
        gap = float(np.max(np.abs(got - expected)))
    else:
        expected = np.asarray(estimator.predict(probe), dtype=np.float64).reshape(-1, 1)
        gap = float(np.max(np.abs(got - expected) / (1.0 + np.abs(expected))))
    if not gap <= TOLERANCE:
        raise ConfigError(
            f"the ONNX graph disagrees with the model by {gap:.2g} on check rows (tolerance "
            f"{TOLERANCE:g}); nothing was written. Export it with --format bundle instead."
        )


def _verify_detector(graph: Any, estimator: Any, probe: pd.DataFrame) -> None:
    """Refuse a detector graph whose scores or flags differ from the model's on ``probe``."""
    import onnxruntime

    session = onnxruntime.InferenceSession(
        graph.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    scores, flags = session.run(["anomaly_score", "is_anomaly"], onnx_feed(estimator, probe))
    expected = -np.asarray(estimator.score_samples(probe), dtype=np.float64)
    gap = float(np.max(np.abs(scores - expected) / (1.0 + np.abs(expected))))
    same_flags = bool(np.array_equal(flags, np.asarray(estimator.predict(probe)) == -1))
    if not (gap <= TOLERANCE and same_flags):
        raise ConfigError(
            f"the ONNX graph disagrees with the detector on check rows (score gap {gap:.2g}, "
            f"tolerance {TOLERANCE:g}; flags equal: {same_flags}); nothing was written. Export "
            "it with --format bundle instead."
        )


def probe_rows(schema: Schema, reference: dict[str, Any]) -> pd.DataFrame:
    """Check rows from the schema: the typical row, then each feature missing, then each
    categorical feature at a level never seen in training."""
    base = {name: reference.get(name) for name in schema.feature_names}
    rows = [base, *({**base, name: None} for name in base)]
    rows += [{**base, name: "__never_seen__"} for name in schema.of_kind(ColumnKind.CATEGORICAL)]
    return pd.DataFrame(rows, columns=list(base), dtype=object)
