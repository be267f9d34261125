"""One conformance suite over every registered tabular family and every task it declares.

What a model must answer comes from the task's spec (``TaskSpec.answers``, ``fit``,
``predict``), so a family registered for a new task is checked by the same test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from mlvsdl.data import infer_schema
from mlvsdl.families.registry import all_families
from mlvsdl.store.artifacts import load_estimator, save_estimator
from mlvsdl.tasks import all_tasks, get_task
from mlvsdl.types import SUPERVISED, Kind, Modality, Task
from tests.conftest import make_table

TABULAR = [f for f in all_families() if Modality.TABULAR in f.modalities]
# forecasters are fitted on a history and answer its future: tests/families/test_forecast_contract
CASES = [
    (f, task) for f in TABULAR for task in sorted(f.tasks, key=str) if task is not Task.FORECAST
]


def _fast(estimator):
    """Keep networks short in the contract test; the behaviour under test is the contract."""
    params = estimator.get_params()
    if "model__max_epochs" in params:
        estimator.set_params(model__max_epochs=8)
    if "model__max_trials" in params:  # a searched family: a few configurations
        estimator.set_params(model__max_trials=4)
    return estimator


@pytest.fixture(scope="module")
def datasets():
    out = {}
    for task in SUPERVISED:
        frame, schema = infer_schema(make_table(task=str(task)), "y", str(task))
        out[task] = (frame.drop(columns="y"), frame["y"].to_numpy(), schema)
    frame, schema = infer_schema(make_table().drop(columns="y"), None, "anomaly")
    out[Task.ANOMALY] = (frame, None, schema)
    frame, schema = infer_schema(make_table().drop(columns="y"), None, "embed", dims=2)
    out[Task.EMBED] = (frame, None, schema)
    frame, schema = infer_schema(make_table().drop(columns="y"), None, "cluster", k=3)
    out[Task.CLUSTER] = (frame, None, schema)
    from tests.tasks.test_recommend import interactions

    frame, schema = infer_schema(
        interactions(rating=False), None, "recommend", user="user", item="item", time="ts"
    )
    out[Task.RECOMMEND] = (frame, None, schema)
    ratings = interactions()
    frame, schema = infer_schema(
        ratings, None, "recommend", user="user", item="item", rating="rating"
    )
    out["recommend-explicit"] = (frame.drop(columns="rating"), frame["rating"].to_numpy(), schema)
    frame, schema = infer_schema(make_table(), "y", "synthesize")
    out[Task.SYNTHESIZE] = (frame, None, schema)
    return out


def test_every_family_declares_registered_tasks():
    registered = {spec.task for spec in all_tasks()}
    for family in all_families():
        assert family.tasks, family.key
        assert family.tasks <= registered, family.key


def test_registry_has_ml_and_dl_families():
    kinds = {f.kind for f in TABULAR}
    assert kinds == {Kind.ML, Kind.DL}
    assert len([f for f in TABULAR if f.kind is Kind.ML]) >= 7
    assert len({f.key for f in all_families()}) == len(all_families())


@pytest.mark.parametrize(("family", "task"), CASES, ids=[f"{f.key}-{t}" for f, t in CASES])
def test_family_contract(family, task, datasets, tmp_path):
    X, y, schema = datasets[task]
    if task is Task.RECOMMEND and not family.supports(schema):  # a family for ratings only
        X, y, schema = datasets["recommend-explicit"]
    spec = get_task(task)
    estimator = _fast(family.build(schema, random_state=0))
    assert not hasattr(estimator, "classes_") or task is Task.REGRESSION
    cloned = clone(estimator)
    assert cloned.get_params().keys() == estimator.get_params().keys()
    for method in spec.answers:
        assert hasattr(estimator, method), f"{family.key} lacks {method} for {task}"
    # the budget trusts this flag: a self-limiting family must take a wall-clock allowance
    assert family.self_limiting == ("model__max_time_s" in estimator.get_params())

    assert spec.fit(estimator, X, y) is estimator
    got = spec.predict(estimator, X)
    if task is Task.EMBED:  # D coordinates per row, finite, with the metrics every run stores
        assert got.values.shape == (len(X), 2) and np.isfinite(got.values).all()
        assert set(spec.score(None, got)) >= {"trustworthiness", "continuity"}
    else:
        assert got.values.shape == (len(X),)
    if task.is_classification:
        assert got.proba.shape == (len(X), schema.n_classes)
        np.testing.assert_allclose(got.proba.sum(axis=1), 1.0, rtol=1e-5)
        assert list(estimator.classes_) == list(schema.classes)
        assert set(got.values) <= set(schema.classes)
    if task is Task.ANOMALY:
        assert got.scores.shape == (len(X),) and np.isfinite(got.scores).all()
        assert set(np.unique(got.values)) <= {0, 1}
        assert set(spec.score(None, got)) >= {"flagged", "flagged_share"}
    if task is Task.CLUSTER:
        assert got.scores.shape == (len(X),) and np.isfinite(got.scores).all()
        assert got.values.min() >= -1 and got.values.max() < 3  # --k 3 (HDBSCAN: at most)
        assert got.space.shape[0] == len(X)
        assert hasattr(estimator.steps[-1][1], "evaluation_space")
        assert set(spec.score(None, got)) >= {"n_clusters", "noise_share"}
    if task is Task.RECOMMEND:  # ranks (implicit) or ratings (explicit), and top-k lists
        assert np.isfinite(got.values).all() and hasattr(estimator.steps[-1][1], "recommend")
        lists, _, _ = estimator.steps[-1][1].recommend(X["user"].iloc[:3], 5)
        assert all(len(items) == 5 for items in lists)
        if y is None:
            assert got.values.min() >= 1 and set(spec.score(None, got)) >= {"ndcg_at_10"}
    if task is Task.SYNTHESIZE:  # as many valid rows as asked, every stored metric scored
        assert got.samples.shape[0] == len(X)
        assert list(got.samples.columns) == spec.output_columns(schema)
        assert set(got.samples["colour"]) <= set(X["colour"])
        assert set(spec.score(None, got)) >= set(spec.metrics)

    again = spec.predict(spec.fit(_fast(family.build(schema, random_state=0)), X, y), X)
    _assert_same(again, got)

    sha = save_estimator(estimator, tmp_path / "m.skops", {})
    loaded = load_estimator(tmp_path / "m.skops", sha)
    _assert_same(spec.predict(loaded, X), got)


def _assert_same(a, b):
    np.testing.assert_array_equal(a.values, b.values)
    if getattr(b, "samples", None) is not None:  # a synthesizer: the same rows for a seed
        pd.testing.assert_frame_equal(a.samples, b.samples)
    for field in ("proba", "scores"):
        if getattr(b, field) is not None:
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


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
