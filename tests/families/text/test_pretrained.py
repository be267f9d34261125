"""The packaged all-MiniLM-L6-v2: offline loading, embeddings, cache, fine-tuned storage."""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import pandas as pd

from mlvsdl.families.text import pretrained
from mlvsdl.families.text.encoder import FineTunedEncoderClassifier
from mlvsdl.features.text import TEXT_COLUMN


def test_encoder_loads_from_the_package_without_network():
    assert (pretrained.encoder_dir() / "model.safetensors").is_file()
    vectors = pretrained.embed_texts(["I lost my card", "my card was stolen", "what a nice day"])
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert vectors.shape == (3, pretrained.EMBEDDING_DIM)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    similar, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > unrelated + 0.2


def test_embeddings_are_cached_per_distinct_text(monkeypatch):
    pretrained.embed_texts(["cached sentence"])
    monkeypatch.setattr(pretrained, "frozen_encoder", lambda: (_ for _ in ()).throw(AssertionError))
    again = pretrained.embed_texts(["cached sentence", "cached sentence"])
    assert again.shape == (2, pretrained.EMBEDDING_DIM)
    np.testing.assert_array_equal(again[0], again[1])


def test_fine_tuned_model_stores_trained_weights_but_not_the_frozen_vocabulary():
    frame = pd.DataFrame({TEXT_COLUMN: ["card lost", "refund please", "card stolen", "money back"]})
    model = FineTunedEncoderClassifier(max_steps=1, batch_size=4, max_len=8, random_state=0)
    model.fit(frame, ["card", "refund", "card", "refund"])
    state = model.__getstate__()
    names = set(state["module_weights_"])
    assert not any(n.startswith(pretrained.FROZEN_PREFIX) for n in names)
    assert any(n.startswith("encoder.bert.encoder.layer.0") for n in names)
    restored = FineTunedEncoderClassifier.__new__(FineTunedEncoderClassifier)
    restored.__setstate__(state)
    np.testing.assert_allclose(restored.predict_proba(frame), model.predict_proba(frame), atol=1e-6)


def test_sentence_embeddings_join_text_columns_and_scale():
    frame = pd.DataFrame({"a": ["I lost my card", None], "b": ["today", "refund please"]})
    one = pretrained.SentenceEmbeddings(text=("a",), weight=2.0).fit(frame).transform(frame)
    assert one.shape == (2, pretrained.EMBEDDING_DIM)
    np.testing.assert_allclose(np.linalg.norm(one, axis=1), 2.0, rtol=1e-5)
    both = pretrained.SentenceEmbeddings(text=("a", "b")).fit_transform(frame)
    joined = pretrained.embed_texts(["I lost my card | today", " | refund please"])
    np.testing.assert_allclose(both, joined, rtol=1e-6)


def test_fine_tuning_gets_more_epochs_on_small_data():
    from mlvsdl.data import infer_schema
    from mlvsdl.families.text import build_fine_tuned
    from tests.families.text.data import make_text_table

    _, schema = infer_schema(make_text_table(n=40), "y")
    small = build_fine_tuned(replace(schema, n_rows=770), 0).named_steps["model"]
    large = build_fine_tuned(replace(schema, n_rows=10_000), 0).named_steps["model"]
    assert small.max_epochs * round(0.9 * 770 / small.batch_size) >= 300
    assert small.max_epochs <= 20 and large.max_epochs == 3


def test_encoder_trims_padding_per_chunk_without_changing_the_result():
    texts = [f"card {'very ' * (i % 7)}lost {i}" for i in range(11)] + ["refund"]
    ids, attention = pretrained.tokenize_batch(texts, 32)
    encoder = pretrained.frozen_encoder()
    try:
        encoder.chunk_rows = 1  # groups of 4 rows in evaluation
        chunked = encoder(ids, attention)
        encoder.chunk_rows = len(texts)  # one padded batch
        whole = encoder(ids, attention)
    finally:
        del encoder.chunk_rows
    np.testing.assert_allclose(chunked.numpy(), whole.numpy(), atol=1e-5)
