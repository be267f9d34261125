"""The table every synthesizer learns and writes, and the rules that keep its rows valid.

:class:`TableCodec` is fitted on the raw training rows and turns them into what a sampler
models: ``num`` (float columns, no missing value: a missing number is filled with the column's
median) and ``cat`` (integer codes), where the categorical part holds the categorical and
boolean columns (their raw values, missing as one more category) and, for every numeric column
with missing values, a 0/1 *missing flag* — so whether a number is missing is modelled jointly
with the other columns and comes out at the learned rate.

``decode`` makes every generated row valid against the run's schema: categories only from the
training categories (as their raw values), numbers clipped to the training range, integers
rounded (and stored as integers when the column has no missing value), and a number set missing
where its flag says so. Date, text and media columns are not generated (the schema keeps them as
inputs of the other tasks; here they are left out of the synthetic table).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from mlvsdl.features.tabular import MISSING
from mlvsdl.types import ColumnKind, Schema

__all__ = ["TableCodec", "category_keys", "synth_columns"]


def synth_columns(schema: Schema) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The columns a synthesizer generates, in the table's order, and which are numeric."""
    kinds = (ColumnKind.NUMERIC, ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)
    columns = tuple(c.name for c in schema.columns if c.kind in kinds)
    numeric = tuple(c.name for c in schema.columns if c.kind is ColumnKind.NUMERIC)
    return columns, numeric


def category_keys(values: pd.Series) -> np.ndarray:
    """Each value as the string that identifies its category (missing: ``MISSING``)."""
    keys = values.astype(object).where(values.notna(), MISSING)
    return np.asarray([k if isinstance(k, str) else str(k) for k in keys], dtype=object)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


class TableCodec(BaseEstimator):
    """Raw rows <-> (numeric matrix, category codes); see the module docstring."""

    def __init__(self, columns: tuple[str, ...] = (), numeric: tuple[str, ...] = ()) -> None:
        self.columns = columns
        self.numeric = numeric

    def fit(self, X: pd.DataFrame) -> TableCodec:
        numeric = [c for c in self.columns if c in set(self.numeric)]
        categorical = [c for c in self.columns if c not in set(self.numeric)]
        self.num_columns_ = numeric
        self.low_, self.high_, self.fill_, self.integer_, self.flagged_ = [], [], [], [], []
        for name in numeric:
            values = pd.to_numeric(X[name], errors="coerce").astype("float64").to_numpy()
            finite = values[np.isfinite(values)]
            finite = finite if len(finite) else np.zeros(1)
            self.low_.append(float(finite.min()))
            self.high_.append(float(finite.max()))
            self.fill_.append(float(np.median(finite)))
            self.integer_.append(bool(np.all(finite == np.round(finite))))
            self.flagged_.append(bool(np.isnan(values).any()))
        self.cat_columns_ = categorical
        self.categories_: list[list[str]] = []
        self.raw_values_: list[list[Any]] = []
        for name in categorical:
            keys = category_keys(X[name])
            uniques, first = np.unique(keys, return_index=True)
            raw = X[name].to_numpy()[first]
            self.categories_.append([str(u) for u in uniques])
            self.raw_values_.append(
                [None if k == MISSING else _plain(r) for k, r in zip(uniques, raw, strict=True)]
            )
        flagged = zip(numeric, self.flagged_, strict=True)
        self.flag_columns_ = [f"{n}__missing" for n, f in flagged if f]
        self.cardinalities_ = [len(c) for c in self.categories_] + [2] * len(self.flag_columns_)
        return self

    @property
    def n_numeric(self) -> int:
        return len(self.num_columns_)

    @property
    def sequence(self) -> list[tuple[str, int]]:
        """The table's column order over the encoded parts: ("num", i) or ("cat", j), each
        missing flag just before its number."""
        out: list[tuple[str, int]] = []
        flag = len(self.cat_columns_)
        for name in self.columns:
            if name in self.num_columns_:
                i = self.num_columns_.index(name)
                if self.flagged_[i]:
                    out.append(("cat", flag))
                    flag += 1
                out.append(("num", i))
            else:
                out.append(("cat", self.cat_columns_.index(name)))
        return out

    def encode(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """``num`` (n x numeric, float64, missing filled) and ``cat`` (n x categorical + flags,
        int64; an unseen category becomes the column's first)."""
        n = len(X)
        num = np.empty((n, self.n_numeric))
        flags = []
        for i, name in enumerate(self.num_columns_):
            values = pd.to_numeric(X[name], errors="coerce").astype("float64").to_numpy()
            missing = ~np.isfinite(values)
            num[:, i] = np.where(missing, self.fill_[i], values)
            if self.flagged_[i]:
                flags.append(missing.astype(np.int64))
        codes = []
        for name, categories in zip(self.cat_columns_, self.categories_, strict=True):
            index = {c: j for j, c in enumerate(categories)}
            codes.append(np.asarray([index.get(k, 0) for k in category_keys(X[name])]))
        parts = [*codes, *flags]
        cat = np.column_stack(parts).astype(np.int64) if parts else np.zeros((n, 0), np.int64)
        return num, cat

    def decode(self, num: np.ndarray, cat: np.ndarray) -> pd.DataFrame:
        """Valid raw rows (see the module docstring), columns in the table's order."""
        out: dict[str, Any] = {}
        n_cat = len(self.cat_columns_)
        flag = n_cat
        for i, name in enumerate(self.num_columns_):
            values = np.clip(np.asarray(num[:, i], dtype=np.float64), self.low_[i], self.high_[i])
            values = np.where(np.isfinite(values), values, self.fill_[i])
            if self.integer_[i]:
                values = np.round(values)
            if self.flagged_[i]:
                values = np.where(cat[:, flag] == 1, np.nan, values)
                flag += 1
            elif self.integer_[i]:
                values = values.astype(np.int64)
            out[name] = values
        for j, name in enumerate(self.cat_columns_):
            raw = np.empty(len(self.raw_values_[j]), dtype=object)
            raw[:] = self.raw_values_[j]
            codes = np.clip(np.asarray(cat[:, j], dtype=np.int64), 0, len(raw) - 1)
            out[name] = raw[codes]
        return pd.DataFrame({name: out[name] for name in self.columns})

    def levels(self) -> dict[str, list[Any]]:
        """Each categorical column's training values (missing left out), for ``--condition``."""
        return {
            name: [v for v in raw if v is not None]
            for name, raw in zip(self.cat_columns_, self.raw_values_, strict=True)
        }
