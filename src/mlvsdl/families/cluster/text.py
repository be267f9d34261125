"""Latent semantic analysis of text columns: the space text is clustered and scored in.

:class:`TextLSA` joins a cleaned frame's text columns into one string per row, weighs words and
word pairs by TF-IDF (sublinear term frequency, English stop words removed, at most
``max_features`` terms seen in at least two rows when there are 50 rows or more), reduces them
with truncated SVD to ``n_components`` dimensions (fewer when the vocabulary is smaller) and
scales every row to unit length, so Euclidean distances order rows as cosine similarity does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from mlvsdl.features.text import JOIN

__all__ = ["TextLSA", "joined_texts"]

MIN_ROWS_FOR_MIN_DF = 50


def joined_texts(X: pd.DataFrame, text: tuple[str, ...]) -> list[str]:
    """One string per row: the text columns joined (missing -> "")."""
    columns = X[list(text)].fillna("").astype(str)
    joined = columns.agg(JOIN.join, axis=1) if len(text) > 1 else columns.iloc[:, 0]
    return joined.tolist()


class TextLSA(TransformerMixin, BaseEstimator):
    """TF-IDF (words and word pairs) -> truncated SVD -> unit length."""

    def __init__(
        self,
        text: tuple[str, ...] = (),
        n_components: int = 100,
        max_features: int = 20_000,
        random_state: int | None = 0,
    ) -> None:
        self.text = text
        self.n_components = n_components
        self.max_features = max_features
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: Any = None) -> TextLSA:
        self.fit_transform(X)
        return self

    def fit_transform(self, X: pd.DataFrame, y: Any = None, **params: Any) -> np.ndarray:
        texts = joined_texts(X, self.text)
        self.tfidf_ = TfidfVectorizer(
            ngram_range=(1, 2),
            sublinear_tf=True,
            stop_words="english",
            min_df=2 if len(texts) >= MIN_ROWS_FOR_MIN_DF else 1,
            max_features=self.max_features,
        )
        counts = self.tfidf_.fit_transform(texts)
        k = max(1, min(self.n_components, counts.shape[1] - 1, len(texts) - 1))
        self.svd_ = TruncatedSVD(n_components=k, random_state=self.random_state)
        reduced = self.svd_.fit_transform(counts)
        self.n_features_in_ = len(self.text)
        return normalize(reduced)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        counts = self.tfidf_.transform(joined_texts(X, self.text))
        return normalize(self.svd_.transform(counts))

    def term_weights(self, centres: np.ndarray) -> np.ndarray:
        """Centres in the reduced space mapped back onto the TF-IDF terms ``(k, n_terms)``."""
        return np.asarray(centres) @ self.svd_.components_

    @property
    def terms(self) -> np.ndarray:
        return self.tfidf_.get_feature_names_out()
