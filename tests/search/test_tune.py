"""The boosting search (search/tune.py): the tuned default first, pruning, the allowance kept,
a stored model with no library type, and never worse than the default on the search's split."""

from __future__ import annotations

import time

import numpy as np
import pytest
import skops.io as sio
from sklearn.datasets import load_breast_cancer, load_diabetes

from mlvsdl.search.tune import TunedClassifier, TunedRegressor


@pytest.mark.parametrize("library", ["xgboost", "catboost"])
def test_search_tries_the_default_first_and_keeps_the_best(library):
    X, y = load_breast_cancer(return_X_y=True)
    model = TunedClassifier(library=library, max_trials=6).fit(X, y)
    assert model.n_trials_ == 6
    assert list(model.classes_) == [0, 1]
    # the kept booster is the best of the search on its split: the default (trial 0) included
    default = model._booster({}, None).fit(X, y)
    assert model.model_.best_score_ <= default.best_score_ + 1e-12
    assert model.score(X, y) > 0.95


def test_search_keeps_to_its_allowance_and_prunes():
    X, y = load_diabetes(return_X_y=True)
    start = time.perf_counter()
    model = TunedRegressor(library="xgboost", max_trials=10_000, max_time_s=6.0).fit(X, y)
    took = time.perf_counter() - start
    assert took < 6.0 + 3.0, took  # one configuration may end a round past the deadline
    assert 1 < model.n_trials_ < 10_000
    assert model.n_pruned_ >= 1  # poor configurations stopped after a few rounds
    assert np.isfinite(model.predict(X[:3])).all()


def test_searched_model_stores_without_library_types():
    X, y = load_breast_cancer(return_X_y=True)
    model = TunedClassifier(library="xgboost", max_trials=3).fit(X, y)
    data = sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=data)
    assert all(t.startswith(("mlvsdl.", "numpy.")) for t in untrusted)
    loaded = sio.loads(data, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
