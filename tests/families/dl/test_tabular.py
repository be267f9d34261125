"""Tabular networks and their scikit-learn estimators: labels, categories, units, storage."""

from __future__ import annotations

import copy
import re

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
import torch
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mlvsdl.errors import ConfigError, DataError, TargetError
from mlvsdl.families.dl import MLP_FAMILY, RESMLP_FAMILY
from mlvsdl.families.dl.tabular import (
    TabularNetClassifier,
    TabularNetConfig,
    TabularNetRegressor,
    build_tabular_net,
)
from mlvsdl.families.registry import register
from mlvsdl.types import SUPERVISED, ColumnInfo, ColumnKind, Kind, Schema, Task

FAST = {"hidden_dim": 32, "n_layers": 2, "max_epochs": 20, "batch_size": 64}


def _table(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two standardized numerics and one code column (0..2); the label depends on both."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    codes = rng.integers(0, 3, size=n)
    signal = x[:, 0] + 2.0 * (codes == 2) - 1.0
    return np.column_stack([x, codes]).astype(float), signal


@pytest.fixture(scope="module")
def cancer() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_breast_cancer(return_X_y=True)
    labels = np.array(["benign", "malignant"])[1 - y]
    return StandardScaler().fit_transform(X), labels


@pytest.mark.parametrize("arch", ["mlp", "resmlp"])
def test_classifier_with_string_labels(cancer, arch):
    X, labels = cancer
    est = TabularNetClassifier(arch=arch, random_state=0, **FAST).fit(X, labels)
    assert list(est.classes_) == ["benign", "malignant"]
    proba = est.predict_proba(X)
    assert proba.shape == (len(X), 2) and isinstance(proba, np.ndarray)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    pred = est.predict(X)
    assert set(pred) <= set(est.classes_)
    assert (pred == labels).mean() > 0.95
    assert est.n_features_in_ == X.shape[1]
    assert est.device_ == ("cuda" if torch.cuda.is_available() else "cpu")
    assert est.n_params_ == sum(p.numel() for p in est.module_.parameters())
    assert len(est.history_) >= est.best_epoch_ >= 1
    assert est.stop_reason_ in {"max_epochs", "early_stopping"}


def test_categories_are_embedded_and_unseen_codes_map_to_unknown():
    X, signal = _table()
    y = np.where(signal > 0, "hi", "lo")
    est = TabularNetClassifier(n_categorical=1, random_state=0, **FAST).fit(X, y)
    assert est.cardinalities_ == (4,)  # codes 0..2 -> indices 1..3, index 0 for unknown
    assert (est.predict(X) == y).mean() > 0.9  # needs the code column: it carries signal
    unseen = X[:5].copy()
    unseen[:, -1] = [7, -1, 3, 100, -1]
    proba = est.predict_proba(unseen)
    assert proba.shape == (5, 2) and np.all(np.isfinite(proba))
    # every unknown code is the same index, so rows equal but for the code give equal outputs
    same = np.repeat(X[:1], 3, axis=0)
    same[:, -1] = [-1, 3, 50]
    np.testing.assert_array_equal(est.predict_proba(same)[0], est.predict_proba(same)[2])


def test_regressor_predicts_in_original_units():
    X, signal = _table(n=400)
    y = 1000.0 * signal + 5000.0
    est = TabularNetRegressor(n_categorical=1, random_state=0, **{**FAST, "max_epochs": 40})
    est.fit(X, y)
    assert est.y_mean_ == pytest.approx(y.mean())
    pred = est.predict(X)
    assert pred.shape == (len(X),) and pred.dtype == np.float64
    assert abs(pred.mean() - y.mean()) < 0.1 * y.std()
    assert est.score(X, y) > 0.9


@pytest.mark.parametrize("estimator_class", [TabularNetClassifier, TabularNetRegressor])
def test_skops_round_trip_trusts_only_mlvsdl_types(tmp_path, estimator_class):
    X, signal = _table(n=150)
    y = signal > 0 if estimator_class is TabularNetClassifier else signal
    est = estimator_class(n_categorical=1, random_state=0, **{**FAST, "max_epochs": 3}).fit(X, y)
    path = tmp_path / "model.skops"
    sio.dump(est, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert untrusted and all(name.startswith("mlvsdl.") for name in untrusted)
    loaded = sio.load(path, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    assert loaded.device_ == "cpu" and loaded.history_ == est.history_
    assert hasattr(est, "module_")  # dumping must not strip the live estimator


def test_clone_and_deepcopy_before_and_after_fit():
    X, signal = _table(n=120)
    est = TabularNetClassifier(n_categorical=1, random_state=3, **{**FAST, "max_epochs": 2})
    assert clone(est).get_params() == est.get_params()
    assert copy.deepcopy(est).get_params() == est.get_params()
    est.fit(X, signal > 0)
    fresh = clone(est)
    assert fresh.get_params() == est.get_params() and not hasattr(fresh, "module_")
    copied = copy.deepcopy(est)
    np.testing.assert_array_equal(copied.predict_proba(X), est.predict_proba(X))


def test_same_random_state_same_predictions_other_differs():
    X, signal = _table(n=200)

    def proba(seed: int) -> np.ndarray:
        est = TabularNetClassifier(n_categorical=1, random_state=seed, **{**FAST, "max_epochs": 4})
        return est.fit(X, signal > 0).predict_proba(X)

    np.testing.assert_array_equal(proba(0), proba(0))
    assert not np.array_equal(proba(0), proba(1))


def test_parameters_are_validated_at_fit_not_init():
    X, signal = _table(n=50)
    est = TabularNetClassifier(arch="transformer", dropout=1.5)  # stored as is
    assert est.get_params()["arch"] == "transformer"
    with pytest.raises(ConfigError, match=re.escape("arch='transformer', dropout=1.5")):
        est.fit(X, signal > 0)
    with pytest.raises(ConfigError, match="batch_size=0"):
        TabularNetRegressor(batch_size=0).fit(X, signal)
    with pytest.raises(TargetError, match="single class"):
        TabularNetClassifier().fit(X, np.ones(len(X)))


def test_without_validation_trains_every_epoch():
    X, signal = _table(n=80)
    est = TabularNetRegressor(validation_fraction=None, random_state=0, **{**FAST, "max_epochs": 3})
    est.fit(X, signal)
    assert est.stop_reason_ == "max_epochs" and est.best_epoch_ == 3
    assert all(row["val_loss"] is None for row in est.history_)


def test_resmlp_has_residual_blocks_and_shapes():
    config = TabularNetConfig(n_numeric=3, cardinalities=(5, 2), n_outputs=4, arch="resmlp")
    net = build_tabular_net(config)
    out = net(torch.randn(8, 3), torch.tensor([[0, 1]] * 8))
    assert out.shape == (8, 4) and len(net.blocks) == config.n_layers


def test_families_are_registered_and_build_a_pipeline():
    assert (MLP_FAMILY.key, RESMLP_FAMILY.key) == ("mlp", "resmlp")
    for family in (MLP_FAMILY, RESMLP_FAMILY):  # importing the package registered both
        with pytest.raises(ValueError, match="already registered"):
            register(family)
    assert MLP_FAMILY.kind is Kind.DL and MLP_FAMILY.tasks == SUPERVISED
    columns = (
        ColumnInfo("x", ColumnKind.NUMERIC, "float64", 60, 0.0),
        ColumnInfo("colour", ColumnKind.CATEGORICAL, "object", 3, 0.0),
    )
    schema = Schema("y", Task.BINARY, columns, classes=("no", "yes"), n_rows=60)
    pipeline = RESMLP_FAMILY.build(schema, random_state=7)
    assert isinstance(pipeline, Pipeline)
    model = pipeline.named_steps["model"]
    assert isinstance(model, TabularNetClassifier)
    assert (model.arch, model.n_categorical, model.random_state) == ("resmlp", 1, 7)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=60), "colour": rng.choice(["r", "g", "b"], 60)})
    y = np.where(frame["colour"] == "r", "yes", "no")
    pipeline.set_params(model__max_epochs=2).fit(frame, y)
    assert pipeline.predict_proba(frame).shape == (60, 2)


