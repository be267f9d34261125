"""The clustering families on text and images: the contract (through the task's spec), and
that they find generated topics and digits. Tables are covered by tests/families/test_contract.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn import metrics as skm
from sklearn.datasets import load_digits

from mlvsdl.data import infer_schema
from mlvsdl.data.media import check_inputs, read_inputs
from mlvsdl.families.registry import all_families
from mlvsdl.store.artifacts import load_estimator, save_estimator
from mlvsdl.tasks import get_task
from mlvsdl.types import Modality, Task
from tests.families.text.data import make_text_table

SPEC = get_task(Task.CLUSTER)
CASES = [
    (f, m)
    for f in all_families()
    if Task.CLUSTER in f.tasks
    for m in (Modality.TEXT, Modality.IMAGE)
    if m in f.modalities
]


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def datasets():
    table = make_text_table(n=150).drop(columns="channel")
    frame, schema = infer_schema(table, None, "cluster", label="y", k=3)
    assert schema.modality is Modality.TEXT
    out = {Modality.TEXT: (frame.drop(columns="y"), frame["y"].to_numpy(), schema)}
    data = load_digits()
    keep = np.isin(data.target, [0, 1, 6])
    images = [im.astype(np.float32) / 16.0 for im in data.images[keep][:150]]
    table = read_inputs((images, data.target[keep][:150]))
    frame, schema = infer_schema(table.frame, None, "cluster", label="label", k=3)
    frame, schema = check_inputs(frame, schema, "skip")
    assert schema.modality is Modality.IMAGE
    out[Modality.IMAGE] = (frame.drop(columns="label"), frame["label"].to_numpy(), schema)
    return out


def test_every_modality_has_classical_and_deep_clusterers():
    for modality in (Modality.TABULAR, Modality.TEXT, Modality.IMAGE):
        kinds = {
            f.kind for f in all_families() if Task.CLUSTER in f.tasks and modality in f.modalities
        }
        assert {"ml", "dl"} <= {str(k) for k in kinds}, modality


@pytest.mark.parametrize(("family", "modality"), CASES, ids=[f"{f.key}-{m}" for f, m in CASES])
def test_cluster_family_on_media(family, modality, datasets, tmp_path):
    X, y, schema = datasets[modality]
    estimator = family.build(schema, random_state=0)
    if "model__max_epochs" in estimator.get_params():
        estimator.set_params(model__max_epochs=100, model__batch_size=32)
    for method in SPEC.answers:
        assert hasattr(estimator, method)
    assert hasattr(estimator.steps[-1][1], "evaluation_space")
    got = SPEC.predict(SPEC.fit(estimator, X, None), X)
    assert got.values.shape == (len(X),) and np.isfinite(got.scores).all()
    assert got.space.shape[0] == len(X)
    if family.key != "dummy":  # three topics, three digits: every family finds them
        assert skm.adjusted_rand_score(y, got.values) > 0.5, family.key
    sha = save_estimator(estimator, tmp_path / "m.skops", {})
    loaded = SPEC.predict(load_estimator(tmp_path / "m.skops", sha), X)
    np.testing.assert_array_equal(loaded.values, got.values)
    np.testing.assert_allclose(loaded.scores, got.scores, rtol=1e-6)
