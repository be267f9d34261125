"""XGBoost and CatBoost families: early stopping on the inner split, the wall-clock stop, the
categorical codes CatBoost is given, and artifacts that hold no library objects."""

from __future__ import annotations

import time

import numpy as np
import pytest
import skops.io as sio
from sklearn.datasets import load_breast_cancer, load_diabetes

from mlvsdl.data import infer_schema
from mlvsdl.families.ml.boosting import (
    CatBoostClassifier,
    CatBoostRegressor,
    XGBoostClassifier,
    XGBoostRegressor,
)
from mlvsdl.families.registry import get_family
from tests.conftest import make_table

CLASSIFIERS = [XGBoostClassifier, CatBoostClassifier]
REGRESSORS = [XGBoostRegressor, CatBoostRegressor]


@pytest.mark.parametrize("cls", CLASSIFIERS, ids=lambda c: c.__name__)
def test_early_stopping_keeps_the_best_round(cls):
    X, y = load_breast_cancer(return_X_y=True)
    model = cls(n_estimators=400, early_stopping_rounds=20)
    model.fit(X, y)
    assert model.stop_reason_ == "early_stopping"
    assert model.best_epoch_ < model.n_rounds_ < 400
    assert model.score(X, y) > 0.95


@pytest.mark.parametrize("cls", REGRESSORS, ids=lambda c: c.__name__)
def test_wall_clock_ends_boosting(cls):
    X, y = load_diabetes(return_X_y=True)
    X = np.tile(X, (20, 1)) + np.random.default_rng(0).normal(scale=0.01, size=(len(X) * 20, 10))
    y = np.tile(y, 20)
    model = cls(n_estimators=100_000, early_stopping_rounds=100_000, max_time_s=1.0)
    start = time.perf_counter()
    model.fit(X, y)
    took = time.perf_counter() - start
    assert model.stop_reason_ == "time_limit"
    assert took < 4.0, took  # one round past the deadline, plus the split and set-up
    assert np.isfinite(model.predict(X[:5])).all()


def test_small_tables_train_without_a_split():
    X, y = load_breast_cancer(return_X_y=True)
    model = XGBoostClassifier().fit(X[:30], y[:30])
    assert model.stop_reason_ == "max_rounds" and model.n_rounds_ == 100


def test_catboost_gets_categorical_codes_as_integers():
    frame, schema = infer_schema(make_table(n=300), "y")
    pipe = get_family("catboost").build(schema, random_state=0)
    assert pipe.named_steps["model"].n_categorical == 1  # "colour"
    pipe.fit(frame.drop(columns="y"), frame["y"])
    model = pipe.named_steps["model"].model_
    assert model.get_cat_feature_indices() == [pipe.named_steps["model"].n_features_in_ - 1]


@pytest.mark.parametrize("cls", CLASSIFIERS, ids=lambda c: c.__name__)
def test_artifact_names_no_library_type(cls):
    X, y = load_breast_cancer(return_X_y=True)
    model = cls(n_estimators=20).fit(X, np.where(y == 1, "benign", "malignant"))
    data = sio.dumps(model)
    assert all(t.startswith(("mlvsdl.", "numpy.")) for t in sio.get_untrusted_types(data=data))
    loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert list(loaded.classes_) == ["benign", "malignant"]
