"""Text features: TF-IDF word and character n-grams, hand-made statistics, network inputs.

Text families see a table through :class:`TextCleaner`: every free-text column as a clean string
(missing -> ``""``) beside the other columns as ``TableCleaner`` cleans them. Then

* classical models get :func:`text_features`: per text column, TF-IDF of word 1-2 grams and of
  character 2-5 grams plus :class:`TextStats` (length, words, digits, URLs, uppercase and
  punctuation ratios); the other columns one-hot / standardized as for linear models;
* networks get :class:`TextNetInputs`: the text columns joined into one string per row and the
  other columns as a dense float block (``side_*``) the network concatenates to its text code.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from mlvsdl.errors import SchemaMismatchError
from mlvsdl.features.tabular import TableCleaner, cleaned_columns, linear_encoder, table_cleaner
from mlvsdl.types import ColumnKind, Schema

__all__ = [
    "JOIN",
    "STAT_NAMES",
    "TextCleaner",
    "TextNetInputs",
    "TextStats",
    "TfidfFeatures",
    "has_side_columns",
    "side_schema",
    "text_cleaner",
    "text_features",
    "text_stats",
]

JOIN = " | "  # between the text columns of one row, for networks
TEXT_COLUMN = "__text__"
STAT_NAMES = (
    "log_chars",
    "log_words",
    "digit_ratio",
    "upper_ratio",
    "n_urls",
    "punct_ratio",
    "exclamations",
)
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|net|org|co\.uk)\b", re.IGNORECASE)


def side_schema(schema: Schema) -> Schema:
    """``schema`` with its text (and media) columns marked as handled elsewhere."""
    moved = {ColumnKind.TEXT, ColumnKind.IMAGE, ColumnKind.AUDIO}
    columns = tuple(
        replace(c, kind=ColumnKind.DROPPED, reason=f"{c.kind} input") if c.kind in moved else c
        for c in schema.columns
    )
    return replace(schema, columns=columns)


def has_side_columns(schema: Schema) -> bool:
    numeric, categorical = cleaned_columns(side_schema(schema))
    return bool(numeric or categorical)


def text_cleaner(schema: Schema) -> TextCleaner:
    side = table_cleaner(side_schema(schema)) if has_side_columns(schema) else None
    return TextCleaner(text=tuple(schema.of_kind(ColumnKind.TEXT)), side=side)


class TextCleaner(TransformerMixin, BaseEstimator):
    """The text columns as strings (missing -> ``""``) after the cleaned other columns."""

    def __init__(self, text: tuple[str, ...] = (), side: TableCleaner | None = None) -> None:
        self.text = text
        self.side = side

    def fit(self, X: pd.DataFrame, y: Any = None) -> TextCleaner:
        self._check(X)
        if self.side is not None:
            self.side.fit(X)
        self.n_features_in_ = len(self.text)
        return self

    def _check(self, X: Any) -> None:
        if not isinstance(X, pd.DataFrame):
            raise SchemaMismatchError(
                f"expected a pandas DataFrame with text column(s) {list(self.text)}, got "
                f"{type(X).__name__}; pass the raw table the run was trained on."
            )
        missing = [c for c in self.text if c not in X.columns]
        if missing:
            raise SchemaMismatchError(
                f"input is missing text column(s) {', '.join(map(repr, missing))} that the model "
                "was trained on; add them (empty values are allowed)."
            )

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        self._check(X)
        out = self.side.transform(X) if self.side is not None else pd.DataFrame(index=X.index)
        for name in self.text:
            out[name] = clean_text(X[name])
        return out


def clean_text(col: pd.Series) -> pd.Series:
    """Strings with missing values as ``""``."""
    return col.astype("object").where(col.notna(), "").astype(str)


def text_stats(texts: Any) -> np.ndarray:
    """Hand-made features of each text, one row per text, columns as in ``STAT_NAMES``."""
    series = pd.Series(np.asarray(texts, dtype=object).ravel()).astype(str)
    n_chars = series.str.len().to_numpy(dtype=np.float64)
    safe = np.maximum(n_chars, 1.0)
    columns = [
        np.log1p(n_chars),
        np.log1p(series.str.split().str.len().to_numpy(dtype=np.float64)),
        series.str.count(r"\d").to_numpy(dtype=np.float64) / safe,
        series.str.count(r"[A-Z]").to_numpy(dtype=np.float64) / safe,
        series.str.count(_URL).to_numpy(dtype=np.float64),
        series.str.count(r"[^\w\s]").to_numpy(dtype=np.float64) / safe,
        series.str.count("!").to_numpy(dtype=np.float64),
    ]
    return np.column_stack(columns)


class TextStats(TransformerMixin, BaseEstimator):
    """:func:`text_stats` as a transformer of one text column."""

    def fit(self, X: Any, y: Any = None) -> TextStats:
        self.n_features_in_ = 1
        return self

    def transform(self, X: Any) -> np.ndarray:
        return text_stats(X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(STAT_NAMES, dtype=object)


class TfidfFeatures(TfidfVectorizer):
    """scikit-learn's ``TfidfVectorizer``, storing its fitted vocabulary as two arrays.

    The vocabulary is a dict of up to 100k+ n-grams; skops writes a dict entry by entry (a node
    each), which took minutes and ~100 MB for 90k n-grams. As a string array and an index array
    it is two ``.npy`` blocks: a second and a few MB. Behaviour is the parent's, unchanged.
    """

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        vocabulary = state.pop("vocabulary_", None)
        if vocabulary is not None:
            state["vocabulary_terms_"] = np.asarray(list(vocabulary), dtype=str)
            state["vocabulary_index_"] = np.fromiter(
                vocabulary.values(), dtype=np.int64, count=len(vocabulary)
            )
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        terms = state.pop("vocabulary_terms_", None)
        index = state.pop("vocabulary_index_", None)
        super().__setstate__(state)
        if terms is not None and index is not None:
            self.vocabulary_ = dict(zip(terms.tolist(), index.tolist(), strict=True))


def _word_tfidf(max_features: int) -> TfidfVectorizer:
    return TfidfFeatures(
        ngram_range=(1, 2),
        sublinear_tf=True,
        strip_accents="unicode",
        max_features=max_features,
        token_pattern=r"(?u)\b\w+\b",
        dtype=np.float32,
    )


def _char_tfidf(max_features: int) -> TfidfVectorizer:
    return TfidfFeatures(
        analyzer="char_wb",
        ngram_range=(2, 5),
        sublinear_tf=True,
        strip_accents="unicode",
        max_features=max_features,
        dtype=np.float32,
    )


def text_features(
    schema: Schema,
    *,
    char_ngrams: bool = True,
    nonnegative: bool = False,
    max_word_features: int = 100_000,
    max_char_features: int = 150_000,
) -> ColumnTransformer:
    """TF-IDF (+ statistics) per text column and a linear encoding of the other columns.

    ``nonnegative`` scales statistics and numbers into [0, 1] (for naive Bayes).
    """
    scaler = MinMaxScaler if nonnegative else StandardScaler
    parts: list[tuple[str, Any, Any]] = []
    for i, name in enumerate(schema.of_kind(ColumnKind.TEXT)):
        parts.append((f"word{i}", _word_tfidf(max_word_features), name))
        if char_ngrams:
            parts.append((f"char{i}", _char_tfidf(max_char_features), name))
        stats = Pipeline([("stats", TextStats()), ("scale", scaler())])
        parts.append((f"stats{i}", stats, [name]))
    if has_side_columns(schema):
        encoder = linear_encoder(side_schema(schema))
        if nonnegative:
            encoder.transformers[0][1].steps[-1] = ("scale", MinMaxScaler())
        parts.extend((n, t, c) for n, t, c in encoder.transformers if c)
    return ColumnTransformer(parts, sparse_threshold=1.0)


class TextNetInputs(TransformerMixin, BaseEstimator):
    """One joined string per row (``__text__``) and the other columns as ``side_*`` floats."""

    def __init__(self, text: tuple[str, ...] = (), side: ColumnTransformer | None = None) -> None:
        self.text = text
        self.side = side

    def fit(self, X: pd.DataFrame, y: Any = None) -> TextNetInputs:
        if self.side is not None:
            self.side.fit(X)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        joined = X[list(self.text)].agg(JOIN.join, axis=1) if len(self.text) > 1 else None
        text = joined if joined is not None else X[self.text[0]]
        out = pd.DataFrame({TEXT_COLUMN: text.to_numpy(dtype=object)}, index=X.index)
        if self.side is not None:
            block = np.asarray(self.side.transform(X), dtype=np.float32)
            side = pd.DataFrame(block, index=X.index).add_prefix("side_")
            out = pd.concat([out, side], axis=1)
        return out


def text_net_inputs(schema: Schema) -> TextNetInputs:
    side = linear_encoder(side_schema(schema), dense=True) if has_side_columns(schema) else None
    return TextNetInputs(text=tuple(schema.of_kind(ColumnKind.TEXT)), side=side)


def split_net_inputs(X: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """The texts and the side block (rows x 0 when there is none) of a ``TextNetInputs`` frame."""
    if not isinstance(X, pd.DataFrame) or TEXT_COLUMN not in X.columns:
        raise SchemaMismatchError(
            f"a text network expects the output of TextNetInputs (a {TEXT_COLUMN!r} column); "
            "build it with the family's pipeline."
        )
    side = X.drop(columns=[TEXT_COLUMN]).to_numpy(dtype=np.float32)
    return X[TEXT_COLUMN].astype(str).tolist(), side.reshape(len(X), -1)
