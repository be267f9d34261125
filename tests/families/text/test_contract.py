"""The family contract over every text family, on generated text with a side column."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from mlvsdl.data import infer_schema
from mlvsdl.families.registry import all_families
from mlvsdl.store.artifacts import load_estimator, save_estimator
from mlvsdl.types import SUPERVISED, Kind, Modality, Task
from tests.families.text.data import make_text_table

# the prediction families (clustering families have their own suite, tests/families/cluster)
TEXT = [
    f
    for f in all_families()
    if Modality.TEXT in f.modalities and f.key != "dummy" and f.tasks & SUPERVISED
]
# Every family on binary data; the shared network code paths once more on multiclass and
# regression (one network per path), to keep the suite short on 2 cores.
MORE = {
    Task.MULTICLASS: {"tfidf_logreg", "tfidf_svm", "tfidf_nb", "tfidf_lgbm", "text_cnn", "minilm"},
    Task.REGRESSION: {
        "tfidf_logreg",
        "tfidf_svm",
        "tfidf_lgbm",
        "text_bag",
        "minilm",
        "minilm_logreg",
    },
}
CASES = [
    (f, task)
    for f in TEXT
    for task in sorted(f.tasks, key=str)
    if task is Task.BINARY or f.key in MORE.get(task, ())
]


def _fast(estimator):
    params = estimator.get_params()
    if "model__max_epochs" in params:
        estimator.set_params(model__max_epochs=2)
    if "model__max_steps" in params:
        estimator.set_params(model__max_steps=1, model__batch_size=8, model__max_len=16)
    if "model__n_estimators" in params:
        estimator.set_params(model__n_estimators=20)
    return estimator


@pytest.fixture(scope="module")
def datasets():
    out = {}
    for task in SUPERVISED:
        frame, schema = infer_schema(make_text_table(n=40, task=str(task)), "y", str(task))
        assert schema.modality is Modality.TEXT
        out[task] = (frame.drop(columns="y"), frame["y"].to_numpy(), schema)
    return out


def test_text_families_cover_ml_and_dl():
    keys = {f.key for f in TEXT}
    assert {"tfidf_logreg", "tfidf_svm", "tfidf_nb", "tfidf_lgbm"} <= keys
    assert {
        "text_bag",
        "text_cnn",
        "text_rnn",
        "text_transformer",
        "minilm",
        "minilm_ft",
        "minilm_logreg",
    } <= keys
    assert {f.kind for f in TEXT} == {Kind.ML, Kind.DL}


@pytest.mark.parametrize(("family", "task"), CASES, ids=[f"{f.key}-{t}" for f, t in CASES])
def test_text_family_contract(family, task, datasets, tmp_path):
    X, y, schema = datasets[task]
    estimator = _fast(family.build(schema, random_state=0))
    assert family.self_limiting == ("model__max_time_s" in estimator.get_params())
    assert clone(estimator).get_params().keys() == estimator.get_params().keys()
    assert estimator.fit(X, y) is estimator
    pred = estimator.predict(X)
    assert pred.shape == (len(X),)
    if task.is_classification:
        proba = estimator.predict_proba(X)
        assert proba.shape == (len(X), schema.n_classes)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
        assert list(estimator.classes_) == list(schema.classes)

    again = _fast(family.build(schema, random_state=0)).fit(X, y)
    np.testing.assert_array_equal(again.predict(X), pred)

    sha = save_estimator(estimator, tmp_path / "m.skops", {})
    loaded = load_estimator(tmp_path / "m.skops", sha)
    np.testing.assert_array_equal(loaded.predict(X), pred)
    if task.is_classification:
        np.testing.assert_allclose(loaded.predict_proba(X), estimator.predict_proba(X), atol=1e-6)
