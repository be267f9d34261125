"""Tabular preprocessing shared by every family.

Every candidate is a Pipeline of ``clean`` (TableCleaner), ``encode`` (the family's encoder) and
``model``, so it takes the raw DataFrame a user has. ``TableCleaner`` turns raw columns into a
fixed set of numeric and categorical columns derived from the Schema alone:

* numeric    -> float64 (unparseable values become NaN)
* boolean    -> float64 0/1
* datetime   -> ``<col>__year``, ``__month``, ``__day``, ``__day_of_week``, ``__hour`` (float64)
* text       -> ``<col>__n_chars``, ``__n_words`` (simple encoding; full text support is its own
                modality)
* categorical-> object strings, missing as ``"__missing__"``

The encoders (one-hot for linear models, ordinal codes for trees and embeddings) are chosen by each
family from :func:`linear_encoder`, :func:`ordinal_encoder` and :func:`network_encoder`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from mlvsdl.errors import SchemaMismatchError
from mlvsdl.types import ColumnKind, Schema

__all__ = [
    "MISSING",
    "TableCleaner",
    "cleaned_columns",
    "linear_encoder",
    "network_encoder",
    "ordinal_encoder",
    "table_cleaner",
]

MISSING = "__missing__"
DATETIME_PARTS = ("year", "month", "day", "day_of_week", "hour")
TEXT_PARTS = ("n_chars", "n_words")


def cleaned_columns(schema: Schema) -> tuple[list[str], list[str]]:
    """Names of the numeric and categorical columns ``TableCleaner`` outputs for ``schema``."""
    names = list(table_cleaner(schema).get_feature_names_out())
    categorical = schema.of_kind(ColumnKind.CATEGORICAL)
    return names[: len(names) - len(categorical)], categorical


def table_cleaner(schema: Schema) -> TableCleaner:
    return TableCleaner(
        numeric=tuple(schema.of_kind(ColumnKind.NUMERIC)),
        boolean=tuple(schema.of_kind(ColumnKind.BOOLEAN)),
        datetime=tuple(schema.of_kind(ColumnKind.DATETIME)),
        text=tuple(schema.of_kind(ColumnKind.TEXT)),
        categorical=tuple(schema.of_kind(ColumnKind.CATEGORICAL)),
    )


class TableCleaner(TransformerMixin, BaseEstimator):
    """Select the schema's columns from a raw DataFrame and give each a model-ready type."""

    def __init__(
        self,
        numeric: tuple[str, ...] = (),
        boolean: tuple[str, ...] = (),
        datetime: tuple[str, ...] = (),
        text: tuple[str, ...] = (),
        categorical: tuple[str, ...] = (),
    ) -> None:
        self.numeric = numeric
        self.boolean = boolean
        self.datetime = datetime
        self.text = text
        self.categorical = categorical

    def _inputs(self) -> list[str]:
        return [*self.numeric, *self.boolean, *self.datetime, *self.text, *self.categorical]

    def fit(self, X: pd.DataFrame, y: Any = None) -> TableCleaner:
        self._check(X)
        self.n_features_in_ = len(self._inputs())
        return self

    def _check(self, X: Any) -> None:
        if not isinstance(X, pd.DataFrame):
            raise SchemaMismatchError(
                f"expected a pandas DataFrame with columns {self._inputs()}, got "
                f"{type(X).__name__}; pass the raw table the run was trained on."
            )
        missing = [c for c in self._inputs() if c not in X.columns]
        if missing:
            raise SchemaMismatchError(
                f"input is missing column(s) {', '.join(map(repr, missing))} that the model was "
                "trained on; add them (empty values are allowed)."
            )

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        out, categorical = self.clean_arrays(X)
        frame = pd.DataFrame(out, index=X.index)
        if self.categorical:
            # one 2-D object block: pandas would otherwise convert each column of strings to its
            # Arrow string type, which costs more than the cleaning and is undone by the encoders
            values = np.column_stack(categorical)
            codes = pd.DataFrame(  # the block is ours: no copy
                values, index=X.index, columns=list(self.categorical), dtype=object, copy=False
            )
            frame = pd.concat([frame, codes], axis=1)
        return frame  # built in the order of get_feature_names_out: numerics, then categoricals

    def clean_arrays(self, X: pd.DataFrame) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
        """The cleaned columns as arrays, without building a frame: float64 numeric columns by
        output name, then one object array of category strings per categorical column (the
        fast path for a few rows, ``fastpath.py``, reads these)."""
        self._check(X)
        out: dict[str, Any] = {}
        for name in self.numeric:
            out[name] = _to_float(X[name])
        for name in self.boolean:
            out[name] = _bool_to_float(X[name])
        for name in self.datetime:
            stamps = _to_datetime(X[name])
            for part in DATETIME_PARTS:
                out[f"{name}__{part}"] = getattr(stamps.dt, part).astype("float64").to_numpy()
        for name in self.text:
            values = X[name].astype("object").where(X[name].notna(), "").astype(str)
            out[f"{name}__n_chars"] = values.str.len().astype("float64").to_numpy()
            out[f"{name}__n_words"] = values.str.split().str.len().astype("float64").to_numpy()
        return out, [_to_category_strings(X[n]) for n in self.categorical]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        numeric = [*self.numeric, *self.boolean]
        numeric += [f"{n}__{p}" for n in self.datetime for p in DATETIME_PARTS]
        numeric += [f"{n}__{p}" for n in self.text for p in TEXT_PARTS]
        return np.asarray([*numeric, *self.categorical], dtype=object)


