"""One conformance suite over every registered family (tabular)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from mlvsdl.data import infer_schema
from mlvsdl.families.registry import all_families
from mlvsdl.store.artifacts import load_estimator, save_estimator
from mlvsdl.types import SUPERVISED, Kind, Modality, Task
from tests.conftest import make_table

TABULAR = [f for f in all_families() if Modality.TABULAR in f.modalities]
CASES = [(f, task) for f in TABULAR for task in sorted(f.tasks & SUPERVISED, key=str)]


def _fast(estimator):
    """Keep networks short in the contract test; the behaviour under test is the contract."""
    params = estimator.get_params()
    if "model__max_epochs" in params:
        estimator.set_params(model__max_epochs=8)
    return estimator


@pytest.fixture(scope="module")
def datasets():
    out = {}
    for task in SUPERVISED:
        frame, schema = infer_schema(make_table(task=str(task)), "y", str(task))
        out[task] = (frame.drop(columns="y"), frame["y"].to_numpy(), schema)
    return out


def test_registry_has_ml_and_dl_families():
    kinds = {f.kind for f in TABULAR}
    assert kinds == {Kind.ML, Kind.DL}
    assert len([f for f in TABULAR if f.kind is Kind.ML]) >= 7
    assert len({f.key for f in all_families()}) == len(all_families())


@pytest.mark.parametrize(("family", "task"), CASES, ids=[f"{f.key}-{t}" for f, t in CASES])
def test_family_contract(family, task, datasets, tmp_path):
    X, y, schema = datasets[task]
    estimator = _fast(family.build(schema, random_state=0))
    assert not hasattr(estimator, "classes_") or task is Task.REGRESSION
    cloned = clone(estimator)
    assert cloned.get_params().keys() == estimator.get_params().keys()

    assert estimator.fit(X, y) is estimator
    pred = estimator.predict(X)
    assert pred.shape == (len(X),)
    if task.is_classification:
        proba = estimator.predict_proba(X)
        assert proba.shape == (len(X), schema.n_classes)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
        assert list(estimator.classes_) == list(schema.classes)
        assert set(pred) <= set(schema.classes)

    again = _fast(family.build(schema, random_state=0)).fit(X, y)
    np.testing.assert_array_equal(again.predict(X), pred)

    sha = save_estimator(estimator, tmp_path / "m.skops", {})
    loaded = load_estimator(tmp_path / "m.skops", sha)
    np.testing.assert_array_equal(loaded.predict(X), pred)
    if task.is_classification:
        np.testing.assert_array_equal(loaded.predict_proba(X), estimator.predict_proba(X))


def test_first_answer_families_run_first_and_knn_cost_grows_with_training_rows():
    from dataclasses import replace

    from mlvsdl.families.registry import get_family

    _, schema = infer_schema(make_table(n=400), "y")
    tabular = [f for f in all_families() if f.supports(schema)]
    order = [f.key for f in sorted(tabular, key=lambda f: f.order_key(schema))]
    assert set(order[:3]) == {"dummy", "linear", "lgbm"}
    assert order[0] == "dummy"
    knn, linear = get_family("knn"), get_family("linear")
    small, large = replace(schema, n_rows=1_000), replace(schema, n_rows=100_000)
    # linear cost grows with rows; kNN's with rows x training rows (capped at its row limit)
    assert linear.cost_hint(large) / linear.cost_hint(small) == pytest.approx(100)
    assert knn.cost_hint(large) / knn.cost_hint(small) > 1_000
    assert knn.cost_hint(large) > get_family("lgbm").cost_hint(large)
