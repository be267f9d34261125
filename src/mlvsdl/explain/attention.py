"""The from-scratch transformer's self-attention, as a native view of what it reads.

``TransformerNet.attention(ids)`` gives every layer's attention ``(L, B, H, T, T)`` (query x key,
each row summing to 1 over the real tokens). Here it is reduced to what each word *receives*:
the mean over layers, heads and real query words, which again sums to 1 over a text's words.

* :func:`attention_view`: that share for each word of one row (a :class:`TextView`);
* :func:`attention_summary`: a global view over many rows: per vocabulary word, the mean share
  it receives relative to a uniform share (1 = an average word of its text; ``<unk>`` for words
  the model never saw in training).

Attention shows where the network looks, not what moved its output (values, later layers and
the head can ignore what is attended to): it is labelled "not a faithful explanation on its
own" wherever it is shown, beside the integrated-gradients weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.explain._common import encoded_inputs, final_step
from mlvsdl.explain._words import joined_texts, locate_words, row_texts, word_spans
from mlvsdl.explain.explanation import TextView
from mlvsdl.types import Schema

__all__ = ["ATTENTION_METHOD", "attention_summary", "attention_view"]

ATTENTION_METHOD = (
    "attention weights: what each word receives, mean over layers, heads and query words "
    "(not a faithful explanation on their own)"
)


def _is_transformer(estimator: Any) -> bool:
    net = getattr(final_step(estimator), "module_", None)
    return net is not None and hasattr(net, "attention")


def _received(estimator: Any, X: pd.DataFrame) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per row: attention each token receives (sums to 1) and the token ids, real tokens only."""
    model = final_step(estimator)
    net = model.module_.eval()
    device = next(net.parameters()).device
    ids_all, _ = model.encode(encoded_inputs(estimator, X))
    shares, ids_out = [], []
    for start in range(0, len(ids_all), 32):
        ids = ids_all[start : start + 32].to(device)
        weights, mask = net.attention(ids)  # (L, B, H, T, T), (B, T)
        mean = weights.mean(dim=(0, 2)).double().cpu()  # (B, T, T): query x key
        mask = mask.cpu()
        for b in range(len(ids)):
            valid = mask[b]
            received = mean[b][valid][:, valid].mean(dim=0).numpy()  # mean over real queries
            shares.append(received)
            ids_out.append(ids[b, : len(valid)][valid].cpu().numpy())
    return shares, ids_out


def attention_view(estimator: Any, row: pd.DataFrame, schema: Schema) -> TextView | None:
    """The transformer's attention over ``row``'s words (None for any other model)."""
    if not _is_transformer(estimator):
        return None
    texts = row_texts(row.iloc[:1], schema)
    shares, _ = _received(estimator, row.iloc[:1])
    joined, _ = joined_texts(texts)
    spans = word_spans(joined)
    share = shares[0]
    values = [float(share[i]) if i < len(share) else None for i in range(len(spans))]
    if not spans:
        values = []
    return TextView(
        texts, locate_words(texts, spans, values), ATTENTION_METHOD, "share of attention"
    )


def attention_summary(
    estimator: Any, X: pd.DataFrame, *, top: int = 15, min_count: int = 2
) -> dict[str, Any] | None:
    """The transformer's global attention view over rows ``X``: per vocabulary word, the mean
    attention it receives relative to a uniform share (1 = an average word of its text)."""
    if not _is_transformer(estimator) or not len(X):
        return None
    vocabulary = final_step(estimator).vocabulary_
    totals: dict[str, list[float]] = {}
    shares, ids = _received(estimator, X)
    for share, row_ids in zip(shares, ids, strict=True):
        for value, token_id in zip(share * len(share), row_ids, strict=False):
            if token_id:
                totals.setdefault(str(vocabulary[token_id]), []).append(float(value))
    ranked = sorted(
        ((t, float(np.mean(v)), len(v)) for t, v in totals.items() if len(v) >= min_count),
        key=lambda item: -item[1],
    )[:top]
    return {
        "method": ATTENTION_METHOD,
        "rows": len(X),
        "tokens": [{"token": t, "relative": v, "count": n} for t, v, n in ranked],
    }
