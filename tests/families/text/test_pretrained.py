"""The packaged all-MiniLM-L6-v2: offline loading, embeddings, cache, fine-tuned storage."""

from __future__ import annotations

import os

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
    monkeypatch.setattr(
        pretrained, "_frozen_encoder", lambda: (_ for _ in ()).throw(AssertionError)
    )
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
