"""Word weights of text models: the indicative word leads for every method, integrated gradients
are complete, the linear view is exact, and the transformer's attention is a distribution."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mlvsdl.data import infer_schema
from mlvsdl.explain import Explanation, explain_row
from mlvsdl.explain._common import encoded_inputs
from mlvsdl.explain.attention import attention_summary, attention_view
from mlvsdl.explain.text import word_spans
from mlvsdl.families.registry import get_family
from tests.evaluate.media_data import indicative_word, make_reviews
from tests.evaluate.test_cost import _one_torch_thread  # noqa: F401

FAMILIES = ("tfidf_logreg", "tfidf_nb", "tfidf_lgbm", "text_bag", "text_cnn", "text_transformer")
ROWS = (0, 1, 2, 3)  # rows of the held-out part, explained by every model


@pytest.fixture(scope="module")
def reviews():
    frame, schema = infer_schema(make_reviews(n=260), "y")
    X, y = frame.drop(columns="y"), frame["y"].to_numpy()
    return X.iloc[:200], y[:200], X.iloc[200:], schema


@pytest.fixture(scope="module")
def fitted(reviews):
    X, y, _, schema = reviews
    models = {}
    for key in FAMILIES:
        model = get_family(key).build(schema, random_state=0)
        settings = {"model__max_epochs": 12, "model__n_estimators": 40}
        if key == "tfidf_lgbm":
            settings["model__n_jobs"] = 1  # threads crawl on a busy 2-core machine
        params = model.get_params()
        models[key] = model.set_params(**{k: v for k, v in settings.items() if k in params})
        models[key].fit(X, y)
    return models


@pytest.mark.parametrize("key", FAMILIES)
def test_the_indicative_word_gets_the_largest_positive_weight(key, fitted, reviews):
    _, _, held_out, schema = reviews
    model = fitted[key]
    for i in ROWS:
        row = held_out.iloc[[i]]
        found = explain_row(model, key, row, schema, {}, top=3)
        assert found.text is not None and found.prediction == model.predict(row)[0]
        top = found.contributions[0]
        assert top.feature.lower() == indicative_word(row["review"].iloc[0]), found.contributions
        assert top.contribution > 0
        text = found.text.texts["review"]
        assert [text[t.start : t.end] for t in found.text.tokens] == [
            t.token for t in found.text.tokens
        ]
        assert len(found.text.tokens) == len(word_spans(text))


def test_each_model_says_which_method_it_used(fitted, reviews):
    _, _, held_out, schema = reviews
    methods = {
        k: explain_row(m, k, held_out.iloc[[0]], schema, {}).method for k, m in fitted.items()
    }
    assert methods["tfidf_logreg"].startswith("coefficient x TF-IDF value")
    assert methods["tfidf_lgbm"].startswith("TreeSHAP")
    assert methods["tfidf_nb"] == "leave-one-word-out occlusion"
    for key in ("text_bag", "text_cnn", "text_transformer"):
        assert methods[key].startswith("integrated gradients on the token embeddings")


def test_linear_word_weights_add_up_to_the_logit(fitted, reviews):
    _, _, held_out, schema = reviews
    model = fitted["tfidf_logreg"]
    for i in ROWS:
        row = held_out.iloc[[i]]
        found = explain_row(model, "tfidf_logreg", row, schema, {})
        assert found.unit == "log-odds" and found.explained.startswith("logit of")
        rest = float(found.text.note.split(" add ")[1].split()[0])
        sign = 1 if found.prediction == model.classes_[1] else -1
        raw = sign * (model.decision_function(row)[0] - model[-1].intercept_[0])
        assert sum(t.weight for t in found.text.tokens) + rest == pytest.approx(raw, abs=1e-3)


@pytest.mark.parametrize("key", ["text_bag", "text_cnn", "text_transformer"])
def test_integrated_gradients_are_complete(key, fitted, reviews):
    """The weights add up to P(row) minus P(all word embeddings zero)."""
    _, _, held_out, schema = reviews
    model = fitted[key]
    net = model[-1].module_.eval()
    for i in ROWS[:2]:
        row = held_out.iloc[[i]]
        found = explain_row(model, key, row, schema, {})
        ids, side = model[-1].encode(encoded_inputs(model, row))
        with torch.no_grad():
            x, mask = net.embed_tokens(ids)
            base = torch.softmax(net.forward_embedded(torch.zeros_like(x), mask, side), dim=1)
        index = list(model.classes_).index(found.prediction)
        expected = model.predict_proba(row)[0, index] - float(base[0, index])
        assert sum(t.weight for t in found.text.tokens) == pytest.approx(expected, abs=0.02)


@pytest.mark.parametrize("key", ["text_bag", "text_cnn", "text_transformer"])
def test_the_embedding_hooks_reproduce_the_forward_pass(key, fitted, reviews):
    _, _, held_out, _ = reviews
    model = fitted[key]
    net = model[-1].module_.eval()
    ids, side = model[-1].encode(encoded_inputs(model, held_out.iloc[:16]))
    with torch.no_grad():
        direct = net(ids, side)
        split = net.forward_embedded(*net.embed_tokens(ids), side)
    torch.testing.assert_close(split, direct, atol=1e-5, rtol=1e-5)


def test_attention_weights_sum_to_one_per_query(fitted, reviews):
    _, _, held_out, schema = reviews
    model = fitted["text_transformer"]
    net = model[-1].module_.eval()
    ids, _ = model[-1].encode(encoded_inputs(model, held_out.iloc[:8]))
    weights, mask = net.attention(ids)
    assert weights.shape[:3] == (net.config.n_layers, 8, net.config.n_heads)
    torch.testing.assert_close(weights.sum(dim=-1), torch.ones(weights.shape[:-1]))
    assert float(weights.masked_select(~mask[None, :, None, None, :]).abs().max()) < 1e-6
    view = attention_view(model, held_out.iloc[[0]], schema)
    assert "not a faithful explanation" in view.method
    assert sum(t.weight for t in view.tokens) == pytest.approx(1.0, abs=1e-5)
    assert attention_view(fitted["text_cnn"], held_out.iloc[[0]], schema) is None
    found = explain_row(model, "text_transformer", held_out.iloc[[0]], schema, {})
    assert found.attention is not None and found.attention.tokens == view.tokens
    summary = attention_summary(model, held_out)
    assert summary["rows"] == len(held_out) and summary["tokens"]
    assert all(t["count"] >= 2 and t["relative"] > 0 for t in summary["tokens"])


def test_text_explanations_round_trip_through_json(fitted, reviews):
    import json

    _, _, held_out, schema = reviews
    found = explain_row(fitted["text_transformer"], "t", held_out.iloc[[1]], schema, {})
    again = Explanation.from_dict(json.loads(json.dumps(found.to_dict())))
    assert again == found


def test_occlusion_handles_an_empty_text(fitted, reviews):
    _, _, held_out, schema = reviews
    row = held_out.iloc[[0]].copy()
    row["review"] = np.nan
    for key in ("tfidf_nb", "text_cnn", "text_transformer"):
        found = explain_row(fitted[key], key, row, schema, {})
        assert found.text.tokens == [] and found.contributions == []


def test_minilm_weights_come_from_its_word_piece_embeddings(reviews):
    """Layer integrated gradients through the frozen encoder: the indicative word leads, and the
    weights add up to P(row) minus P(every word piece set to [PAD])."""
    from mlvsdl.families.text.pretrained import frozen_encoder, load_tokenizer

    X, y, held_out, schema = reviews
    model = get_family("minilm").build(schema, random_state=0)
    model.set_params(model__max_epochs=30).fit(X, y)
    row = held_out.iloc[[0]]
    found = explain_row(model, "minilm", row, schema, {}, top=3)
    assert found.method.startswith("layer integrated gradients on the word-piece embeddings")
    assert found.contributions[0].feature.lower() == indicative_word(row["review"].iloc[0])
    tokenizer = load_tokenizer()
    encoded = tokenizer([found.text.texts["review"]], return_tensors="pt")
    ids = encoded["input_ids"]
    special = torch.tensor([tokenizer.cls_token_id, tokenizer.sep_token_id])
    pads = torch.where(torch.isin(ids, special), ids, tokenizer.pad_token_id)
    with torch.no_grad():
        code = frozen_encoder()(pads, encoded["attention_mask"])
        base = torch.softmax(model[-1].module_.eval()(code, torch.zeros(1, 0)), dim=1)
    index = list(model.classes_).index(found.prediction)
    expected = model.predict_proba(row)[0, index] - float(base[0, index])
    assert sum(t.weight for t in found.text.tokens) == pytest.approx(expected, abs=0.02)