def test_time_limit_is_checked_after_every_step():
    # 40 000 rows in batches of 8: an epoch is 5 000 steps, seconds on a CPU; the limit cuts it
    X = np.random.default_rng(0).normal(size=(40_000, 3))
    est = TabularNetRegressor(hidden_dim=8, n_layers=1, batch_size=8, max_time_s=0.05)
    est.fit(X, X[:, 0])
    assert est.stop_reason_ == "time" and len(est.history_) == 1
    assert est.history_[0]["time_s"] < 1.0


def test_training_parameters_reach_the_trainer():
    est = TabularNetClassifier(grad_clip=0.5, lr=0.01, max_time_s=10.0)
    config = est._train_config(seed=0, n_train=100, spent_s=4.0)
    assert (config.grad_clip, config.lr) == (0.5, 0.01)
    assert config.max_time_s == pytest.approx(6.0)  # preparing inputs counts against the limit


def test_state_is_config_and_numpy_weights_and_a_misfit_is_one_data_error():
    X, signal = _table(n=120)
    est = TabularNetClassifier(n_categorical=1, random_state=0, **{**FAST, "max_epochs": 2})
    est.fit(X, signal > 0)
    state = est.__getstate__()
    assert "module_" not in state and state["module_config_"]["cardinalities"] == (4,)
    assert all(isinstance(w, np.ndarray) for w in state["module_weights_"].values())
    # the layout stored before the tabular nets shared NetworkEstimator: the same two keys,
    # cardinalities as a list after a round trip
    old = {**state, "module_config_": {**state["module_config_"], "cardinalities": [4]}}
    loaded = TabularNetClassifier.__new__(TabularNetClassifier)
    loaded.__setstate__(old)
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    # the other networks stored no grad_clip before it was their parameter: the default it was
    del old["grad_clip"]
    loaded.__setstate__(old)
    assert loaded.get_params()["grad_clip"] == 1.0
    bad = {**state, "module_weights_": dict(state["module_weights_"])}
    bad["module_weights_"]["head.weight"] = np.zeros((2, 5), dtype=np.float32)
    with pytest.raises(DataError, match=r"do not fit .*other shape \['head.weight'\]"):
        TabularNetClassifier.__new__(TabularNetClassifier).__setstate__(bad)
