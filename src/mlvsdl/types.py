"""Shared vocabulary: enums for tasks, kinds and modalities, and the frozen Schema.

The Schema is what a run learns about its data before any model sees it. It travels with every
artifact (as JSON) so that new data can be validated against it long after training.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "CLASSIFICATION",
    "SUPERVISED",
    "ColumnInfo",
    "ColumnKind",
    "Kind",
    "Modality",
    "Schema",
    "Task",
]


class Task(StrEnum):
    """What a run learns. Each value has one registered ``TaskSpec`` (``mlvsdl.tasks``) that
    owns everything that differs between tasks: inputs, split, metrics, baseline, outputs."""

    BINARY = "binary"
    MULTICLASS = "multiclass"
    REGRESSION = "regression"
    ANOMALY = "anomaly"  # unsupervised: a label column, if any, is for evaluation only
    EMBED = "embed"  # dimensionality reduction: D coordinates per row; a label only evaluates
    CLUSTER = "cluster"  # unsupervised: groups of rows; a label, if any, is for evaluation only
    FORECAST = "forecast"  # the next --horizon values of each series, from its past alone
    RECOMMEND = "recommend"  # interactions (user, item[, rating, time]): rank or rate items
    SYNTHESIZE = "synthesize"  # generative: new rows like the table's; --target only for utility

    @property
    def is_classification(self) -> bool:
        return self in (Task.BINARY, Task.MULTICLASS)

    @property
    def is_supervised(self) -> bool:
        """Fitted on a target column (the three prediction tasks)."""
        return self in SUPERVISED


CLASSIFICATION: frozenset[Task] = frozenset({Task.BINARY, Task.MULTICLASS})
SUPERVISED: frozenset[Task] = frozenset({Task.BINARY, Task.MULTICLASS, Task.REGRESSION})


class Kind(StrEnum):
    """Model family: classical machine learning or deep learning."""

    ML = "ml"
    DL = "dl"


class Modality(StrEnum):
    TABULAR = "tabular"
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    SERIES = "series"


class ColumnKind(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    TEXT = "text"
    IMAGE = "image"  # a path to an image file, or an array of pixels
    AUDIO = "audio"  # a path to a WAV file, or an array of samples
    DROPPED = "dropped"


@dataclass(frozen=True)
class ColumnInfo:
    """What was inferred about one input column."""

    name: str
    kind: ColumnKind
    dtype: str
    n_unique: int
    missing_fraction: float
    reason: str = ""  # why this kind was chosen, or why the column is dropped

    @property
    def used(self) -> bool:
        return self.kind is not ColumnKind.DROPPED


@dataclass(frozen=True)
class Schema:
    """The inferred layout of a dataset: target, task, and the kind of every column.

    ``target`` is None for a task without one (anomaly detection); ``label`` is then the column
    read for evaluation only, if the user named one. ``options`` holds the task's settings
    (anomaly detection: ``contamination``, ``anomaly_value``, ``anomaly_share``).
    """

    target: str | None
    task: Task
    columns: tuple[ColumnInfo, ...]
    classes: tuple[Any, ...] | None = None  # sorted class labels for classification
    modality: Modality = Modality.TABULAR
    n_rows: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)  # warnings shown to the user
    # How media inputs are normalized, e.g. {"image_size": [28, 28], "channels": 1} or
    # {"sample_rate": 8000, "duration_s": 1.0}; empty for tables and text.
    media: dict[str, Any] = field(default_factory=dict)
    label: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def evaluated_on(self) -> str | None:
        """The column the models are scored against: the target, else the evaluation label."""
        return self.target or self.label

    def of_kind(self, kind: ColumnKind) -> list[str]:
        return [c.name for c in self.columns if c.kind is kind]

    @property
    def feature_names(self) -> list[str]:
        """Input columns a model uses, in the order the data had them."""
        return [c.name for c in self.columns if c.used]

    @property
    def dropped(self) -> list[ColumnInfo]:
        return [c for c in self.columns if not c.used]

    @property
    def n_classes(self) -> int:
        return len(self.classes) if self.classes is not None else 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.classes is not None:
            data["classes"] = [_to_json_scalar(c) for c in self.classes]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        columns = tuple(ColumnInfo(**{**c, "kind": ColumnKind(c["kind"])}) for c in data["columns"])
        classes = data.get("classes")
        return cls(
            target=data.get("target"),
            task=Task(data["task"]),
            columns=columns,
            classes=tuple(classes) if classes is not None else None,
            modality=Modality(data.get("modality", Modality.TABULAR)),
            n_rows=int(data.get("n_rows", 0)),
            notes=tuple(data.get("notes", ())),
            media=dict(data.get("media", {})),
            label=data.get("label"),
            options=dict(data.get("options", {})),
        )


def _to_json_scalar(value: Any) -> Any:
    """numpy scalars to plain Python, so class labels survive a JSON round trip."""
    return value.item() if hasattr(value, "item") else value
