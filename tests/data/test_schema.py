"""Tests for mlvsdl.data.schema: target checks, task inference, column kinds and drop reasons."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from mlvsdl.data.schema import infer_schema
from mlvsdl.errors import ConfigError, DataError, MlvsdlError, TargetError
from mlvsdl.types import ColumnKind, Task

N = 60


def _frame(n: int = N, **extra: object) -> pd.DataFrame:
    """A small seeded table with one column of every kind, plus ``extra`` columns."""
    rng = np.random.default_rng(0)
    words = np.array(
        ["the", "service", "was", "slow", "but", "the", "staff", "were", "kind", "and", "helpful"]
    )
    data = {
        "amount": rng.normal(100, 15, n).round(2),
        "visits": rng.integers(0, 30, n),
        "active": rng.integers(0, 2, n).astype(bool),
        "member": rng.choice(["yes", "no"], n),
        "signup": pd.date_range("2021-01-01", periods=n, freq="D"),
        "last_seen": [f"2022-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(n)],
        "plan": rng.choice(["basic", "plus", "pro"], n),
        "review": [" ".join(rng.choice(words, 8)) for _ in range(n)],
        "label": rng.choice(["churn", "stay"], n),
    }
    data.update(extra)  # type: ignore[arg-type]
    return pd.DataFrame(data)


def _kinds(schema) -> dict[str, ColumnKind]:
    return {c.name: c.kind for c in schema.columns}


def _reason(schema, name: str) -> str:
    return next(c.reason for c in schema.columns if c.name == name)


def _message(excinfo: pytest.ExceptionInfo[MlvsdlError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


# --- column kinds ------------------------------------------------------------------------------


def test_every_column_kind() -> None:
    frame, schema = infer_schema(_frame(), "label")
    assert _kinds(schema) == {
        "amount": ColumnKind.NUMERIC,
        "visits": ColumnKind.NUMERIC,
        "active": ColumnKind.BOOLEAN,
        "member": ColumnKind.BOOLEAN,
        "signup": ColumnKind.DATETIME,
        "last_seen": ColumnKind.DATETIME,
        "plan": ColumnKind.CATEGORICAL,
        "review": ColumnKind.TEXT,
    }
    assert "label" not in _kinds(schema)
    assert schema.target == "label" and schema.n_rows == N
    assert all(c.reason for c in schema.columns)
    assert "3 categories" in _reason(schema, "plan")
    assert "words per value" in _reason(schema, "review")
    assert schema.feature_names == [c for c in frame.columns if c != "label"]


@pytest.mark.parametrize(
    ("column", "values", "reason"),
    [
        ("country", ["NL"] * N, "constant"),
        ("empty", [None] * N, "entirely missing"),
        ("row", np.arange(N), "identifier-like"),  # unique, increasing whole numbers
        ("customer_id", np.random.default_rng(1).permutation(N) + 1000, "named like an id"),
        ("uuid", [f"a{i:05x}" for i in np.random.default_rng(2).permutation(N)], "every row"),
        ("ticket", [f"T{i % 40}" for i in range(N)], "distinct short values"),
        ("tags", [["a", "b"]] * N, "nested values"),
    ],
)
def test_drop_reasons(column: str, values: object, reason: str) -> None:
    frame, schema = infer_schema(_frame(**{column: values}), "label")
    info = next(c for c in schema.columns if c.name == column)
    assert info.kind is ColumnKind.DROPPED
    assert reason in info.reason
    assert column not in schema.feature_names
    assert column in frame.columns  # dropped from the schema, kept in the frame


def test_shuffled_unique_integers_without_an_id_name_stay_numeric() -> None:
    values = np.random.default_rng(3).permutation(N) * 7
    _, schema = infer_schema(_frame(weight=values), "label")
    assert _kinds(schema)["weight"] is ColumnKind.NUMERIC


def test_high_cardinality_long_strings_are_text() -> None:
    titles = [f"Deluxe edition model-{i:04d}" for i in range(N)]  # 3 words, 26 characters
    _, schema = infer_schema(_frame(title=titles), "label")
    assert _kinds(schema)["title"] is ColumnKind.TEXT


def test_numbers_are_not_mistaken_for_dates() -> None:
    _, schema = infer_schema(_frame(code=[str(20200101 + i) for i in range(N)]), "label")
    assert _kinds(schema)["code"] is not ColumnKind.DATETIME


def test_mixed_type_column_is_coerced_to_numeric_with_a_warning(caplog) -> None:
    charges = [f"{20 + i * 1.5:.2f}" for i in range(N)]
    charges[3] = charges[17] = " "
    with caplog.at_level(logging.WARNING, logger="mlvsdl.data.schema"):
        frame, schema = infer_schema(_frame(TotalCharges=charges), "label")
    assert _kinds(schema)["TotalCharges"] is ColumnKind.NUMERIC
    assert frame["TotalCharges"].dtype == "float64"
    assert frame["TotalCharges"].isna().sum() == 2
    assert frame["TotalCharges"][4] == pytest.approx(26.0)
    note = next(n for n in schema.notes if "TotalCharges" in n)
    assert "2 non-numeric value(s)" in note and "set to missing" in note
    assert "TotalCharges" in caplog.text


def test_mostly_text_column_is_not_coerced() -> None:
    values = [str(i) if i % 3 else f"x{i}" for i in range(N)]
    frame, schema = infer_schema(_frame(mix=values), "label")
    assert _kinds(schema)["mix"] is not ColumnKind.NUMERIC
    assert frame["mix"].tolist() == values


def test_input_frame_is_not_modified() -> None:
    df = _frame(TotalCharges=[" "] + [str(i) for i in range(1, N)])
    before = df.copy()
    infer_schema(df, "label")
    pd.testing.assert_frame_equal(df, before)


def test_sampling_is_deterministic() -> None:
    df = _frame(n=2500)  # more rows than the 2000-value sample
    assert infer_schema(df, "label")[1] == infer_schema(df, "label")[1]


# --- task inference and overrides --------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "task", "classes"),
    [
        (np.random.default_rng(0).choice(["no", "yes"], N), Task.BINARY, ("no", "yes")),
        (np.arange(N) % 2, Task.BINARY, (0, 1)),
        (np.arange(N) % 2 == 0, Task.BINARY, (False, True)),
        (np.array(["b", "c", "a"] * (N // 3)), Task.MULTICLASS, ("a", "b", "c")),
        (np.arange(N) % 4 + 1, Task.MULTICLASS, (1, 2, 3, 4)),
        (np.linspace(0, 1, N), Task.REGRESSION, None),
        (np.arange(N) * 3, Task.REGRESSION, None),  # whole numbers, but many distinct values
    ],
)
def test_task_inference(target: np.ndarray, task: Task, classes: tuple | None) -> None:
    _, schema = infer_schema(_frame(y=target), "y")
    assert schema.task is task
    assert schema.classes == classes


def test_task_override() -> None:
    y = np.arange(N) % 4
    assert infer_schema(_frame(y=y), "y", task="regression")[1].task is Task.REGRESSION
    _, schema = infer_schema(_frame(), "label", task=" Multiclass ")
    assert schema.task is Task.MULTICLASS and schema.classes == ("churn", "stay")


def test_float_labels_with_blanks_become_whole_numbers() -> None:
    y = np.where(np.arange(N) % 2 == 0, 1.0, 0.0)
    y[[5, 9]] = np.nan
    frame, schema = infer_schema(_frame(y=y), "y")
    assert schema.task is Task.BINARY and schema.classes == (0, 1)
    assert frame["y"].dtype == "int64"


# --- bad targets and options -------------------------------------------------------------------


def test_unknown_target_suggests_the_closest_column() -> None:
    df = _frame().rename(columns={"label": "Churn"})
    with pytest.raises(TargetError) as excinfo:
        infer_schema(df, "churn")
    message = _message(excinfo)
    assert "'churn' not found" in message and "did you mean 'Churn'" in message
    assert "amount" in message  # lists some columns


def test_target_entirely_missing() -> None:
    with pytest.raises(TargetError) as excinfo:
        infer_schema(_frame(y=[None] * N), "y")
    assert "has no values" in _message(excinfo) and f"all {N} rows" in str(excinfo.value)


def test_rows_with_missing_target_are_dropped_with_the_count(caplog) -> None:
    labels = _frame()["label"].astype(object)
    labels[[0, 7, 8]] = None
    labels[11] = "  "
    with caplog.at_level(logging.WARNING, logger="mlvsdl.data.schema"):
        frame, schema = infer_schema(_frame(label=labels), "label")
    assert schema.n_rows == len(frame) == N - 4
    assert frame.index.tolist() == list(range(N - 4))
    assert any(f"dropped 4 of {N} rows" in note and "'label'" in note for note in schema.notes)
    assert "dropped 4" in caplog.text


def test_one_class_target() -> None:
    with pytest.raises(TargetError) as excinfo:
        infer_schema(_frame(label=["stay"] * N), "label")
    message = _message(excinfo)
    assert "only one distinct value ('stay')" in message and "fewer than two classes" in message


def test_regression_on_text_target() -> None:
    with pytest.raises(TargetError) as excinfo:
        infer_schema(_frame(), "label", task=Task.REGRESSION)
    message = _message(excinfo)
    assert "cannot be a regression target" in message and "--task binary" in message


def test_binary_task_with_three_classes() -> None:
    with pytest.raises(TargetError) as excinfo:
        infer_schema(_frame(y=["a", "b", "c"] * (N // 3)), "y", task="binary")
    assert "3 classes" in _message(excinfo) and "--task multiclass" in str(excinfo.value)


def test_unknown_task() -> None:
    with pytest.raises(ConfigError) as excinfo:
        infer_schema(_frame(), "label", task="clustering")
    message = _message(excinfo)
    assert "unknown task 'clustering'" in message
    assert all(t in message for t in ("binary", "multiclass", "regression"))


def test_no_usable_input_column() -> None:
    df = pd.DataFrame({"row": np.arange(N), "const": 1, "y": np.arange(N) % 2})
    with pytest.raises(DataError) as excinfo:
        infer_schema(df, "y")
    message = _message(excinfo)
    assert "no usable input column" in message and "'const': constant" in message


def test_target_only_table() -> None:
    with pytest.raises(DataError, match="no input columns besides the target"):
        infer_schema(pd.DataFrame({"y": [0, 1] * 10}), "y")
