"""The task registry and the supervised specs: what every task must answer, and that the three
prediction tasks behave as before the contract (same splits, same default metrics)."""

from __future__ import annotations

import numpy as np
import pytest

from mlvsdl.data import make_splits
from mlvsdl.errors import ConfigError
from mlvsdl.families.registry import all_families
from mlvsdl.tasks import all_tasks, get_task, register_task
from mlvsdl.types import SUPERVISED, Task


def test_every_task_has_one_spec_with_its_clauses():
    assert {spec.task for spec in all_tasks()} == set(Task)
    for spec in all_tasks():
        assert spec.default_metric in spec.metrics
        assert spec.target in ("required", "evaluation")
        assert spec.answers and spec.report_sections
        assert spec.baseline in {f.key for f in all_families() if spec.task in f.tasks}
        assert spec.target == "required" if spec.task in SUPERVISED else "evaluation"


def test_unknown_and_duplicate_tasks_are_refused():
    with pytest.raises(ConfigError, match="unknown task 'clustering'; use one of") as info:
        get_task("clustering")
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="already registered"):
        register_task(get_task(Task.BINARY))


@pytest.mark.parametrize(
    ("task", "metric"),
    [(Task.BINARY, "roc_auc"), (Task.MULTICLASS, "accuracy"), (Task.REGRESSION, "rmse")],
)
def test_supervised_specs_keep_their_metric_and_splits(task, metric):
    spec = get_task(task)
    assert spec.default_metric == metric
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3 if task is Task.MULTICLASS else 2, 200)
    if task is Task.REGRESSION:
        y = rng.normal(size=200)
    ours = spec.split(y, len(y), 0.2, 5, seed=3)
    before = make_splits(y, task, test_size=0.2, n_folds=5, random_state=3)
    np.testing.assert_array_equal(ours.test, before.test)
    for (a, b), (c, d) in zip(ours.folds, before.folds, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    holdout = spec.split(y, len(y), 0.2, 1, seed=3)  # one holdout: the first fold of five
    assert holdout.n_folds == 1
    np.testing.assert_array_equal(holdout.folds[0][1], before.folds[0][1])
