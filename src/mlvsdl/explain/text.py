"""Per-word explanations of text models: a signed weight for every word of a row's text.

==========================  =====================================================  ===========
model                       method                                                 unit
==========================  =====================================================  ===========
networks trained from       integrated gradients (captum) on the token             probability
scratch (``text_bag``,      embeddings, from all-zero embeddings (the padding      / target
``text_cnn``, ``text_rnn``, token's); a token's weight is its summed attribution;  units
``text_transformer``)       fastText's hashed bigrams give half to each word
MiniLM (``minilm``,         ``LayerIntegratedGradients`` (captum) on BERT's        probability
``minilm_ft``)              word-embedding layer, from every word piece set to     / target
                            ``[PAD]`` (``[CLS]``/``[SEP]`` kept); pieces summed    units
                            per word
TF-IDF logistic regression  coefficient x TF-IDF value / TreeSHAP, each n-gram's   log-odds /
/ ridge, TF-IDF LightGBM    share moved onto its words (:mod:`.explain_tfidf`)     target units
anything else (TF-IDF SVM,  leave-one-word-out occlusion: the change in the        probability
naive Bayes)                explained output when that one word is deleted         / target
                                                                                   units
==========================  =====================================================  ===========

Integrated gradients are complete (the weights add up to the output minus the baseline's) and
follow the network's own gradients; the linear and TreeSHAP views are exact and add up, with
what no word produces (text statistics, other columns), to the raw output. Occlusion needs
nothing from the model but its predictions, so it covers any model, one word at a time (it
ignores interactions, can understate a word that is repeated or redundant, and shows nothing
where the probability is saturated). Classifiers
explain the predicted class's probability; regressors the prediction. Other (non-text) columns
keep their values and are not attributed here.

Words are the networks' tokens (runs of letters and digits, single punctuation marks), located
in the text as the model read it (missing as ``""``). The from-scratch transformer also returns
its self-attention (:mod:`mlvsdl.explain.attention`), shown beside: attention is not a faithful
explanation on its own.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.explain import attention, tfidf
from mlvsdl.explain._common import (
    display_value,
    encoded_inputs,
    explained_output,
    final_step,
    target_of,
)
from mlvsdl.explain._words import joined_texts, locate_words, row_texts, word_spans
from mlvsdl.explain.explanation import Contribution, Explanation, TextView, TokenWeight
from mlvsdl.features.text import split_net_inputs
from mlvsdl.types import Schema

__all__ = ["explain_text_row", "token_weights", "word_spans"]

IG_STEPS = 32
MAX_WORDS = 256  # words occluded per row; later words are left without a weight
OCCLUSION_METHOD = "leave-one-word-out occlusion"
IG_METHOD = "integrated gradients on the token embeddings (captum, from zero embeddings)"
LIG_METHOD = "layer integrated gradients on the word-piece embeddings (captum, from [PAD])"


def _kind(model: Any) -> str:
    net = getattr(model, "module_", None)
    if net is not None and hasattr(net, "embed_tokens"):
        return "scratch"
    if net is not None and type(model).__name__.startswith(("EncoderHead", "FineTunedEncoder")):
        return "minilm"
    return "occlusion"


def token_weights(
    estimator: Any, row: pd.DataFrame, schema: Schema
) -> tuple[list[TokenWeight], str, str, str, dict[str, str], str]:
    """(words with weights, method, unit, explained output, texts, note) for one row."""
    index, explained, unit = target_of(estimator, row, schema)
    texts = row_texts(row, schema)
    kind, note = _kind(final_step(estimator)), ""
    if kind == "scratch":
        tokens, method = _scratch_ig(estimator, row, texts, index), IG_METHOD
    elif kind == "minilm":
        tokens, method = _minilm_lig(estimator, row, texts, index), LIG_METHOD
    elif tfidf.supports(estimator):
        spans = {c: word_spans(t) for c, t in texts.items()}
        weights, rest, method, unit = tfidf.native_token_weights(
            estimator, row, texts, spans, index
        )
        if index is not None:  # log-odds of the predicted class
            explained = f"logit of {explained[2:-1]}"
        tokens = [
            TokenWeight(c, texts[c][s:e], s, e, float(w))
            for c in texts
            for (s, e), w in zip(spans[c], weights[c], strict=True)
        ]
        note = (
            f"Text statistics, other columns and n-grams no word produces add {rest:+.4f} "
            f"({unit}), not shown per word."
        )
    else:
        tokens, method = _occlusion(estimator, row, texts, index), OCCLUSION_METHOD
    return tokens, method, unit, explained, texts, note


def explain_text_row(
    estimator: Any, model_name: str, row: pd.DataFrame, schema: Schema, *, top: int = 10
) -> Explanation:
    """The ``top`` words that moved ``row``'s prediction most, and a weight for every word."""
    row = row.iloc[:1]
    prediction = display_value(np.asarray(estimator.predict(row))[0])
    tokens, method, unit, explained, texts, note = token_weights(estimator, row, schema)
    unseen = sum(t.weight is None for t in tokens)
    if unseen:
        note = f"{note} {unseen} later word(s) have no weight (cut off).".strip()
    view = TextView(texts, tokens, method, unit, note)
    position = {id(t): i + 1 for c in texts for i, t in enumerate(_of(tokens, c))}
    contributions = [
        Contribution(t.token, f"{t.column}, word {position[id(t)]}", float(t.weight or 0.0))
        for t in view.top(top)
    ]
    return Explanation(
        model_name,
        prediction,
        explained,
        method,
        unit,
        contributions,
        text=view,
        attention=attention.attention_view(estimator, row, schema),
    )


