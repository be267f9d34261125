"""The family contract over every dimensionality-reduction family off tables (text, images,
audio; the tabular ones run in tests/families/test_contract.py): through the task's spec, the
coordinates, the inverse, seed determinism and a save/load round trip."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits

from mlvsdl.data import infer_schema
from mlvsdl.data.media import check_inputs, read_inputs
from mlvsdl.families.registry import all_families
from mlvsdl.store.artifacts import load_estimator, save_estimator
from mlvsdl.tasks import get_task
from mlvsdl.types import Kind, Modality, Task
from tests.families.text.data import make_text_table

EMBED = get_task(Task.EMBED)
DIMS = 3
MEDIA = (Modality.TEXT, Modality.IMAGE, Modality.AUDIO)
CASES = [
    (f, m)
    for f in all_families()
    if Task.EMBED in f.tasks
    for m in MEDIA
    if m in f.modalities and (f.key != "dummy" or m is Modality.TEXT)
]


def _inputs(modality: Modality):
    if modality is Modality.TEXT:
        table = make_text_table(n=40).drop(columns="y")
        frame, schema = infer_schema(table, None, "embed", dims=DIMS)
        return frame, schema
    if modality is Modality.IMAGE:
        data = load_digits()
        images = [im.astype(np.float32) / 16.0 for im in data.images[:60]]
        read = read_inputs((images, data.target[:60])).frame.drop(columns="label")
    else:
        rng = np.random.default_rng(0)
        t = np.arange(3200) / 8000
        waves = [
            (0.5 * np.sin(2 * np.pi * f * t) + 0.02 * rng.normal(size=t.size)).astype(np.float32)
            for f in rng.choice([300.0, 700.0, 1500.0], size=30)
        ]
        read = read_inputs((waves, np.zeros(30))).frame.drop(columns="label")
    frame, schema = infer_schema(read, None, "embed", dims=DIMS)
    return check_inputs(frame, schema)


def _fast(estimator):
    if "model__max_epochs" in estimator.get_params():
        estimator.set_params(model__max_epochs=3)
    return estimator


def test_every_modality_has_ml_and_dl_embeddings():
    for modality in (Modality.TABULAR, *MEDIA):
        kinds = {
            f.kind
            for f in all_families()
            if Task.EMBED in f.tasks and modality in f.modalities and f.key != "dummy"
        }
        assert kinds == {Kind.ML, Kind.DL}, modality


@pytest.mark.parametrize(("family", "modality"), CASES, ids=[f"{f.key}-{m}" for f, m in CASES])
def test_embed_family_contract(family, modality, tmp_path):
    X, schema = _inputs(modality)
    assert schema.modality is modality
    estimator = _fast(family.build(schema, random_state=0))
    assert clone(estimator).get_params().keys() == estimator.get_params().keys()
    assert family.self_limiting == ("model__max_time_s" in estimator.get_params())
    for method in EMBED.answers:
        assert hasattr(estimator, method)
    assert EMBED.fit(estimator, X, None) is estimator
    got = EMBED.predict(estimator, X)
    assert got.values.shape == (len(X), DIMS) and np.isfinite(got.values).all()
    scores = EMBED.score(None, got)
    assert 0 < scores["trustworthiness"] <= 1 and 0 < scores["continuity"] <= 1
    assert np.isfinite(scores["reconstruction_error"])  # every family here has an inverse

    again = EMBED.predict(EMBED.fit(_fast(family.build(schema, random_state=0)), X, None), X)
    np.testing.assert_array_equal(again.values, got.values)
    sha = save_estimator(estimator, tmp_path / "m.skops", {})
    loaded = load_estimator(tmp_path / "m.skops", sha)
    np.testing.assert_array_equal(EMBED.predict(loaded, X).values, got.values)
