"""Request validation built from the Schema: per-kind field rules, JSON and CSV parsing."""

from __future__ import annotations

import pytest

from mlvsdl.serve.schemas import RequestError, RowValidator, parse_csv, parse_json
from mlvsdl.types import ColumnInfo, ColumnKind, Schema, Task


def _schema() -> Schema:
    def col(name: str, kind: ColumnKind) -> ColumnInfo:
        return ColumnInfo(name, kind, "object", 3, 0.0)

    return Schema(
        target="y",
        task=Task.BINARY,
        columns=(
            col("amount", ColumnKind.NUMERIC),
            col("member", ColumnKind.BOOLEAN),
            col("signed up", ColumnKind.DATETIME),  # a name that is not an identifier
            col("note", ColumnKind.TEXT),
            col("colour", ColumnKind.CATEGORICAL),
            col("customer_id", ColumnKind.DROPPED),
        ),
        classes=("no", "yes"),
    )


@pytest.fixture(scope="module")
def validator() -> RowValidator:
    """Lenient, so that each test below can send the fields it is about."""
    return RowValidator(_schema(), allow_missing=True)


def test_fields_never_missing_in_training_are_required_by_default():
    with pytest.raises(RequestError) as caught:
        RowValidator(_schema()).validate([{"amount": "", "member": None, "colour": "NA"}])
    assert caught.value.status_code == 422
    assert [e["loc"][-1] for e in caught.value.detail] == [
        "amount",
        "member",
        "signed up",
        "note",
        "colour",
    ]


def test_valid_values_are_normalized_for_the_cleaner(validator):
    rows = validator.validate(
        [
            {
                "amount": "12.5",
                "member": "Yes",
                "signed up": "2024-01-31",
                "note": 42,
                "colour": 3,
                "customer_id": "ignored",
                "y": "yes",
            }
        ]
    )
    assert rows == [
        {"amount": 12.5, "member": True, "signed up": "2024-01-31", "note": "42", "colour": "3"}
    ]


def test_absent_and_missing_values_are_none(validator):
    rows = validator.validate([{"amount": "", "member": None, "colour": "NA"}])
    assert rows == [dict.fromkeys(["amount", "member", "signed up", "note", "colour"])]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "abc", "expected a number, got 'abc'"),
        ("amount", True, "expected a number, got a boolean"),
        ("amount", float("inf"), "expected a finite number"),
        ("amount", 10**400, "expected a number"),
        ("amount", [1], "expected a number, got an array"),
        ("member", "maybe", "expected true or false"),
        ("signed up", "not a date", "expected a date or time"),
        ("signed up", 5, "expected a date or time as text"),
        ("note", {"a": 1}, "expected text, got an object"),
        ("colour", {"a": 1}, "expected a category"),
        ("colur", "red", "unknown field"),
    ],
)
def test_bad_values_get_one_message_per_field(validator, field, value, message):
    with pytest.raises(RequestError) as info:
        validator.validate([{field: value}], single=True)
    assert info.value.status_code == 422
    (error,) = info.value.detail
    assert error["loc"] == ["body", field]
    assert message in error["msg"]


def test_every_problem_is_reported_with_its_row(validator):
    with pytest.raises(RequestError) as info:
        validator.validate([{"amount": 1}, {"amount": "x", "member": "?!"}, 7])
    locs = [e["loc"] for e in info.value.detail]
    assert locs == [["body", 1, "amount"], ["body", 1, "member"], ["body", 2]]


def test_json_schema_lists_every_column(validator):
    schema = validator.json_schema()
    row = schema["anyOf"][0]
    assert set(row["properties"]) == {
        "amount",
        "member",
        "signed up",
        "note",
        "colour",
        "customer_id",
        "y",
    }
    assert row["additionalProperties"] is False


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty body"),
        (b"{bad", "not valid JSON"),
        (b"[]", "no rows"),
        (b"42", "expected a JSON object"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
        (b'{"a": 1' + b"0" * 5000 + b"}", "not valid JSON"),
    ],
)
def test_bad_json_is_a_422(body, message):
    with pytest.raises(RequestError) as info:
        parse_json(body)
    assert info.value.status_code == 422
    assert message in info.value.detail


def test_json_object_or_array():
    assert parse_json(b'{"a": 1}') == ([{"a": 1}], True)
    assert parse_json(b'[{"a": 1}, {"a": 2}]') == ([{"a": 1}, {"a": 2}], False)


def test_csv_cells_are_text_and_bad_csv_is_a_422():
    assert parse_csv(b"a,b\n1,x\n,y\n") == [{"a": "1", "b": "x"}, {"a": "", "b": "y"}]
    assert parse_csv(b"a\tb\n1\t2\n", sep="\t") == [{"a": "1", "b": "2"}]
    for body in (b"", b"a,b\n", b'a,b\n"1,2\n', b"a,b\n\xff\xfe,1\n"):
        with pytest.raises(RequestError):
            parse_csv(body)
