"""LightGBM families keep to their wall-clock allowance (families/ml/lgbm.py)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.base import clone

from mlvsdl.families.ml.lgbm import TimedLGBMClassifier, TimedLGBMRegressor
from mlvsdl.families.registry import get_family


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 40))
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int), X[:, 0] * 2.0 + X[:, 2]


def test_boosting_stops_at_the_allowance_and_keeps_its_trees(data):
    X, y, _ = data
    model = TimedLGBMClassifier(n_estimators=100_000, n_jobs=1, verbose=-1, max_time_s=0.5)
    start = time.perf_counter()
    model.fit(X, y)
    took = time.perf_counter() - start
    assert model.stop_reason_ == "time_limit"
    assert 0 < model.best_iteration_ < 100_000
    assert took < 0.5 + 5.0  # one round past the clock, not 100,000 rounds
    assert (model.predict(X) == y).mean() > 0.9  # the trees grown so far are the model


def test_without_an_allowance_it_is_lightgbm(data):
    X, _, target = data
    timed = TimedLGBMRegressor(n_estimators=30, n_jobs=1, verbose=-1, random_state=0)
    from lightgbm import LGBMRegressor

    plain = LGBMRegressor(n_estimators=30, n_jobs=1, verbose=-1, random_state=0)
    np.testing.assert_array_equal(timed.fit(X, target).predict(X), plain.fit(X, target).predict(X))
    assert timed.stop_reason_ == "max_rounds"
    copy = clone(TimedLGBMRegressor(n_estimators=7, max_time_s=3.0))
    assert copy.get_params()["n_estimators"] == 7 and copy.get_params()["max_time_s"] == 3.0


@pytest.mark.parametrize("key", ["lgbm", "tfidf_lgbm", "image_lgbm", "mfcc_lgbm"])
def test_every_lightgbm_family_is_self_limiting(key):
    assert get_family(key).self_limiting
