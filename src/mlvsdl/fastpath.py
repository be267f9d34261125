"""A fast path for predicting a few rows given as records (dicts), as a server receives them.

A fitted mlvsdl pipeline (``clean`` -> ``encode`` -> ``model``) predicts from a pandas DataFrame;
for one row, pandas and scikit-learn's input validation cost milliseconds while the model itself
needs microseconds. ``fast_predictor`` compiles the fitted pipeline once into numpy operations:

* cleaning: each record's values are converted in plain Python, exactly as ``TableCleaner`` does
  (numbers, booleans, category strings; dates and text through the same pandas calls);
* encoding: the fitted ``ColumnTransformer`` is *probed* through its public ``transform`` and
  rebuilt as ``base + sum of per-column contributions`` (numeric columns act affinely, with a
  fixed contribution when missing; each categorical value has a fixed contribution). This holds
  for the imputers, scalers, one-hot and ordinal encoders mlvsdl uses; it is verified on random
  probe rows at compile time, and a pipeline that does not match raises ``FastPathUnsupported``;
* the model: LightGBM through its booster, linear models through their coefficients (both also
  verified), anything else through its own ``predict_proba``/``predict`` on the encoded array.

Callers fall back to the pipeline itself when ``FastPathUnsupported`` is raised.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, softmax

from mlvsdl.errors import MlvsdlError, SchemaMismatchError
from mlvsdl.features.tabular import DATETIME_PARTS, MISSING, TableCleaner, cleaned_columns
from mlvsdl.types import Schema

__all__ = ["FastPathUnsupported", "FastPredictor", "fast_predictor"]

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
Records = Sequence[Mapping[str, Any]]


class FastPathUnsupported(MlvsdlError):
    """This fitted pipeline cannot be compiled; predict through the pipeline instead."""


def _as_float(value: Any) -> float:
    if value is None or isinstance(value, bool):
        return float(value) if isinstance(value, bool) else math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _as_bool(value: Any) -> float:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    text = str(value).strip().lower()
    return 1.0 if text in _TRUE else 0.0 if text in _FALSE else math.nan


def _as_category(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return str(value)


class _RecordCleaner:
    """``TableCleaner.transform`` for a list of records, without building a DataFrame."""

    def __init__(self, cleaner: TableCleaner) -> None:
        self.cleaner = cleaner
        self.inputs = cleaner._inputs()

    def __call__(self, records: Records) -> tuple[np.ndarray, list[list[str]]]:
        c = self.cleaner
        missing = [k for k in self.inputs if any(k not in r for r in records)]
        if missing:
            raise SchemaMismatchError(
                f"input is missing field(s) {', '.join(map(repr, missing))} that the model was "
                "trained on; add them (null is allowed)."
            )
        columns: list[list[float]] = [[_as_float(r[k]) for r in records] for k in c.numeric]
        columns += [[_as_bool(r[k]) for r in records] for k in c.boolean]
        for name in c.datetime:
            columns += self._datetime_parts([r[name] for r in records])
        for name in c.text:
            texts = ["" if r[name] is None else str(r[name]) for r in records]
            columns += [[float(len(t)) for t in texts], [float(len(t.split())) for t in texts]]
        numeric = np.array(columns, dtype=np.float64).T.reshape(len(records), len(columns))
        categorical = [[_as_category(r[k]) for r in records] for k in c.categorical]
        return numeric, categorical

    @staticmethod
    def _datetime_parts(values: list[Any]) -> list[list[float]]:
        frame = pd.DataFrame({"d": pd.Series(values, dtype=object)})
        parts = TableCleaner(datetime=("d",)).fit(frame).transform(frame)
        return [parts[f"d__{p}"].tolist() for p in DATETIME_PARTS]


def _dense(matrix: Any) -> np.ndarray:
    return np.asarray(matrix.toarray() if hasattr(matrix, "toarray") else matrix, dtype=np.float64)


class _EncoderPlan:
    """A fitted ColumnTransformer as base + affine numeric part + categorical lookup tables."""

    def __init__(self, encoder: Any, numeric: list[str], categorical: list[str]) -> None:
        self.encoder, self.numeric, self.categorical = encoder, numeric, categorical
        self.categories = [self._known(name) for name in categorical]
        base_cat = [cats[0] for cats in self.categories]
        self.base = self._probe(np.zeros((1, len(numeric))), [[v] for v in base_cat])[0]
        eye = np.eye(len(numeric))
        self.slope = self._probe(eye, [[v] * len(numeric) for v in base_cat]) - self.base
        nans = np.where(eye == 1, np.nan, 0.0)
        nan_delta = self._probe(nans, [[v] * len(numeric) for v in base_cat]) - self.base
        # Passed-through numbers stay missing (trees split on NaN); imputers give a fixed value.
        self.nan_passes = np.isnan(nan_delta).astype(np.float64)
        self.nan_delta = np.nan_to_num(nan_delta, nan=0.0)
        self.tables = [self._table(j) for j in range(len(categorical))]
        self.index = [{v: i for i, v in enumerate(cats)} for cats in self.categories]

    def _known(self, name: str) -> list[str]:
        for _, transformer, cols in self.encoder.transformers_:
            if hasattr(transformer, "categories_") and name in list(cols):
                return [str(v) for v in transformer.categories_[list(cols).index(name)]]
        raise FastPathUnsupported(f"no fitted categories for column {name!r}")

    def _probe(self, numeric: np.ndarray, categorical: list[list[str]]) -> np.ndarray:
        """The real encoder's output for these cleaned values (public ``transform`` only)."""
        if len(numeric) == 0:
            width = len(self.base) if hasattr(self, "base") else 0
            return np.zeros((0, width))
        frame = pd.DataFrame(numeric, columns=self.numeric)
        for name, values in zip(self.categorical, categorical, strict=True):
            frame[name] = pd.Series(values, dtype=object)
        with warnings.catch_warnings():  # unseen probe values are expected here
            warnings.simplefilter("ignore", UserWarning)
            return _dense(self.encoder.transform(frame))

    def _table(self, j: int) -> np.ndarray:
        """Contribution of each known value of categorical column j, then of an unseen value."""
        values = [*self.categories[j], "\0unseen\0"]
        cats = [[c[0]] * len(values) for c in self.categories]
        cats[j] = values
        return self._probe(np.zeros((len(values), len(self.numeric))), cats) - self.base

    def __call__(self, numeric: np.ndarray, categorical: list[list[str]]) -> np.ndarray:
        finite = np.isfinite(numeric)
        out = self.base + np.where(finite, numeric, 0.0) @ self.slope
        missing = (~finite).astype(np.float64)
        out += missing @ self.nan_delta
        out[(missing @ self.nan_passes) > 0] = np.nan
        for j, values in enumerate(categorical):
            lookup, unseen = self.index[j], len(self.categories[j])
            out += self.tables[j][[lookup.get(v, unseen) for v in values]]
        return out