def _to_float(col: pd.Series) -> np.ndarray:
    if col.dtype == np.float64:  # already clean; the frame built from it copies once
        return col.to_numpy(copy=False)
    if pd.api.types.is_bool_dtype(col):
        return col.astype("float64").to_numpy()
    return pd.to_numeric(col, errors="coerce").astype("float64").to_numpy()


def _to_category_strings(col: pd.Series) -> np.ndarray:
    """Each value as its string (``str(value)``), missing values as ``MISSING``.

    A column that already holds only strings is passed through as is; otherwise each distinct
    value is converted once (``pd.factorize``) rather than every cell, which is what makes the
    cleaner cheap on large tables.
    """
    if col.dtype == object and pd.api.types.infer_dtype(col, skipna=False) == "string":
        return col.to_numpy(dtype=object, copy=False)  # stacked (copied) by the caller
    if col.dtype.kind in "mM":  # dates print differently one by one than as a column
        return np.where(col.isna(), MISSING, col.astype(str)).astype(object)
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    labels = np.asarray([*(str(u) for u in uniques), MISSING], dtype=object)
    return labels[codes]  # code -1 (missing) takes the last label


_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


def _bool_to_float(col: pd.Series) -> np.ndarray:
    text = col.astype("object").where(col.notna(), None)
    lowered = text.map(lambda v: None if v is None else str(v).strip().lower())
    return np.where(lowered.isin(_TRUE), 1.0, np.where(lowered.isin(_FALSE), 0.0, np.nan)).astype(
        "float64"
    )


def _to_datetime(col: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(col):
        stamps = col
    else:
        stamps = pd.to_datetime(col, errors="coerce", format="mixed", utc=True)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps


def _numeric_scaler() -> Pipeline:
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", add_indicator=True)),
            ("scale", StandardScaler()),
        ]
    )


def linear_encoder(schema: Schema, *, dense: bool = False) -> ColumnTransformer:
    """Imputed, standardized numerics and one-hot categoricals (rare levels pooled)."""
    numeric, categorical = cleaned_columns(schema)
    onehot = OneHotEncoder(
        handle_unknown="infrequent_if_exist",
        min_frequency=5,
        max_categories=64,
        sparse_output=not dense,
    )
    return ColumnTransformer(
        [("num", _numeric_scaler(), numeric), ("cat", onehot, categorical)],
        sparse_threshold=0.0 if dense else 0.3,
    )


def ordinal_encoder(schema: Schema) -> ColumnTransformer:
    """Numerics as they are (trees handle NaN) and categoricals as integer codes (-1: unseen)."""
    numeric, categorical = cleaned_columns(schema)
    codes = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        unknown_value=-1,
        encoded_missing_value=-1,
        dtype=np.float64,
    )
    return ColumnTransformer([("num", "passthrough", numeric), ("cat", codes, categorical)])


def network_encoder(schema: Schema) -> ColumnTransformer:
    """Standardized numerics first, then categorical codes (-1: unseen) for embeddings.

    The network receives one float matrix whose last ``len(categorical)`` columns are codes.
    """
    numeric, categorical = cleaned_columns(schema)
    codes = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        unknown_value=-1,
        encoded_missing_value=-1,
        dtype=np.float64,
    )
    return ColumnTransformer([("num", _numeric_scaler(), numeric), ("cat", codes, categorical)])
