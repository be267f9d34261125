"""Planning a run: read the data, infer its schema, choose the metric, families and splits.

``plan_run(data, RunOptions(...)) -> RunPlan`` does every check on the user's input, so that bad
input raises before anything is written to the store. ``compare`` calls it to start a run;
``evaluate.rundata`` calls it again with the run's stored options to re-read and re-split the
data exactly as the run did (``mlvsdl curves RUN``, explanations of held-out rows).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.data import Splits, Table, infer_schema
from mlvsdl.data.load import normalize_columns
from mlvsdl.data.media import check_inputs, read_inputs
from mlvsdl.data.schema import drop_missing_target
from mlvsdl.data.split import splits_with_given_test
from mlvsdl.errors import ConfigError, DataError, SchemaMismatchError, TargetError
from mlvsdl.evaluate.metrics import Metric, get_metric
from mlvsdl.families.base import Family
from mlvsdl.families.registry import resolve_families
from mlvsdl.tasks import get_task
from mlvsdl.types import Modality, Schema, Task

__all__ = [
    "MEDIA_ROW_COST",
    "RunOptions",
    "RunPlan",
    "auto_folds",
    "plan_run",
    "test_source",
]

# A row of text, an image or a clip costs a model far more than a table row (an encoder pass, a
# convolution stack); the fold thresholds are this many times lower for them, so a 10k-text run
# trains each family once on a holdout instead of six times (5 folds and a refit).
MEDIA_ROW_COST = 10


def auto_folds(n_rows: int, modality: Modality = Modality.TABULAR) -> int:
    """Validation folds by data size: 5-fold CV up to 20k rows, 3-fold up to 60k, then a
    single holdout (1) — one stratified fifth of the training part (documented in README).
    For text, images and audio the thresholds are ``MEDIA_ROW_COST`` times lower."""
    scale = 1 if modality is Modality.TABULAR else MEDIA_ROW_COST
    if n_rows * scale <= 20_000:
        return 5
    return 3 if n_rows * scale <= 60_000 else 1


@dataclass(frozen=True)
class RunOptions:
    """Everything that decides how a run reads, validates and splits its data.

    Stored with the run (``settings["options"]``), so the run can be planned again identically.
    ``label``, ``anomaly_value``, ``contamination`` and ``dims`` belong to tasks without a
    target.
    """

    target: str | None = None
    task: str | None = None
    metric: str | None = None
    families: tuple[str, ...] | None = None
    cv: int | None = None
    test_size: float = 0.2
    seed: int = 0
    read_options: dict[str, Any] = field(default_factory=dict)
    modality: str | None = None
    on_bad_file: str = "skip"
    label: str | None = None
    anomaly_value: Any = None
    contamination: float | None = None
    dims: int | None = None  # --task embed: coordinates per row
    k: int | None = None  # --task cluster: the number of clusters (None: each family's rule)
    test: Any = None  # the user's own test rows (--test): a path, or a DataFrame from Python
    time: str | None = None  # --task forecast or recommend: the time column
    series: str | None = None  # --task forecast: the series id column (None: one series)
    horizon: int | None = None  # --task forecast: steps ahead
    known: tuple[str, ...] | None = None  # --task forecast: covariates known in advance
    user: str | None = None  # --task recommend: the user column
    item: str | None = None  # --task recommend: the item column
    rating: str | None = None  # --task recommend: the rating column (explicit feedback)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; an in-memory test frame is named, not stored (the store keeps no data)."""
        data = asdict(replace(self, test=None))
        data["test"] = test_source(self.test)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunOptions:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if known.get("test") == IN_MEMORY_TEST:
            known["test"] = None  # cannot be read again; rundata refuses in-memory runs anyway
        if known.get("families") is not None:
            known["families"] = tuple(known["families"])
        if known.get("known") is not None:
            known["known"] = tuple(known["known"])
        reads = known.get("read_options") or {}
        known["read_options"] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in reads.items()
        }
        return cls(**known)

    def task_options(self) -> dict[str, Any]:
        """The options of a task without a target, only those given (so that a prediction task
        given one of them is refused by ``infer_schema`` with the reason)."""
        given = {
            "label": self.label,
            "anomaly_value": self.anomaly_value,
            "contamination": self.contamination,
            "dims": self.dims,
            "k": self.k,
            "time": self.time,
            "series": self.series,
            "horizon": self.horizon,
            "known": self.known,
            "user": self.user,
            "item": self.item,
            "rating": self.rating,
        }
        return {k: v for k, v in given.items() if v is not None}


@dataclass
class RunPlan:
    table: Table
    frame: pd.DataFrame  # the model inputs (target or evaluation label removed)
    schema: Schema
    metric: Metric
    families: list[Family]
    splits: Splits
    y: np.ndarray | None  # the target, or the evaluation label; None for a task with neither
    n_folds: int


