from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from mlvsdl.errors import ConfigError
from mlvsdl.evaluate.metrics import default_metric, get_metric, score_predictions
from mlvsdl.types import Task


def test_binary_scores_match_sklearn_with_string_labels():
    y = np.array(["no", "yes", "yes", "no", "yes"])
    proba = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.9, 0.1], [0.2, 0.8]])
    classes = np.array(["no", "yes"])
    pred = classes[proba.argmax(1)]
    scores = score_predictions(Task.BINARY, y, pred, proba, classes)
    assert scores["accuracy"] == pytest.approx(0.8)
    assert scores["roc_auc"] == pytest.approx(skm.roc_auc_score(y == "yes", proba[:, 1]))
    assert scores["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=classes))
    assert set(scores) == {
        "accuracy",
        "balanced_accuracy",
        "f1_macro",
        "roc_auc",
        "log_loss",
        "mcc",
    }


def test_multiclass_auc_is_one_vs_rest_and_skipped_when_a_class_is_absent():
    classes = np.array([0, 1, 2])
    proba = np.eye(3)[[0, 1, 2, 0]] * 0.9 + 0.1 / 3
    y = np.array([0, 1, 2, 0])
    assert score_predictions(Task.MULTICLASS, y, y, proba, classes)["roc_auc"] == 1.0
    partial = score_predictions(Task.MULTICLASS, y[[0, 1]], y[[0, 1]], proba[[0, 1]], classes)
    assert "roc_auc" not in partial and partial["accuracy"] == 1.0


def test_regression_scores():
    y, pred = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0])
    scores = score_predictions(Task.REGRESSION, y, pred)
    assert scores["rmse"] == pytest.approx(np.sqrt(4 / 3))
    assert scores["mae"] == pytest.approx(2 / 3)
    assert set(scores) == {"rmse", "mae", "r2"}


def test_defaults_and_direction():
    assert default_metric(Task.BINARY).key == "roc_auc"
    assert default_metric(Task.REGRESSION).greater_is_better is False
    assert get_metric("rmse", Task.REGRESSION).better(1.0, 2.0)


def test_metric_that_does_not_fit_the_task_is_refused():
    with pytest.raises(ConfigError, match="use one of: rmse, mae, r2"):
        get_metric("accuracy", Task.REGRESSION)
    with pytest.raises(ConfigError, match="does not apply"):
        get_metric("bogus", Task.BINARY)


def test_bootstrap_std_is_positive_and_seeded():
    from mlvsdl.evaluate.metrics import METRICS, bootstrap_std

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    pred = np.where(rng.random(200) < 0.8, y, 1 - y)
    first = bootstrap_std(METRICS["accuracy"], y, pred, random_state=1)
    assert first is not None and 0.005 < first < 0.1
    assert bootstrap_std(METRICS["accuracy"], y, pred, random_state=1) == first
