"""The model a server answers with: loaded once, with everything a request needs precomputed.

:func:`load_served_model` reads a run from the store (safely: checksums and trusted types, see
``store/artifacts.py``) and builds a :class:`ServedModel`. Its ``predict`` and ``explain`` take
validated rows (dicts from :class:`~mlvsdl.serve.schemas.RowValidator`) and return JSON-ready
results; the one-row path builds its frame straight from the dict. For image and audio runs the
validated rows already hold the decoded arrays (see :mod:`mlvsdl.serve.files`).
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.errors import DataError, StoreError
from mlvsdl.evaluate.local import explain_row, json_scalar
from mlvsdl.fastpath import FastPathUnsupported, FastPredictor, fast_predictor
from mlvsdl.result import load_run
from mlvsdl.serve.files import file_description
from mlvsdl.serve.schemas import RequestError, RowValidator
from mlvsdl.store.db import check_run_id
from mlvsdl.tasks import get_task
from mlvsdl.types import ColumnKind, Schema, Task

__all__ = ["EXPLAIN_METHOD", "ServedModel", "category_levels", "load_served_model"]

logger = logging.getLogger(__name__)

EXPLAIN_METHOD = (
    "replace-with-reference: each feature's contribution is the change in the score when that "
    "feature alone is replaced by its typical training value (median, or most frequent value); "
    "the score is the probability of the predicted class, or the predicted value. Interactions "
    "are ignored and contributions need not add up."
)
MAX_LEVELS = 200  # category levels listed in /schema (for the form)
NO_MEDIA_EXPLANATION = (
    "/explain is not available for {modality} models: replace-with-reference needs a typical "
    "value per input, and there is no typical {modality}; use /predict for the prediction and "
    "its class probabilities."
)
FAST_PATH_MAX_ROWS = 64  # above this, the pipeline's vectorized pandas path is as fast


@dataclass
class ServedModel:
    """One fitted model of a run, ready to answer requests."""

    run_id: str
    name: str
    estimator: Any
    schema: Schema
    reference: dict[str, Any]
    leaderboard: list[dict[str, Any]]
    report_path: Path | None
    levels: dict[str, list[str]] = field(default_factory=dict)
    allow_missing: bool = False  # else fields never missing in training are required

    def __post_init__(self) -> None:
        self.validator = RowValidator(self.schema, allow_missing=self.allow_missing)
        self.features = self.schema.feature_names
        self.media_columns = list(self.validator.media_columns)
        self.classes = (
            np.asarray(self.estimator.classes_) if self.schema.task.is_classification else None
        )
        labels = self.classes if self.classes is not None else []
        self.class_keys = [str(json_scalar(c)) for c in labels]
        self._known = {name: frozenset(values) for name, values in self.levels.items()}
        self.task = get_task(self.schema.task)
        if not self.schema.task.is_supervised:  # the fast path compiles prediction models only
            self._fast = None
            return
        try:  # numpy-only path for a few rows; verified against the pipeline when built
            self._fast: FastPredictor | None = fast_predictor(self.estimator, self.schema)
        except FastPathUnsupported as exc:
            logger.info("serving %s through its pipeline: %s", self.name, exc)
            self._fast = None

    def _outputs(self, rows: list[dict[str, Any]]) -> np.ndarray:
        """Probabilities (classification) or values (regression) for validated rows."""
        if self._fast is not None and len(rows) <= FAST_PATH_MAX_ROWS:
            return self._fast.predict_proba(rows)
        frame = self.frame(rows)
        if self.classes is None:
            return np.asarray(self.estimator.predict(frame))
        return np.asarray(self.estimator.predict_proba(frame))

    def frame(self, rows: list[dict[str, Any]]) -> pd.DataFrame:
        """The raw DataFrame the pipeline takes (one column per feature)."""
        if self.media_columns:  # cells hold arrays: build object columns element by element
            columns = {}
            for name in self.features:
                cells = np.empty(len(rows), dtype=object)
                for i, row in enumerate(rows):
                    cells[i] = row[name]
                columns[name] = cells
            return pd.DataFrame(columns, columns=self.features)
        if len(rows) == 1:
            row = rows[0]
            return pd.DataFrame({name: [row[name]] for name in self.features})
        return pd.DataFrame.from_records(rows, columns=self.features)

    @property
    def purpose(self) -> str:
        """What the model answers, in a few words (for the API's description)."""
        if self.schema.task.is_supervised:
            return f"Predicts **{self.schema.target}**"
        return f"Answers {', '.join(self.task.output_columns(self.schema))} per record"

    def predict(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``[{"prediction": ..., "probabilities": {class: p}}]`` (no probabilities: regression);
        a task without a target answers its own fields (``{"anomaly_score", "is_anomaly"}``)."""
        if self.schema.task is Task.FORECAST:
            from mlvsdl.serve.forecast import FORECAST_ONLY

            raise RequestError(422, FORECAST_ONLY)
        if not self.schema.task.is_supervised:
            return self.task.to_records(
                self.task.predict(self.estimator, self.frame(rows)), self.schema
            )
        outputs = _checked(np.asarray(self._outputs(rows), dtype=np.float64))
        if self.classes is None:
            return [{"prediction": v} for v in outputs.tolist()]
        proba = outputs
        labels = [json_scalar(c) for c in self.classes[proba.argmax(axis=1)]]
        keys = self.class_keys
        return [
            {"prediction": label, "probabilities": dict(zip(keys, p, strict=True))}
            for label, p in zip(labels, proba.tolist(), strict=True)
        ]

    def answer(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """The body of a /predict answer: model name, predictions and any warnings."""
        predictions = self.predict(rows)
        for prediction, row in zip(predictions, rows, strict=True):
            imputed = self.imputed(row)
            if imputed:
                prediction["imputed"] = imputed
        body: dict[str, Any] = {"model": self.name, "predictions": predictions}
        warnings = self.warnings(rows)
        if warnings:
            body["warnings"] = warnings
        return body

    def imputed(self, row: dict[str, Any]) -> list[str]:
        """Fields absent from ``row`` that had a value in every training row: the model answers
        from a stand-in value it never trained on (only possible with ``allow_missing``)."""
        return [name for name in self.validator.never_missing if row.get(name) is None]

    @property
    def explain_unavailable(self) -> str | None:
        """Why /explain cannot answer for this model, or None when it can."""
        if self.schema.task is Task.EMBED:
            return (
                "/explain is not available for an embedding: its answer is coordinates, not one "
                "value a column can push up or down; use /predict for the coordinates."
            )
        if self.media_columns:
            return NO_MEDIA_EXPLANATION.format(modality=self.schema.modality)
        if self.schema.task is Task.RECOMMEND:
            return (
                "a recommender answers GET /recommend?user=ID&k=10 and /similar?item=ID; "
                "per-column explanations do not apply to its user and item ids."
            )
        if self.schema.task is Task.CLUSTER:
            return (
                "a clustering model answers cluster and distance per record; per-column "
                "explanations are not built for clusters (the report profiles each cluster)."
            )
        if not self.reference:
            return (
                f"run {self.run_id} has no reference values (it predates explanations); "
                "re-run 'mlvsdl compare' to explain its predictions."
            )
        return None

    def explain(self, row: dict[str, Any]) -> dict[str, Any]:
        """Prediction and per-feature contributions for one validated row."""
        if self.media_columns or self.schema.task in (Task.EMBED, Task.CLUSTER, Task.RECOMMEND):
            raise RequestError(422, self.explain_unavailable)
        if not self.reference:
            raise StoreError(
                f"run {self.run_id} has no reference values (it predates explanations); "
                "re-run 'mlvsdl compare' to explain its predictions."
            )
        result = self.predict([row])[0]
        if self.schema.task is Task.ANOMALY:
            return {**result, **self._explain_anomaly(row)}
        contributions = explain_row(self.estimator, self.schema, self.frame([row]), self.reference)
        for item in contributions:
            item["contribution"] = _finite(item["contribution"])
        if self.classes is None:
            explained = f"predicted {self.schema.target}"
        else:
            explained = f"probability of class {result['prediction']!r}"
        imputed = self.imputed(row)
        return {
            **result,
            **({"imputed": imputed} if imputed else {}),
            "explained": explained,
            "method": EXPLAIN_METHOD,
            "contributions": contributions,
        }

    def _explain_anomaly(self, row: dict[str, Any]) -> dict[str, Any]:
        from mlvsdl.explain.anomaly import explain_anomaly_row

        found = explain_anomaly_row(
            self.estimator, self.name, self.frame([row]), self.schema, self.reference, top=50
        )
        return {
            "explained": "anomaly score",
            "method": found.method,
            "contributions": [
                {"feature": c.feature, "value": c.value, "contribution": _finite(c.contribution)}
                for c in found.contributions
            ],
        }

    def warnings(self, rows: list[dict[str, Any]], *, limit: int = 20) -> list[str]:
        """Notes on valid but unusual input: category values the model never saw in training."""
        out: list[str] = []
        for row_index, row in enumerate(rows):
            for name, known in self._known.items():
                value = row[name]
                if value is not None and value not in known and len(out) < limit:
                    where = f"row {row_index}: " if len(rows) > 1 else ""
                    out.append(f"{where}{name}={value!r} was not seen in training; read as unknown")
        return out

    def describe(self) -> dict[str, Any]:
        """What GET /schema answers: the fields a request may carry and how each is read."""
        fields = []
        types = self.validator.types
        for column in self.schema.columns:
            if not column.used:
                continue
            item: dict[str, Any] = {
                "name": column.name,
                "kind": str(column.kind),
                "widget": types[column.name].widget if column.name in types else None,
                "reference": self.reference.get(column.name),
                "missing_fraction": column.missing_fraction,
                "required": column.name in self.validator.required,
            }
            if column.name in self.levels:
                item["levels"] = self.levels[column.name][:MAX_LEVELS]
            if column.name in self.media_columns:
                item["required"] = True
                item["file"] = file_description(column.kind, column.name, self.schema.media)
            fields.append(item)
        unavailable = self.explain_unavailable
        return {
            "run_id": self.run_id,
            "model": self.name,
            "target": self.schema.target,
            "task": str(self.schema.task),
            "answers": self.task.output_columns(self.schema),
            "modality": str(self.schema.modality),
            "classes": self.class_keys or None,
            "fields": fields,
            "ignored": [c.name for c in self.schema.dropped]
            + [c for c in (self.schema.target, self.schema.label) if c is not None],
            "allow_missing": self.allow_missing,
            "explain": unavailable is None,
            **({"explain_unavailable": unavailable} if unavailable else {}),
        }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _checked(values: np.ndarray) -> np.ndarray:
    """``values`` if all finite; else a DataError naming the rows (extreme inputs can do this)."""
    bad = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)
    if bad.any():
        rows = ", ".join(map(str, np.flatnonzero(bad)[:10]))
        raise DataError(
            f"the model gave no finite answer for row(s) {rows}; check them for extreme values."
        )
    return values


def category_levels(estimator: Any, schema: Schema) -> dict[str, list[str]]:
    """Category levels seen in training, read from the pipeline's encoder (empty if none)."""
    categorical = schema.of_kind(ColumnKind.CATEGORICAL)
    encode = getattr(estimator, "named_steps", {}).get("encode")
    for name, transformer, columns in getattr(encode, "transformers_", ()):
        if name == "cat" and hasattr(transformer, "categories_") and list(columns) == categorical:
            return {
                col: [str(v) for v in cats if isinstance(v, str) and v != "__missing__"]
                for col, cats in zip(columns, transformer.categories_, strict=True)
            }
    return {}


def load_served_model(
    run_id: str,
    store: str | os.PathLike[str] | None = None,
    model: str | None = None,
    *,
    allow_missing: bool = False,
) -> ServedModel:
    """Load ``model`` (default: the best) of run ``run_id`` once, for serving."""
    result = load_run(check_run_id(run_id), store=store)
    name = model or result.best_model_name
    if name not in result.models:
        raise StoreError(
            f"run {run_id} has no fitted model {name!r}; choose one of: {', '.join(result.models)}."
        )
    estimator = result.models[name]
    report = result.store / "runs" / run_id / "report.html"
    board = result.leaderboard.astype(object).where(result.leaderboard.notna(), None)
    columns = ["rank", "model", "title", "kind", "status", "val_score", "test_score", "note"]
    logger.info("serving model %s of run %s", name, run_id)
    return ServedModel(
        run_id=run_id,
        name=name,
        estimator=estimator,
        schema=result.schema,
        reference=dict(result.settings.get("reference") or {}),
        leaderboard=[{k: json_scalar(r[k]) for k in columns} for r in board.to_dict("records")],
        report_path=report,
        levels=category_levels(estimator, result.schema),
        allow_missing=allow_missing,
    )
