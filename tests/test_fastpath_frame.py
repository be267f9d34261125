"""Small DataFrames from Python take the fast path: the same answers as the pipeline (rtol
1e-9), the same scikit-learn estimator (clone, parameters, skops storage), the pipeline for
everything it cannot take."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from mlvsdl import fastpath
from mlvsdl.compare import compare
from mlvsdl.errors import SchemaMismatchError
from mlvsdl.fastpath import FRAME_MAX_ROWS, FastPipeline, FastPredictor, as_fast_pipeline
from mlvsdl.result import load_run
from mlvsdl.store.artifacts import load_estimator, save_estimator
from tests.conftest import make_table

RTOL, ATOL = 1e-9, 1e-12


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    store = tmp_path_factory.mktemp("frame") / "store"
    frame = make_table(n=200)
    result = compare(frame, "y", families=["dummy", "linear", "lgbm"], cv=2, store=store)
    return store, result.run_id, frame.drop(columns="y")


def _plain(model: FastPipeline) -> Pipeline:
    return Pipeline(model.steps)  # the same fitted steps, without the fast path


def _awkward(rows: pd.DataFrame) -> pd.DataFrame:
    """What users pass: strings in a number column, None, an unseen category, a category dtype,
    objects in the boolean column, a time zone."""
    rows = rows.copy()
    rows["x1"] = rows["x1"].astype(object)
    rows.iloc[0, rows.columns.get_loc("x1")] = "1.5"
    rows.iloc[1, rows.columns.get_loc("x1")] = None
    rows.iloc[2, rows.columns.get_loc("colour")] = "purple"
    rows["flag"] = rows["flag"].astype(object)
    rows.iloc[3, rows.columns.get_loc("flag")] = "yes"
    rows.iloc[4, rows.columns.get_loc("when")] = "2025-03-04T10:30:00+02:00"
    rows["colour"] = rows["colour"].astype("category")
    return rows


@pytest.mark.parametrize("name", ["linear", "lgbm"])
def test_small_frames_take_the_fast_path_with_the_pipelines_answers(run, name):
    store, run_id, frame = run
    model = load_run(run_id, store).models[name]
    assert isinstance(model, FastPipeline) and isinstance(model, Pipeline)
    plain = _plain(model)
    other_types = frame.iloc[:4].astype({"x2": "float32"}).assign(x1=[1, -2, 3, 0])
    for rows in (frame.iloc[:1], frame.iloc[5:6], _awkward(frame.iloc[:8]), other_types):
        np.testing.assert_allclose(
            model.predict_proba(rows), plain.predict_proba(rows), rtol=RTOL, atol=ATOL
        )
        np.testing.assert_array_equal(model.predict(rows), plain.predict(rows))
    rows = frame.iloc[:FRAME_MAX_ROWS]
    np.testing.assert_allclose(
        model.predict_proba(rows), plain.predict_proba(rows), rtol=RTOL, atol=ATOL
    )
    assert isinstance(model.__dict__["_fast_path"], FastPredictor)  # compiled and verified


def test_the_fast_path_is_taken_not_the_pipeline(run, monkeypatch):
    store, run_id, frame = run
    model = load_run(run_id, store).models["lgbm"]
    expected = model.predict_proba(frame.iloc[:1])  # compiles
    encode = model.steps[1][1]
    monkeypatch.setattr(encode, "transform", lambda X: pytest.fail("the pipeline was used"))
    np.testing.assert_allclose(model.predict_proba(frame.iloc[:1]), expected, rtol=RTOL)
    with pytest.raises(BaseException, match="the pipeline was used"):
        model.predict_proba(frame.iloc[: FRAME_MAX_ROWS + 1])  # large frames: the pipeline


def test_a_disagreeing_fast_path_is_never_used(run, monkeypatch):
    store, run_id, frame = run
    model = load_run(run_id, store).models["linear"]
    monkeypatch.setattr(FastPredictor, "predict_proba_frame", lambda self, X: np.zeros((1, 2)))
    first = model.predict_proba(frame.iloc[:1])
    assert model.__dict__["_fast_path"] is False
    np.testing.assert_allclose(first, _plain(model).predict_proba(frame.iloc[:1]), rtol=RTOL)
    np.testing.assert_allclose(
        model.predict_proba(frame.iloc[1:2]),
        _plain(model).predict_proba(frame.iloc[1:2]),
        rtol=RTOL,
    )


def test_regression_and_models_without_a_fast_path(tmp_path):
    frame = make_table(n=160, task="regression")
    result = compare(frame, "y", families=["dummy", "lgbm"], cv=2, store=tmp_path)
    rows = frame.drop(columns="y").iloc[:3]
    lgbm = result.models["lgbm"]
    np.testing.assert_allclose(lgbm.predict(rows), _plain(lgbm).predict(rows), rtol=RTOL)
    assert not hasattr(lgbm, "predict_proba")  # as for a plain regression pipeline
    dummy = result.models["dummy"]  # no encoder: falls back to the pipeline
    np.testing.assert_allclose(dummy.predict(rows), _plain(dummy).predict(rows))


def test_still_a_scikit_learn_estimator_clone_params_and_skops(run, tmp_path):
    store, run_id, frame = run
    model = load_run(run_id, store).models["lgbm"]
    model.predict_proba(frame.iloc[:1])  # the cache is built; it must not be stored or cloned
    assert model.get_params().keys() == _plain(model).get_params().keys()
    copy = clone(model)
    assert type(copy) is FastPipeline and "_fast_path" not in copy.__dict__
    sha = save_estimator(model, tmp_path / "m.skops", {})
    loaded = load_estimator(tmp_path / "m.skops", sha)  # under the store's allowlist
    assert type(loaded) is FastPipeline and "_fast_path" not in loaded.__dict__
    np.testing.assert_allclose(
        loaded.predict_proba(frame.iloc[:3]), model.predict_proba(frame.iloc[:3]), rtol=RTOL
    )


def test_missing_columns_are_the_pipelines_error(run):
    store, run_id, frame = run
    model = load_run(run_id, store).models["linear"]
    with pytest.raises(SchemaMismatchError, match="colour"):
        model.predict_proba(frame.drop(columns="colour").iloc[:1])


def test_only_tabular_pipelines_are_wrapped():
    assert as_fast_pipeline("not a model") == "not a model"
    other = Pipeline([("model", fastpath.TableCleaner())])
    assert type(as_fast_pipeline(Pipeline([("x", other)]))) is Pipeline
