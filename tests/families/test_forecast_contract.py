"""The conformance suite for forecasting families: fitted on a history, they answer its future
with finite forecasts and ordered intervals, the same for the same seed, through a save/load
round trip, and move to a new history (``update``) to forecast past its end."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from mlvsdl.data import infer_schema
from mlvsdl.families.registry import all_families
from mlvsdl.store.artifacts import load_estimator, save_estimator
from mlvsdl.tasks import get_task
from mlvsdl.tasks.forecast import forecast_frame
from mlvsdl.types import Task
from tests.tasks.test_forecast import sales_table

FAMILIES = [f for f in all_families() if Task.FORECAST in f.tasks]
TASK = get_task(Task.FORECAST)


@pytest.fixture(scope="module")
def data():
    frame, schema = infer_schema(
        sales_table(n_series=2, n=40), "Sales", "forecast", time="Date", series="Store", horizon=4
    )
    y = frame.pop("Sales").to_numpy()
    splits = TASK.split_frame(frame, schema, y, 0.2, 1, 0)
    return frame, y, schema, splits


def _fast(estimator):
    params = estimator.get_params()
    if "model__max_epochs" in params:
        estimator.set_params(model__max_epochs=5)
    return estimator


@pytest.mark.parametrize("family", FAMILIES, ids=[f.key for f in FAMILIES])
def test_forecast_family_contract(family, data, tmp_path):
    X, y, schema, splits = data
    estimator = _fast(family.build(schema, random_state=0))
    assert clone(estimator).get_params().keys() == estimator.get_params().keys()
    assert family.self_limiting == ("model__max_time_s" in estimator.get_params())
    final = estimator.steps[-1][1]
    assert hasattr(final, "predict_intervals") and hasattr(final, "update")

    train, test = splits.train, splits.test
    assert TASK.fit(estimator, X.iloc[train], y[train]) is estimator
    got = TASK.predict(estimator, X.iloc[test])
    assert np.isfinite(got.values).all()
    assert (got.lower_95 <= got.lower_80).all() and (got.lower_80 <= got.values).all()
    assert (got.values <= got.upper_80).all() and (got.upper_80 <= got.upper_95).all()
    assert set(got.step) == {1, 2, 3, 4}
    # points the model was fitted on have no forecast (it is never scored on them)
    assert np.isnan(TASK.predict(estimator, X.iloc[train[:5]]).values).all()

    again = TASK.predict(
        TASK.fit(_fast(family.build(schema, random_state=0)), X.iloc[train], y[train]), X.iloc[test]
    )
    np.testing.assert_allclose(again.values, got.values, rtol=1e-6)

    sha = save_estimator(estimator, tmp_path / "m.skops", {})
    loaded = load_estimator(tmp_path / "m.skops", sha)
    np.testing.assert_allclose(TASK.predict(loaded, X.iloc[test]).values, got.values, rtol=1e-6)

    future = forecast_frame(loaded, schema, X, y, 3)
    assert list(future.columns[:2]) == ["Store", "Date"] and len(future) == 6
    assert (future["Date"] > X["Date"].max()).all() and np.isfinite(future["forecast"]).all()
