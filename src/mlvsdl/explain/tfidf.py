"""Native word weights of the classical TF-IDF models: per-feature contributions mapped to words.

Two families have an exact additive view of their raw output over the encoded features:
logistic regression / ridge (``tfidf_logreg``: coefficient x feature value) and LightGBM
(``tfidf_lgbm``: TreeSHAP, ``pred_contrib``). Both are in log-odds (target units for
regression) and add up, with the intercept or the expected value, to the model's raw output.
Each feature's contribution is moved onto the words of the text that produce it:

* a word n-gram (TF-IDF ``word``): shared equally by its occurrences and, within one, by its
  words;
* a character n-gram (``char_wb``, inside one whitespace-separated chunk): shared by its
  occurrences and, within one, equally by the characters it covers; each character's share
  goes to the word that holds it.

What no word produces — text statistics (length, digits, ...), the other columns, and for
TreeSHAP the n-grams *absent* from the text (their absence counts too) — is reported as one
remainder, not spread over words.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from mlvsdl.explain._common import final_step

__all__ = ["native_token_weights", "supports"]


def supports(estimator: Any) -> bool:
    """A ``clean -> features (TF-IDF ColumnTransformer) -> linear or LightGBM`` pipeline."""
    steps = getattr(estimator, "named_steps", {})
    features = steps.get("features")
    model = final_step(estimator)
    return (
        "clean" in steps
        and hasattr(features, "output_indices_")
        and (hasattr(model, "coef_") or hasattr(model, "booster_"))
    )


def _contributions(model: Any, x: np.ndarray, index: int | None) -> tuple[np.ndarray, str]:
    """Per encoded feature: its contribution to the explained raw output (log-odds, or value)."""
    n_classes = len(getattr(model, "classes_", [])) if index is not None else 0
    sign = -1.0 if n_classes == 2 and index == 0 else 1.0  # binary: log-odds favour class 1
    if hasattr(model, "coef_"):
        coef = np.atleast_2d(model.coef_)
        row = coef[index] if index is not None and len(coef) > 1 else coef[0]
        return sign * row * x, "coefficient x TF-IDF value"
    contrib = np.asarray(model.predict(x[None, :], pred_contrib=True))[0]
    if n_classes > 2:
        contrib = contrib.reshape(n_classes, -1)[index]
    return sign * contrib[: len(x)], "TreeSHAP (LightGBM, exact) of the TF-IDF features"


def native_token_weights(
    estimator: Any,
    row: pd.DataFrame,
    texts: dict[str, str],
    spans: dict[str, list[tuple[int, int]]],
    index: int | None,
) -> tuple[dict[str, np.ndarray], float, str, str]:
    """(per column: a weight per word of ``spans[column]``, the remainder, method, unit)."""
    features = estimator.named_steps["features"]
    encoded = features.transform(estimator.named_steps["clean"].transform(row))
    x = encoded.toarray()[0] if sparse.issparse(encoded) else np.asarray(encoded)[0]
    contrib, method = _contributions(final_step(estimator), np.asarray(x, dtype=np.float64), index)
    weights = {c: np.zeros(len(s)) for c, s in spans.items()}
    remainder = 0.0
    for name, transformer, column in features.transformers_:
        part = contrib[features.output_indices_[name]]
        analyzer = getattr(transformer, "analyzer", None)
        if isinstance(column, str) and column in texts and analyzer in ("word", "char_wb"):
            text, vocabulary = texts[column], transformer.vocabulary_
            placed = np.zeros(len(spans[column]))
            place = _Placer(text, spans[column], transformer, placed)
            if analyzer == "word":
                _word_ngrams(transformer, place, vocabulary, part)
            else:
                _char_ngrams(transformer, place, vocabulary, part)
            weights[column] += placed
            remainder += float(part.sum() - placed.sum())
        else:
            remainder += float(part.sum())
    unit = "log-odds" if index is not None else "target units"
    method += " (n-grams mapped onto their words)"
    return weights, remainder, method, unit


class _Placer:
    """Adds a feature's share to the words holding given characters of the processed text."""

    def __init__(
        self, text: str, spans: list[tuple[int, int]], transformer: Any, out: np.ndarray
    ) -> None:
        self.processed = transformer.build_preprocessor()(text)
        self.ratio = len(text) / len(self.processed) if self.processed else 1.0
        self.owner = np.full(len(text) + 1, -1, dtype=np.int64)  # word index per character
        for k, (s, e) in enumerate(spans):
            self.owner[s:e] = k
        self.out = out

    def __call__(self, start: int, end: int, value: float) -> None:
        """``value`` shared equally by the characters ``[start, end)``; each share goes to the
        word holding that character (none for spaces and characters outside every word)."""
        chars = np.arange(start, end)
        chars = np.minimum((chars * self.ratio).astype(np.int64), len(self.owner) - 1)
        held = self.owner[chars]
        np.add.at(self.out, held[held >= 0], value / max(len(chars), 1))


def _word_ngrams(
    transformer: Any, place: _Placer, vocabulary: dict[str, int], part: np.ndarray
) -> None:
    pattern = re.compile(transformer.token_pattern)
    tokens = [(m.start(), m.end(), m.group()) for m in pattern.finditer(place.processed)]
    low, high = transformer.ngram_range
    occurrences: dict[int, list[tuple[int, int]]] = {}
    for n in range(low, high + 1):
        for i in range(len(tokens) - n + 1):
            j = vocabulary.get(" ".join(t[2] for t in tokens[i : i + n]))
            if j is not None and part[j] != 0:
                occurrences.setdefault(j, []).append((i, n))
    for j, places in occurrences.items():
        share = part[j] / len(places)
        for i, n in places:
            for start, end, _ in tokens[i : i + n]:
                place(start, end, share / n)


def _char_ngrams(
    transformer: Any, place: _Placer, vocabulary: dict[str, int], part: np.ndarray
) -> None:
    low, high = transformer.ngram_range
    found: list[tuple[int, int, int]] = []  # (feature, start, end) in processed-text positions
    for chunk in re.finditer(r"\S+", place.processed):
        padded, base = f" {chunk.group()} ", chunk.start() - 1
        for n in range(low, high + 1):
            for i in range(max(len(padded) - n + 1, 1)):
                j = vocabulary.get(padded[i : i + n])
                if j is not None and part[j] != 0:
                    found.append((j, max(base + i, chunk.start()), min(base + i + n, chunk.end())))
            if len(padded) < n:
                break  # sklearn counts a chunk shorter than n once, then stops
    counts = Counter(j for j, _, _ in found)
    for j, start, end in found:
        place(start, end, part[j] / counts[j])
