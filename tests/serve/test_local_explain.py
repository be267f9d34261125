"""Local explanations (mlvsdl.evaluate.local): reference values and replace-with-reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlvsdl.errors import DataError
from mlvsdl.evaluate.local import explain_row, reference_values
from mlvsdl.result import load_run
from mlvsdl.types import ColumnInfo, ColumnKind, Schema, Task


def _schema(task: Task = Task.BINARY) -> Schema:
    def col(name: str, kind: ColumnKind) -> ColumnInfo:
        return ColumnInfo(name, kind, "object", 3, 0.0)

    return Schema(
        target="y",
        task=task,
        columns=(
            col("x1", ColumnKind.NUMERIC),
            col("colour", ColumnKind.CATEGORICAL),
            col("when", ColumnKind.DATETIME),
            col("note", ColumnKind.TEXT),
            col("id", ColumnKind.DROPPED),
        ),
        classes=("a", "b") if task is Task.BINARY else None,
    )


class _OnlyX1:
    """P(b) = sigmoid(x1) (or the value x1 for regression); every other column is ignored."""

    classes_ = np.array(["a", "b"])

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        p = 1 / (1 + np.exp(-pd.to_numeric(frame["x1"]).to_numpy(dtype=float)))
        return np.column_stack([1 - p, p])

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return pd.to_numeric(frame["x1"]).to_numpy(dtype=float) * 2


def test_reference_values_per_kind():
    frame = pd.DataFrame(
        {
            "x1": [1.0, 2.0, 10.0, np.nan],
            "colour": ["red", "blue", "red", None],
            "when": ["2024-01-01", "2024-01-03", "2024-01-02", "bad"],
            "note": ["x" * 500] * 4,
            "id": [1, 2, 3, 4],
        }
    )
    reference = reference_values(frame, _schema())
    assert reference == {
        "x1": 2.0,
        "colour": "red",
        "when": "2024-01-02T00:00:00+00:00",
        "note": None,  # the most frequent text is too long to store
    }


def test_contribution_is_the_change_when_a_feature_takes_its_reference():
    row = pd.DataFrame({"x1": [2.0], "colour": ["blue"], "when": ["2024-05-01"], "note": ["hi"]})
    background = {"x1": 0.0, "colour": "red", "when": "2024-01-01", "note": None}
    items = explain_row(_OnlyX1(), _schema(), row, background)
    assert items[0]["feature"] == "x1"
    sigmoid = 1 / (1 + np.exp(-2.0))
    assert items[0]["contribution"] == pytest.approx(sigmoid - 0.5)  # P(b), the predicted class
    assert items[0]["value"] == 2.0 and items[0]["reference"] == 0.0
    assert all(i["contribution"] == 0 for i in items[1:])


def test_regression_explains_the_predicted_value():
    row = pd.DataFrame({"x1": [3.0], "colour": ["blue"], "when": [None], "note": ["hi"]})
    items = explain_row(_OnlyX1(), _schema(Task.REGRESSION), row, {"x1": 1.0, "colour": "red"})
    assert {i["feature"] for i in items} == {"x1", "colour"}  # only features with a reference
    assert items[0]["contribution"] == pytest.approx(4.0)


def test_explain_row_takes_exactly_one_row():
    rows = pd.DataFrame({"x1": [1.0, 2.0]})
    with pytest.raises(DataError, match="exactly one row"):
        explain_row(_OnlyX1(), _schema(), rows, {"x1": 0.0})


def test_compare_stores_reference_values_of_the_training_part(stored_run):
    store, run_id, frame = stored_run
    reference = load_run(run_id, store).settings["reference"]
    assert set(reference) == set(frame.columns)
    assert reference["colour"] in {"red", "green", "blue"}
    assert isinstance(reference["x1"], float)
