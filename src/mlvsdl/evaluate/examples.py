"""Analysis sections for text and image runs: a few held-out rows explained word by word or pixel
by pixel, and the transformer's attention as a global view.

``examples`` (text and image runs)::

    {"modality": "text" | "image", "rows": [test positions], "labels": [true label per row],
     "reference": "...",
     "models": {name: {"kind": "ml" | "dl", "interpretable": bool,
                       "explanations": [Explanation.to_dict() per row]}}}

The models are the best classical and the best deep model by cross-validated score (the dummy
baseline left out); the rows are held-out test rows with distinct labels where possible (and
texts of at most :data:`MAX_WORDS` words). Images are explained relative to the mean image of
(up to 256) training images.

``attention`` (text runs with the from-scratch transformer): per transformer model, the words
that receive the most attention over up to :data:`ATTENTION_ROWS` test rows (see
:func:`~mlvsdl.explain.attention.attention_summary`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from mlvsdl.explain import explain_row
from mlvsdl.explain.attention import attention_summary
from mlvsdl.explain.image import mean_image
from mlvsdl.explain.text import word_spans
from mlvsdl.features.text import clean_text
from mlvsdl.types import ColumnKind, Modality

__all__ = ["ATTENTION_ROWS", "EXAMPLE_ROWS", "attention_section", "media_examples"]

logger = logging.getLogger(__name__)

EXAMPLE_ROWS = 3
MAX_WORDS = 80
ATTENTION_ROWS = 200
TOP = 8


def _best(ctx: Any) -> list[dict[str, Any]]:
    """The best classical and the best deep model (by CV score), the dummy left out."""
    ranked = [c for c in ctx.ranked() if c["family"] != "dummy"]
    best = (next((c for c in ranked if c["kind"] == kind), None) for kind in ("ml", "dl"))
    return [c for c in best if c is not None]


def _rows(ctx: Any) -> list[int]:
    """Up to EXAMPLE_ROWS test positions, distinct labels first, short enough texts."""
    data = ctx.data
    order = ctx.sample(data.splits.test, 60)
    rng = np.random.default_rng(data.seed)
    order = rng.permutation(order)
    if data.schema.modality is Modality.TEXT:
        columns = data.schema.of_kind(ColumnKind.TEXT)

        def words(p: int) -> int:
            return sum(len(word_spans(clean_text(data.X[c].iloc[[p]]).iloc[0])) for c in columns)

        order = [p for p in order if 0 < words(p) <= MAX_WORDS] or list(order)
    chosen: list[int] = []
    labels: set[str] = set()
    for position in order:  # one row per label first, then any
        label = str(data.y[position])
        if label not in labels:
            chosen.append(int(position))
            labels.add(label)
        if len(chosen) == EXAMPLE_ROWS:
            break
    for position in order:
        if len(chosen) >= EXAMPLE_ROWS:
            break
        if int(position) not in chosen:
            chosen.append(int(position))
    return chosen


def media_examples(ctx: Any, *, budget_s: float | None = None) -> dict[str, Any]:
    """The ``examples`` section of a text or image run (see the module docstring)."""
    data = ctx.data
    modality = data.schema.modality
    fill, reference = None, ""
    if modality is Modality.IMAGE:
        train = ctx.sample(data.splits.train, 256)
        fill = mean_image(data.X.iloc[train], data.schema)
        reference = f"relative to the mean of {len(train):,} training images"
    deadline = time.perf_counter() + (budget_s if budget_s is not None else ctx.budget_s / 2)
    rows = _rows(ctx)
    out: dict[str, Any] = {"modality": str(modality), "rows": [], "labels": [], "models": {}}
    out["reference"] = reference
    models = _best(ctx)
    for position in rows:
        if out["rows"] and time.perf_counter() > deadline:
            break  # at least one row, then as many as the time allows
        row = data.X.iloc[[position]]
        done = {}
        for cand in models:
            name = cand["name"]
            explanation = explain_row(
                ctx.model(name), name, row, data.schema, {}, top=TOP, fill=fill
            )
            done[name] = explanation.to_dict()
        out["rows"].append(position)
        out["labels"].append(str(data.y[position]))
        for cand in models:
            entry = out["models"].setdefault(
                cand["name"],
                {
                    "kind": cand["kind"],
                    "interpretable": bool(ctx.interpretable.get(cand["name"], False)),
                    "explanations": [],
                },
            )
            entry["explanations"].append(done[cand["name"]])
    return out


def attention_section(ctx: Any) -> dict[str, Any] | None:
    """Per transformer model of a text run: the words it attends to most (global view)."""
    data = ctx.data
    if data.schema.modality is not Modality.TEXT:
        return None
    rows = ctx.sample(data.splits.test, ATTENTION_ROWS)
    out = {}
    for cand in ctx.done:
        if cand["family"] != "text_transformer":
            continue
        summary = attention_summary(ctx.model(cand["name"]), data.X.iloc[rows])
        if summary:
            out[cand["name"]] = summary
    return out or None
