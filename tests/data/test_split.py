"""Tests for mlvsdl.data.split: coverage, disjointness, stratification, seeds and size checks."""

from __future__ import annotations

import numpy as np
import pytest

from mlvsdl.data.split import Splits, make_splits, min_rows_needed
from mlvsdl.errors import ConfigError, DataError, MlvsdlError, TargetError
from mlvsdl.types import Task

Y_CLASSES = np.array(["a"] * 60 + ["b"] * 30 + ["c"] * 10)
Y_REGRESSION = np.random.default_rng(0).normal(size=103)


def _message(excinfo: pytest.ExceptionInfo[MlvsdlError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def _check_partition(splits: Splits, n_rows: int, n_folds: int) -> None:
    """Train and test partition the rows; each fold partitions the positions of train."""
    assert np.intersect1d(splits.train, splits.test).size == 0
    assert np.array_equal(np.sort(np.concatenate([splits.train, splits.test])), np.arange(n_rows))
    assert splits.n_folds == len(splits.folds) == n_folds
    validation = np.concatenate([val for _, val in splits.folds])
    assert np.array_equal(np.sort(validation), np.arange(len(splits.train)))
    for fit, val in splits.folds:
        assert np.intersect1d(fit, val).size == 0
        assert len(fit) + len(val) == len(splits.train)


@pytest.mark.parametrize(
    ("y", "task"), [(Y_CLASSES, Task.MULTICLASS), (Y_REGRESSION, "regression")]
)
def test_splits_partition_the_rows(y: np.ndarray, task: Task) -> None:
    splits = make_splits(y, task, n_folds=4)
    _check_partition(splits, len(y), 4)


def test_classification_is_stratified() -> None:
    splits = make_splits(Y_CLASSES, Task.MULTICLASS)
    test_labels = Y_CLASSES[splits.test]
    assert {c: int((test_labels == c).sum()) for c in "abc"} == {"a": 12, "b": 6, "c": 2}
    train_labels = Y_CLASSES[splits.train]
    for _, val in splits.folds:  # every class in every validation fold, in proportion
        counts = {c: int((train_labels[val] == c).sum()) for c in "abc"}
        assert counts["a"] in (9, 10) and counts["b"] in (4, 5) and counts["c"] in (1, 2)


def test_regression_test_size() -> None:
    splits = make_splits(Y_REGRESSION, Task.REGRESSION, test_size=0.25)
    assert len(splits.test) == 26  # ceil(0.25 * 103), as scikit-learn counts it


def test_same_seed_same_splits_other_seed_other_splits() -> None:
    first = make_splits(Y_CLASSES, Task.MULTICLASS, random_state=7)
    again = make_splits(Y_CLASSES, Task.MULTICLASS, random_state=7)
    other = make_splits(Y_CLASSES, Task.MULTICLASS, random_state=8)
    assert np.array_equal(first.test, again.test)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first.folds, again.folds, strict=True))
    assert not np.array_equal(first.test, other.test)


def test_splits_are_shuffled() -> None:
    splits = make_splits(Y_REGRESSION, Task.REGRESSION)
    assert not np.array_equal(splits.test, np.arange(len(splits.test)))


def test_smallest_workable_class_gets_one_test_row_and_a_row_per_fold() -> None:
    y = np.array([0] * 40 + [1] * 6)
    splits = make_splits(y, Task.BINARY, n_folds=5)
    assert int((y[splits.test] == 1).sum()) == 1
    for _, val in splits.folds:
        assert int((y[splits.train][val] == 1).sum()) == 1


def test_exact_minimum_for_regression_works() -> None:
    needed = min_rows_needed(Task.REGRESSION, 5, 0.2)
    assert needed == 7
    _check_partition(make_splits(np.arange(needed, dtype=float), Task.REGRESSION), needed, 5)


def test_min_rows_needed() -> None:
    assert min_rows_needed(Task.BINARY, 5, 0.2) == 12
    assert min_rows_needed("multiclass", 3, 0.2, n_classes=4) == 16
    assert min_rows_needed(Task.REGRESSION, 10, 0.2) == 13


# --- bad input ---------------------------------------------------------------------------------


def test_too_few_rows_in_a_class() -> None:
    y = np.array(["yes"] * 30 + ["no"] * 4)
    with pytest.raises(DataError) as excinfo:
        make_splits(y, Task.BINARY, n_folds=5)
    message = _message(excinfo)
    assert message.startswith("too few rows for a held-out test split and 5-fold")
    assert "need at least 12 rows (each class at least 6)" in message
    assert "smallest class 'no' has 4" in message
    assert "Add data or lower --cv (--cv 3 would fit)" in message


def test_too_few_rows_for_regression() -> None:
    with pytest.raises(DataError) as excinfo:
        make_splits(np.arange(6, dtype=float), Task.REGRESSION, n_folds=5)
    message = _message(excinfo)
    assert "need at least 7 rows; got 6" in message and "lower --cv" in message


def test_one_class() -> None:
    with pytest.raises(TargetError, match="only one class"):
        make_splits(np.array(["a"] * 20), Task.BINARY)


def test_missing_labels() -> None:
    with pytest.raises(TargetError, match="missing values"):
        make_splits(np.array(["a", None] * 20, dtype=object), Task.BINARY)


@pytest.mark.parametrize(("n_folds", "test_size"), [(1, 0.2), (5, 0.0), (5, 1.5)])
def test_invalid_options(n_folds: int, test_size: float) -> None:
    with pytest.raises(ConfigError) as excinfo:
        make_splits(Y_REGRESSION, Task.REGRESSION, n_folds=n_folds, test_size=test_size)
    assert "n_folds" in _message(excinfo) or "test_size" in str(excinfo.value)
