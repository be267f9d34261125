"""Seeded held-out test split plus K cross-validation folds inside the training part.

For classification the test split is stratified per class by hand, so that every class is
guaranteed at least one test row and at least ``n_folds`` training rows (scikit-learn's
``StratifiedShuffleSplit`` rounds per class and cannot promise that); the folds come from
``StratifiedKFold``. Regression uses ``ShuffleSplit`` and ``KFold``. Everything is shuffled and
seeded by ``random_state``, so the same inputs always give the same splits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold

from mlvsdl.errors import ConfigError, DataError, TargetError
from mlvsdl.types import Task

__all__ = ["Splits", "make_splits", "min_rows_needed", "splits_with_given_test"]


@dataclass(frozen=True, eq=False)
class Splits:
    """Row positions of the held-out test rows, the training rows, and K folds.

    ``folds`` holds ``(fit, validation)`` position arrays INTO ``train``: the rows of fold ``i``
    are ``train[folds[i][0]]`` and ``train[folds[i][1]]``.
    """

    train: np.ndarray
    test: np.ndarray
    folds: tuple[tuple[np.ndarray, np.ndarray], ...]

    @property
    def n_folds(self) -> int:
        return len(self.folds)


def min_rows_needed(task: Task | str, n_folds: int, test_size: float, *, n_classes: int = 2) -> int:
    """The fewest rows a test split plus ``n_folds``-fold cross-validation can work with.

    For classification that is ``n_folds + 1`` rows in each of ``n_classes`` classes (one for
    the test split, ``n_folds`` for the folds); for regression the smallest ``n`` whose training
    part, ``n - ceil(test_size * n)``, still has ``n_folds`` rows.
    """
    task = Task(task)
    _check_options(n_folds, test_size)
    if task.is_classification:
        return n_classes * (n_folds + 1)
    n = n_folds + 1
    while n - math.ceil(test_size * n) < n_folds:
        n += 1
    return n


def make_splits(
    y: np.ndarray,
    task: Task,
    *,
    test_size: float = 0.2,
    n_folds: int = 5,
    random_state: int = 0,
) -> Splits:
    """Split rows into train and test, and train into ``n_folds`` folds (seeded, shuffled).

    Raises:
        DataError: too few rows (or a class with too few rows) for the split.
        TargetError: a classification target with missing values or fewer than two classes.
        ConfigError: ``n_folds`` below 2 or ``test_size`` outside (0, 1).
    """
    task = Task(task)
    _check_options(n_folds, test_size)
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"the target must be one column, got an array of shape {y.shape}.")
    if task.is_classification:
        return _classification_splits(y, test_size, n_folds, random_state)
    return _regression_splits(len(y), test_size, n_folds, random_state)


def _classification_splits(
    y: np.ndarray, test_size: float, n_folds: int, random_state: int
) -> Splits:
    codes, labels = pd.factorize(y)
    if (codes < 0).any():
        raise TargetError(
            "the target has missing values; drop those rows first (infer_schema does this)."
        )
    counts = np.bincount(codes)
    if len(counts) < 2:
        raise TargetError(
            f"the target has only one class ({labels[0]!r}); classification needs at least two."
        )
    smallest = int(np.argmin(counts))
    if counts[smallest] < n_folds + 1:
        needed = min_rows_needed(Task.MULTICLASS, n_folds, test_size, n_classes=len(counts))
        least = int(counts[smallest])
        _raise_too_few(
            len(y), needed, n_folds, least - 1, smallest=(_plain(labels[smallest]), least)
        )
    rng = np.random.default_rng(random_state)
    by_class = np.split(np.argsort(codes, kind="stable"), np.cumsum(counts)[:-1])
    test_parts = []
    for members in by_class:
        n_test = min(max(1, math.floor(len(members) * test_size + 0.5)), len(members) - n_folds)
        test_parts.append(rng.permutation(members)[:n_test])
    test = np.sort(np.concatenate(test_parts))
    in_train = np.ones(len(y), dtype=bool)
    in_train[test] = False
    train = np.flatnonzero(in_train)
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=random_state).split(
        np.zeros((len(train), 1)), codes[train]
    )
    return Splits(train=train, test=test, folds=tuple((fit, val) for fit, val in folds))


def splits_with_given_test(
    y: np.ndarray, task: Task, n_train: int, *, n_folds: int = 5, random_state: int = 0
) -> Splits:
    """The user's own test rows: the first ``n_train`` rows of ``y`` train (and give the
    ``n_folds`` folds, seeded; ``n_folds == 1``: the first of 5 folds as a holdout), the rest
    are the test split.

    Raises:
        TargetError: a test row has a class the training rows do not.
        DataError: no test rows, or too few training rows (per class) for the folds.
    """
    task = Task(task)
    y = np.asarray(y)
    train, test = np.arange(n_train), np.arange(n_train, len(y))
    if len(test) == 0:
        raise DataError("the test file has no rows with a target value; give it labelled rows.")
    k = n_folds if n_folds > 1 else 5
    if task.is_classification:
        seen = set(pd.unique(y[train]).tolist())
        unseen = [v for v in pd.unique(y[test]).tolist() if v not in seen]
        if unseen:
            shown = ", ".join(repr(_plain(v)) for v in unseen[:5])
            raise TargetError(
                f"the test file's target has class(es) {shown} that the training data does not "
                "have; make the labels match (e.g. no trailing '.' or spaces)."
            )
        codes, _ = pd.factorize(y[train])
        counts = np.bincount(codes)
        if counts.min() < k:
            _raise_too_few(n_train, len(counts) * k, k, int(counts.min()))
        splitter: Any = StratifiedKFold(n_splits=k, shuffle=True, random_state=random_state)
        folds = splitter.split(np.zeros((n_train, 1)), codes)
    else:
        if n_train < k:
            _raise_too_few(n_train, k, k, n_train)
        folds = KFold(n_splits=k, shuffle=True, random_state=random_state).split(train)
    found = tuple((fit, val) for fit, val in folds)
    return Splits(train=train, test=test, folds=found if n_folds > 1 else found[:1])


def _regression_splits(n: int, test_size: float, n_folds: int, random_state: int) -> Splits:
    needed = min_rows_needed(Task.REGRESSION, n_folds, test_size)
    if n < needed:
        _raise_too_few(n, needed, n_folds, n - math.ceil(test_size * n))
    splitter = ShuffleSplit(n_splits=1, test_size=test_size, random_state=random_state)
    train, test = next(splitter.split(np.zeros((n, 1))))
    train, test = np.sort(train), np.sort(test)
    folds = KFold(n_splits=n_folds, shuffle=True, random_state=random_state).split(train)
    return Splits(train=train, test=test, folds=tuple((fit, val) for fit, val in folds))


def _raise_too_few(
    n_rows: int, needed: int, n_folds: int, fits: int, *, smallest: tuple[Any, int] | None = None
) -> None:
    """Raise the one-line DataError; ``fits`` is the largest --cv these rows would allow."""
    detail = f"need at least {needed} rows"
    got = f"got {n_rows}"
    if smallest is not None:
        detail += f" (each class at least {n_folds + 1})"
        got += f" (smallest class {smallest[0]!r} has {smallest[1]})"
    hint = f" (--cv {fits} would fit)" if 2 <= fits < n_folds else ""
    raise DataError(
        f"too few rows for a held-out test split and {n_folds}-fold cross-validation: "
        f"{detail}; {got}. Add data or lower --cv{hint}."
    )


def _check_options(n_folds: int, test_size: float) -> None:
    if isinstance(n_folds, bool) or not isinstance(n_folds, int | np.integer) or n_folds < 2:
        raise ConfigError(
            f"n_folds must be a whole number of at least 2, got {n_folds!r}; use --cv 2 or more."
        )
    if (
        isinstance(test_size, bool)
        or not isinstance(test_size, float | int)
        or not (0 < test_size < 1)
    ):
        raise ConfigError(
            f"test_size must be a fraction between 0 and 1, got {test_size!r}; e.g. 0.2."
        )


def _plain(value: Any) -> Any:
    """numpy scalars as plain Python values, so messages read 9, not np.int64(9)."""
    return value.item() if hasattr(value, "item") else value