def _of(tokens: list[TokenWeight], column: str) -> list[TokenWeight]:
    return [t for t in tokens if t.column == column]


# --- occlusion ----------------------------------------------------------------------------------


def _scores(estimator: Any, frame: pd.DataFrame, index: int | None) -> np.ndarray:
    out = []
    for start in range(0, len(frame), 512):
        chunk = frame.iloc[start : start + 512]
        if index is None:
            out.append(np.asarray(estimator.predict(chunk), dtype=np.float64))
        else:
            out.append(np.asarray(estimator.predict_proba(chunk), dtype=np.float64)[:, index])
    return np.concatenate(out)


def _occlusion(
    estimator: Any, row: pd.DataFrame, texts: dict[str, str], index: int | None
) -> list[TokenWeight]:
    words = [(c, s, e) for c, text in texts.items() for s, e in word_spans(text)]
    shown = words[:MAX_WORDS]
    frame = pd.concat([row] * (len(shown) + 1), ignore_index=True)
    for column, text in texts.items():
        values = [text] * len(frame)
        for i, (c, s, e) in enumerate(shown):
            if c == column:
                values[i + 1] = text[:s] + text[e:]
        frame[column] = pd.Series(values, dtype=object)
    scores = _scores(estimator, frame, index)
    weights = [float(w) for w in scores[0] - scores[1:]] + [None] * (len(words) - len(shown))
    return [
        TokenWeight(c, texts[c][s:e], s, e, w) for (c, s, e), w in zip(words, weights, strict=True)
    ]


# --- networks ------------------------------------------------------------------------------------


def _scratch_ig(
    estimator: Any, row: pd.DataFrame, texts: dict[str, str], index: int | None
) -> list[TokenWeight]:
    import torch
    from captum.attr import IntegratedGradients

    model = final_step(estimator)
    net = model.module_.eval()
    device = next(net.parameters()).device
    ids, side = (t.to(device) for t in model.encode(encoded_inputs(estimator, row)))
    with torch.no_grad():
        x, mask = net.embed_tokens(ids)
    ig = IntegratedGradients(explained_output(model, net.forward_embedded, index))
    with torch.backends.cudnn.flags(enabled=False):  # GRU backward in eval mode on CUDA
        attr = ig.attribute(
            x,
            baselines=torch.zeros_like(x),
            target=index,
            additional_forward_args=(mask, side),
            n_steps=IG_STEPS,
        )
    per_position = attr.sum(dim=-1)[0].detach().double().cpu().numpy()
    joined, _ = joined_texts(texts)
    spans = word_spans(joined)
    length = int(model.sequence_length_)
    n = min(len(spans), length)
    weights = np.zeros(len(spans))
    weights[:n] = per_position[:n]
    if model.arch == "bag":  # bigram j (words j, j+1) sits at position length + j
        for j in range(max(n - 1, 0)):
            half = per_position[length + j] / 2
            weights[j] += half
            weights[j + 1] += half
    values = [float(w) if i < n else None for i, w in enumerate(weights)]
    return locate_words(texts, spans, values)


def _minilm_lig(
    estimator: Any, row: pd.DataFrame, texts: dict[str, str], index: int | None
) -> list[TokenWeight]:
    import torch
    from captum.attr import LayerIntegratedGradients

    from mlvsdl.families.text.pretrained import frozen_encoder, load_tokenizer

    model = final_step(estimator)
    joined_rows, side_block = split_net_inputs(encoded_inputs(estimator, row))
    tokenizer = load_tokenizer()
    encoded = tokenizer(
        joined_rows,
        max_length=int(model.max_len),
        truncation=True,
        return_offsets_mapping=True,
        return_tensors="pt",
    )
    if hasattr(model.module_, "encoder"):  # fine-tuned: the encoder is part of the module
        net = model.module_.eval()
        encoder, call = net.encoder, net
    else:  # frozen: the packaged encoder, then the trained head (a CPU copy)
        encoder, head = frozen_encoder(), copy.deepcopy(model.module_).cpu().eval()

        def call(ids: Any, attention: Any, side: Any) -> Any:
            return head(encoder(ids, attention), side)

    device = next(encoder.parameters()).device
    ids = encoded["input_ids"].to(device)
    attention = encoded["attention_mask"].to(device)
    side = torch.from_numpy(np.array(side_block, dtype=np.float32)).to(device)
    special = torch.tensor([tokenizer.cls_token_id, tokenizer.sep_token_id], device=device)
    baseline = torch.where(torch.isin(ids, special), ids, int(tokenizer.pad_token_id))
    layer = encoder.bert.embeddings.word_embeddings
    lig = LayerIntegratedGradients(explained_output(model, call, index), layer)
    attr = lig.attribute(
        ids,
        baselines=baseline,
        target=index,
        additional_forward_args=(attention, side),
        n_steps=IG_STEPS,
        internal_batch_size=IG_STEPS,
    )
    per_piece = attr.sum(dim=-1)[0].detach().double().cpu().numpy()
    joined, _ = joined_texts(texts)
    spans = word_spans(joined)
    weights: list[float | None] = [None] * len(spans)
    starts = np.array([s for s, _ in spans])
    for k, (s, e) in enumerate(encoded["offset_mapping"][0].tolist()):
        if e <= s or not len(starts):
            continue  # [CLS], [SEP]
        w = int(np.searchsorted(starts, s, side="right")) - 1
        if w >= 0 and s < spans[w][1]:
            weights[w] = (weights[w] or 0.0) + float(per_piece[k])
    return locate_words(texts, spans, weights)