def _model_function(model: Any) -> tuple[Callable[[np.ndarray], np.ndarray], bool]:
    """The model's probability (or value) function on encoded rows, and whether it classifies."""
    classifies = hasattr(model, "predict_proba")
    booster = getattr(model, "booster_", None)
    if booster is not None:
        if classifies and len(model.classes_) == 2:
            return (lambda X: (lambda p: np.column_stack([1 - p, p]))(booster.predict(X))), True
        return booster.predict, classifies
    coef = getattr(model, "coef_", None)
    if coef is not None and type(model).__name__ in ("LogisticRegression", "Ridge"):
        if not classifies:
            return (lambda X: X @ np.ravel(coef) + model.intercept_), False
        if coef.shape[0] == 1:
            return (
                lambda X: (lambda p: np.column_stack([1 - p, p]))(
                    expit(X @ coef[0] + model.intercept_[0])
                )
            ), True
        return (lambda X: softmax(X @ coef.T + model.intercept_, axis=1)), True
    return (model.predict_proba if classifies else model.predict), classifies


class FastPredictor:
    """Predictions for records (dicts of raw values), equal to the pipeline's within 1e-9."""

    def __init__(self, pipeline: Any, schema: Schema) -> None:
        steps = dict(pipeline.steps) if hasattr(pipeline, "steps") else {}
        clean, encode = steps.get("clean"), steps.get("encode")
        if not isinstance(clean, TableCleaner) or encode is None or len(steps) != 3:
            raise FastPathUnsupported("only clean -> encode -> model pipelines are compiled")
        self.model = pipeline.steps[-1][1]
        self.classes_ = getattr(self.model, "classes_", None)
        numeric, categorical = cleaned_columns(schema)
        self._clean = _RecordCleaner(clean)
        self._encode = _EncoderPlan(encode, numeric, categorical)
        self._model, self.classifies = _model_function(self.model)
        self._verify(numeric, categorical)

    def _verify(self, numeric: list[str], categorical: list[str]) -> None:
        rng = np.random.default_rng(0)
        num = rng.normal(scale=3.0, size=(16, len(numeric)))
        num[rng.random(num.shape) < 0.2] = np.nan
        cats = [list(rng.choice([*c, "\0unseen\0"], size=16)) for c in self._encode.categories]
        expected = self._encode._probe(num, cats)  # the real encoder on the same rows
        if not np.allclose(self._encode(num, cats), expected, rtol=1e-9, atol=1e-9, equal_nan=True):
            raise FastPathUnsupported("the encoder is not a sum of per-column contributions")
        reference = self.model.predict_proba if self.classifies else self.model.predict
        if not np.allclose(self._model(expected), reference(expected), rtol=1e-9, atol=1e-12):
            raise FastPathUnsupported("the model shortcut disagrees with the model")

    def encode(self, records: Records) -> np.ndarray:
        return self._encode(*self._clean(records))

    def predict_proba(self, records: Records) -> np.ndarray:
        return np.asarray(self._model(self.encode(records)))

    def predict(self, records: Records) -> np.ndarray:
        out = self.predict_proba(records)
        return np.asarray(self.classes_)[out.argmax(axis=1)] if self.classifies else out

    __call__ = predict_proba


def fast_predictor(pipeline: Any, schema: Schema) -> FastPredictor:
    """Compile ``pipeline`` for record input; raises ``FastPathUnsupported`` if it cannot."""
    return FastPredictor(pipeline, schema)
