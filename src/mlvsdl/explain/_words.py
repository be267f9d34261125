"""Where a text model's words sit: the texts of a row, the words in them as the text networks
tokenize, and the joined text the networks read mapped back onto its columns.

Shared by :mod:`~mlvsdl.explain.text` (word weights) and :mod:`~mlvsdl.explain.attention`
(attention shares). Kept apart from :mod:`~mlvsdl.explain._common` because it imports the
text families (their tokenizer), which table explanations do not need.
"""

from __future__ import annotations

import pandas as pd

from mlvsdl.explain.explanation import TokenWeight
from mlvsdl.families.text.tokenizer import WORD
from mlvsdl.features.text import JOIN, clean_text
from mlvsdl.types import ColumnKind, Schema

__all__ = ["joined_texts", "locate_words", "row_texts", "word_spans"]


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the words of ``text`` as the text networks tokenize it."""
    lowered = text.lower()
    return [m.span() for m in WORD.finditer(lowered if len(lowered) == len(text) else text)]


def row_texts(row: pd.DataFrame, schema: Schema) -> dict[str, str]:
    """Each text column of the first row, cleaned as the models read it (missing as ``""``)."""
    return {c: str(clean_text(row[c]).iloc[0]) for c in schema.of_kind(ColumnKind.TEXT)}


def joined_texts(texts: dict[str, str]) -> tuple[str, list[tuple[str, int]]]:
    """The texts as the networks join them, and each column's start offset in the result."""
    offsets, start = [], 0
    for column, text in texts.items():
        offsets.append((column, start))
        start += len(text) + len(JOIN)
    return JOIN.join(texts.values()), offsets


def locate_words(
    texts: dict[str, str], spans: list[tuple[int, int]], weights: list[float | None]
) -> list[TokenWeight]:
    """Words of the joined text (with weights) back onto their columns; separators dropped."""
    _, offsets = joined_texts(texts)
    out = []
    for (s, e), w in zip(spans, weights, strict=True):
        for column, start in reversed(offsets):
            if s >= start:
                if e - start <= len(texts[column]):
                    text = texts[column]
                    out.append(
                        TokenWeight(column, text[s - start : e - start], s - start, e - start, w)
                    )
                break
    return out
