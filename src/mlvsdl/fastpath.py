"""A fast path for predicting a few rows: records (dicts), as a server receives them, or a small
DataFrame, as a user predicts one row from Python.

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

:class:`FastPipeline` is the scikit-learn ``Pipeline`` a user gets from ``result.models``: the same
estimator (``clone``, ``get_params``, skops storage), whose ``predict``/``predict_proba`` take the
compiled path for a DataFrame of at most ``FRAME_MAX_ROWS`` rows. Such a frame's columns of the
common types are read from one object array, the others through ``TableCleaner``'s own column
functions, so the frame building and the encoder's and model's input checks are skipped. The
first small frame is also predicted through the pipeline and compared (rtol 1e-9); on any
disagreement the pipeline answers from then on.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, softmax
from sklearn.pipeline import Pipeline
from sklearn.utils.metaestimators import available_if

from mlvsdl.errors import MlvsdlError, SchemaMismatchError
from mlvsdl.features.tabular import (
    DATETIME_PARTS,
    MISSING,
    TableCleaner,
    _bool_to_float,
    _to_category_strings,
    _to_float,
)
from mlvsdl.types import Schema

__all__ = [
    "FRAME_MAX_ROWS",
    "FastPathUnsupported",
    "FastPipeline",
    "FastPredictor",
    "as_fast_pipeline",
    "fast_predictor",
]

logger = logging.getLogger(__name__)

FRAME_MAX_ROWS = 64  # above this, the pipeline's vectorized pandas path is as fast

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


class _FrameCleaner:
    """``TableCleaner.clean_arrays`` for a few rows of a DataFrame, read from one object array.

    Columns of the common types (numpy numbers and booleans, all-string categories) are read
    from ``frame.to_numpy(dtype=object)``, giving the values ``TableCleaner`` gives; any other
    column, and every date and text column, goes through ``TableCleaner``'s own functions.
    """

    def __init__(self, cleaner: TableCleaner) -> None:
        self.cleaner = cleaner
        self.others = TableCleaner(datetime=cleaner.datetime, text=cleaner.text)
        self.has_others = bool(cleaner.datetime or cleaner.text)

    def __call__(self, frame: pd.DataFrame) -> tuple[np.ndarray, list[list[Any]]]:
        c = self.cleaner
        c._check(frame)
        values = frame.to_numpy(dtype=object)
        dtypes = frame.dtypes.to_numpy()
        where = {name: i for i, name in enumerate(frame.columns)}
        columns = []
        for name in c.numeric:
            j = where[name]
            plain = isinstance(dtypes[j], np.dtype) and dtypes[j].kind in "fiub"
            columns.append(
                values[:, j].astype(np.float64) if plain else _to_float(frame.iloc[:, j])
            )
        for name in c.boolean:
            j = where[name]
            plain = isinstance(dtypes[j], np.dtype) and dtypes[j].kind == "b"
            columns.append(
                values[:, j].astype(np.float64) if plain else _bool_to_float(frame.iloc[:, j])
            )
        if self.has_others:
            columns += self.others.clean_arrays(frame)[0].values()
        categorical = []
        for name in c.categorical:
            j = where[name]
            cells = values[:, j].tolist()
            if getattr(dtypes[j], "kind", "") != "O" or not all(isinstance(v, str) for v in cells):
                cells = _to_category_strings(frame.iloc[:, j]).tolist()
            categorical.append(cells)
        numeric = np.empty((len(frame), len(columns)), dtype=np.float64)
        for j, column in enumerate(columns):
            numeric[:, j] = column
        return numeric, categorical


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
        # one thread for a few rows: under load, OpenMP's thread start-up cost 16 ms a row
        def predict(X: np.ndarray) -> np.ndarray:
            return booster.predict(X, num_threads=1)

        if classifies and len(model.classes_) == 2:
            return (lambda X: (lambda p: np.column_stack([1 - p, p]))(predict(X))), True
        return predict, classifies
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

    def __init__(self, pipeline: Any, schema: Schema | None = None) -> None:
        steps = dict(pipeline.steps) if hasattr(pipeline, "steps") else {}
        clean, encode = steps.get("clean"), steps.get("encode")
        if not isinstance(clean, TableCleaner) or encode is None or len(steps) != 3:
            raise FastPathUnsupported("only clean -> encode -> model pipelines are compiled")
        self.model = pipeline.steps[-1][1]
        self.classes_ = getattr(self.model, "classes_", None)
        names = list(clean.get_feature_names_out())  # as cleaned_columns(schema) gives them
        categorical = list(clean.categorical)
        numeric = names[: len(names) - len(categorical)]
        self._clean_frame = _FrameCleaner(clean)
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

    def predict_proba_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """Probabilities (or values) for a few rows of a raw DataFrame."""
        return np.asarray(self._model(self._encode(*self._clean_frame(frame))))

    def predict(self, records: Records) -> np.ndarray:
        out = self.predict_proba(records)
        return np.asarray(self.classes_)[out.argmax(axis=1)] if self.classifies else out

    __call__ = predict_proba


def fast_predictor(pipeline: Any, schema: Schema) -> FastPredictor:
    """Compile ``pipeline`` for record input; raises ``FastPathUnsupported`` if it cannot."""
    return FastPredictor(pipeline, schema)


def _final_has(attr: str) -> Callable[[Any], bool]:
    return lambda pipeline: hasattr(pipeline.steps[-1][1], attr)


class FastPipeline(Pipeline):
    """A scikit-learn ``Pipeline`` whose ``predict``/``predict_proba`` on a DataFrame of at most
    ``FRAME_MAX_ROWS`` rows take the compiled fast path (same answers within rtol 1e-9).

    Everything else is ``Pipeline``'s: parameters, cloning, slicing, storage. The compiled
    predictor is a cache, built on the first small frame and never stored or copied.
    """

    _CACHE = "_fast_path"

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop(self._CACHE, None)
        return state

    @available_if(_final_has("predict_proba"))
    def predict_proba(self, X: Any, **params: Any) -> np.ndarray:
        out = self._fast_outputs(X, params)
        return super().predict_proba(X, **params) if out is None else out

    @available_if(_final_has("predict"))
    def predict(self, X: Any, **params: Any) -> np.ndarray:
        out = self._fast_outputs(X, params)
        if out is None:
            return super().predict(X, **params)
        if not hasattr(self, "predict_proba"):  # regression: the outputs are the values
            return out
        return np.asarray(self.classes_)[out.argmax(axis=1)]

    def _fast_outputs(self, X: Any, params: dict[str, Any]) -> np.ndarray | None:
        """Fast-path outputs for a small DataFrame, or None where the pipeline must answer."""
        if params or not isinstance(X, pd.DataFrame) or not 0 < len(X) <= FRAME_MAX_ROWS:
            return None
        predictor = self.__dict__.get(self._CACHE)
        if predictor is None:
            return self._compile(X)
        return predictor.predict_proba_frame(X) if predictor is not False else None

    def _compile(self, X: pd.DataFrame) -> np.ndarray:
        """Compile the fast path and check it against the pipeline on ``X``; return the
        outputs for ``X`` of the path that answers from now on (so that one model gives one
        answer for the same rows, first call or later)."""
        plain = Pipeline.predict_proba if hasattr(self, "predict_proba") else Pipeline.predict
        expected = np.asarray(plain(self, X))
        try:
            predictor = FastPredictor(self)
            got = predictor.predict_proba_frame(X)
            if got.shape != expected.shape or not np.allclose(
                got, expected, rtol=1e-9, atol=1e-12, equal_nan=True
            ):
                raise FastPathUnsupported("the fast path disagrees with the pipeline on a frame")
        except FastPathUnsupported as exc:
            logger.info("small frames go through the pipeline: %s", exc)
            self.__dict__[self._CACHE] = False
        else:
            self.__dict__[self._CACHE] = predictor
            return got
        return expected


def as_fast_pipeline(estimator: Any) -> Any:
    """``estimator`` as a :class:`FastPipeline` when it is a tabular mlvsdl pipeline (the same
    fitted steps, not copied); anything else is returned as it is."""
    if type(estimator) is not Pipeline or not isinstance(estimator.steps[0][1], TableCleaner):
        return estimator
    fast = FastPipeline.__new__(FastPipeline)
    fast.__dict__.update(estimator.__dict__)
    return fast
