"""Planning a run: read the data, infer its schema, choose the metric, families and splits.

``plan_run(data, RunOptions(...)) -> RunPlan`` does every check on the user's input, so that bad
input raises before anything is written to the store. ``compare`` calls it to start a run;
``evaluate.rundata`` calls it again with the run's stored options to re-read and re-split the
data exactly as the run did (``mlvsdl curves RUN``, explanations of held-out rows).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.data import Splits, Table, infer_schema
from mlvsdl.data.media import check_inputs, read_inputs
from mlvsdl.errors import ConfigError
from mlvsdl.evaluate.metrics import Metric, get_metric
from mlvsdl.families.base import Family
from mlvsdl.families.registry import resolve_families
from mlvsdl.tasks import get_task
from mlvsdl.types import Modality, Schema, Task

__all__ = ["MEDIA_ROW_COST", "RunOptions", "RunPlan", "auto_folds", "plan_run"]

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
    ``label``, ``anomaly_value`` and ``contamination`` belong to tasks without a target.
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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunOptions:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if known.get("families") is not None:
            known["families"] = tuple(known["families"])
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
    frame, schema = infer_schema(table.frame, target, o.task, o.modality, **o.task_options())
    frame, schema = check_inputs(frame, schema, o.on_bad_file)
    spec = get_task(schema.task)
    metric = get_metric(spec.metric_for(schema, o.metric), schema.task)
    chosen = resolve_families(list(o.families) if o.families is not None else None, schema)
    chosen.sort(key=lambda f: f.order_key(schema))
    column = schema.evaluated_on
    y = frame[column].to_numpy() if column is not None else None
    n_folds = max(o.cv or auto_folds(len(frame), schema.modality), spec.min_folds(schema))
    splits = spec.split(y, len(frame), o.test_size, n_folds, o.seed)
    X = frame.drop(columns=[column]) if column is not None else frame
    return RunPlan(table, X, schema, metric, chosen, splits, y, n_folds)


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