def plan_run(data: Any, options: RunOptions) -> RunPlan:
    """Read and validate everything; raise before anything is written."""
    o = options
    if o.cv is not None and o.cv < 1:
        raise ConfigError(f"--cv must be 1 (a holdout split) or more folds, got {o.cv}.")
    if not 0.05 <= o.test_size <= 0.5:
        raise ConfigError(f"test_size must be between 0.05 and 0.5, got {o.test_size}.")
    table = read_inputs(data, **o.read_options)
    target = _target(o.target, table) if _supervised(o.task) else o.target
    n_given_train = None
    if o.test is not None:  # the user's test rows, appended after the training rows
        if not _supervised(o.task):
            raise ConfigError(f"--test is for prediction tasks; --task {o.task} carves its own.")
        table, n_given_train = _append_test_rows(table, o.test, str(target), o.read_options)
    frame, schema = infer_schema(table.frame, target, o.task, o.modality, **o.task_options())
    frame, schema = check_inputs(frame, schema, o.on_bad_file)
    spec = get_task(schema.task)
    metric = get_metric(spec.metric_for(schema, o.metric), schema.task)
    spec.check_plan(
        frame.drop(columns=[schema.label]) if schema.label else frame, schema, metric.key
    )
    chosen = resolve_families(list(o.families) if o.families is not None else None, schema)
    chosen.sort(key=lambda f: f.order_key(schema))
    column = schema.evaluated_on
    y = frame[column].to_numpy() if column is not None else None
    n_rows = n_given_train or len(frame)
    n_folds = max(o.cv or auto_folds(n_rows, schema.modality), spec.min_folds(schema))
    n_folds = spec.fold_count(schema, o.cv, n_folds)
    if n_given_train is None:
        splits = spec.split_frame(frame, schema, y, o.test_size, n_folds, o.seed)
        spec.check_splits(schema, splits)
    else:
        splits = _given_test_splits(
            y, schema.task, n_given_train, len(table.frame), n_folds, o.seed
        )
    X = frame.drop(columns=[column]) if column is not None else frame
    return RunPlan(table, X, schema, metric, chosen, splits, y, n_folds)


# --- a test file of the user's (--test): its rows become the test split ---

IN_MEMORY_TEST = "<in-memory test rows>"


def test_source(test: Any) -> str | None:
    """How a run records its --test rows: the path, or that they were in memory."""
    if test is None:
        return None
    return str(test) if isinstance(test, str | os.PathLike) else IN_MEMORY_TEST


def _append_test_rows(
    table: Table, test: Any, target: str, read_options: dict[str, Any]
) -> tuple[Table, int]:
    """The training table with the test file's rows (read with the same options) appended, and
    how many training rows come first. Rows with a missing target are dropped from both first
    (as ``infer_schema`` would), so that the positions hold; the test file must have every
    training column (extra columns are left out)."""
    test_table = read_inputs(test, **read_options)
    train_frame, notes = normalize_columns(table.frame.copy(deep=False), "the table")
    test_frame, test_notes = normalize_columns(test_table.frame.copy(deep=False), "the test file")
    lacking = [c for c in train_frame.columns if c not in test_frame.columns]
    if lacking:
        shown = ", ".join(map(repr, lacking[:10])) + (", ..." if len(lacking) > 10 else "")
        raise SchemaMismatchError(
            f"the test file {test_table.source} lacks column(s) {shown} of the training data; "
            "give it the same columns, the target included."
        )
    if target not in train_frame.columns:
        return table, len(train_frame)  # infer_schema names the unknown target
    train_frame, dropped = drop_missing_target(train_frame, target)
    try:
        test_frame, test_dropped = drop_missing_target(
            test_frame[list(train_frame.columns)], target
        )
    except TargetError:
        raise TargetError(
            f"the test file {test_table.source} has no rows with a target value in {target!r}; "
            "give it labelled rows."
        ) from None
    joined = pd.concat([train_frame, test_frame], ignore_index=True)
    warnings = [*table.warnings, *notes, *test_notes, *dropped]
    warnings += [f"test file: {note}" for note in test_dropped]
    return replace(table, frame=joined, warnings=tuple(warnings)), len(train_frame)


def _given_test_splits(
    y: np.ndarray | None, task: Task, n_train: int, n_read: int, n_folds: int, seed: int
) -> Splits:
    """The test split is the test file's rows; the folds come from the training rows only."""
    assert y is not None  # --test is refused for tasks without a target
    if len(y) != n_read:  # rows left out after reading (unreadable media) would shift them
        raise DataError(
            f"{n_read - len(y)} row(s) were left out (unreadable files or empty texts), so the "
            "test file's rows cannot be told apart; fix them or use --on-bad-file fail."
        )
    return splits_with_given_test(y, task, n_train, n_folds=n_folds, random_state=seed)


def _supervised(task: Task | str | None) -> bool:
    """Whether ``task`` needs a target (an unknown name counts: ``infer_schema`` refuses it)."""
    try:
        return task is None or Task(str(task).strip().lower()).is_supervised
    except ValueError:
        return True


def _target(target: str | None, table: Table) -> str:
    """The given target, or ``label`` for a folder or arrays (which name their labels so)."""
    if target is not None:
        return target
    if {"label"} < set(table.frame.columns) and table.frame.columns[0] in ("image", "audio"):
        return "label"
    raise ConfigError(
        "no target given; pass --target COLUMN (a folder of media files needs one subfolder "
        "per class, or --label-from-name)."
    )
