"""The record fast path must predict exactly what the fitted pipeline predicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlvsdl.data import infer_schema
from mlvsdl.errors import SchemaMismatchError
from mlvsdl.families.registry import get_family
from mlvsdl.fastpath import FastPathUnsupported, fast_predictor
from tests.conftest import make_table

CASES = [
    ("lgbm", "binary"),
    ("lgbm", "multiclass"),
    ("lgbm", "regression"),
    ("linear", "binary"),
    ("linear", "multiclass"),
    ("linear", "regression"),
    ("random_forest", "binary"),
    ("knn", "regression"),
    ("mlp", "binary"),
]


def _awkward_rows(frame: pd.DataFrame) -> pd.DataFrame:
    rows = frame.drop(columns="y").iloc[:12].copy()
    rows["x1"] = rows["x1"].astype(object)
    rows.iloc[0, rows.columns.get_loc("x1")] = None  # missing number
    rows.iloc[1, rows.columns.get_loc("x1")] = "not a number"
    rows.iloc[2, rows.columns.get_loc("colour")] = "purple"  # unseen category
    rows.iloc[3, rows.columns.get_loc("colour")] = None
    rows["flag"] = rows["flag"].astype(object)
    rows.iloc[4, rows.columns.get_loc("flag")] = "yes"
    rows.iloc[5, rows.columns.get_loc("when")] = "2025-03-04T10:30:00+02:00"
    return rows


@pytest.mark.parametrize(("key", "task"), CASES)
def test_fast_path_matches_the_pipeline(key, task):
    frame, schema = infer_schema(make_table(n=200, task=task), "y", task)
    pipeline = get_family(key).build(schema, random_state=0)
    if "model__max_epochs" in pipeline.get_params():
        pipeline.set_params(model__max_epochs=5)
    pipeline.fit(frame.drop(columns="y"), frame["y"].to_numpy())
    fast = fast_predictor(pipeline, schema)
    rows = _awkward_rows(frame)
    records = rows.to_dict("records")
    if task == "regression":
        np.testing.assert_allclose(fast.predict(records), pipeline.predict(rows), rtol=1e-6)
    else:
        np.testing.assert_allclose(
            fast.predict_proba(records), pipeline.predict_proba(rows), rtol=1e-6, atol=1e-9
        )
        np.testing.assert_array_equal(fast.predict(records), pipeline.predict(rows))


def test_missing_field_is_a_schema_error():
    frame, schema = infer_schema(make_table(n=120), "y")
    pipeline = get_family("linear").build(schema, random_state=0)
    pipeline.fit(frame.drop(columns="y"), frame["y"].to_numpy())
    record = frame.drop(columns=["y", "colour"]).iloc[0].to_dict()
    with pytest.raises(SchemaMismatchError, match="colour"):
        fast_predictor(pipeline, schema).predict([record])


def test_pipelines_without_an_encoder_are_not_compiled():
    frame, schema = infer_schema(make_table(n=120), "y")
    pipeline = get_family("dummy").build(schema, random_state=0)
    pipeline.fit(frame.drop(columns="y"), frame["y"].to_numpy())
    with pytest.raises(FastPathUnsupported):
        fast_predictor(pipeline, schema)
