"""TF-IDF features store their vocabulary compactly and behave exactly as scikit-learn's."""

from __future__ import annotations

import copy

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from mlvsdl.features.text import TfidfFeatures
from mlvsdl.store.artifacts import load_estimator, save_estimator

TEXTS = [f"order {i} arrived late, refund {i % 7} please" for i in range(300)] + [
    "great service, thanks!",
    "Where is my card? It has not arrived.",
]


def test_tfidf_features_round_trip_through_the_store(tmp_path):
    fitted = TfidfFeatures(analyzer="char_wb", ngram_range=(2, 4)).fit(TEXTS)
    reference = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)).fit(TEXTS)
    assert fitted.vocabulary_ == reference.vocabulary_
    sha = save_estimator(fitted, tmp_path / "m.skops", {})
    loaded = load_estimator(tmp_path / "m.skops", sha)
    assert isinstance(loaded, TfidfFeatures)
    assert loaded.vocabulary_ == fitted.vocabulary_
    new = ["my card arrived", "refund please", ""]
    expected = reference.transform(new).toarray()
    np.testing.assert_allclose(loaded.transform(new).toarray(), expected)
    np.testing.assert_allclose(copy.deepcopy(fitted).transform(new).toarray(), expected)


def test_unfitted_tfidf_features_round_trip(tmp_path):
    sha = save_estimator(TfidfFeatures(max_features=10), tmp_path / "u.skops", {})
    loaded = load_estimator(tmp_path / "u.skops", sha)
    assert loaded.max_features == 10 and not hasattr(loaded, "vocabulary_")
