"""Request validation built from a run's Schema: one typed field per input column.

Each :class:`~mlvsdl.types.ColumnKind` maps to a :class:`FieldType`: a validator that turns what a
client sent (JSON values, or CSV text) into what the model's cleaning step reads, or raises a
``ValueError`` whose message names what was expected. A new column kind slots in by adding one
entry to :data:`FIELD_TYPES`. A field that was never missing in training is required (absent or
null: a 422 naming it), since the model would answer from an imputed value it never trained on;
with ``allow_missing`` every field may be absent or null, and the server lists the imputed ones
in its answer. Fields that were sometimes missing in training may always be absent. Unknown
fields are refused, so a misspelt column name is an error rather than a silently missing value.
The target and the columns the run dropped are accepted and ignored.

The image or audio column of a media run is the one required field: its value is a file's
content (an upload, or ``{"base64": ...}`` in JSON), decoded and brought to the run's size or
sample rate by :mod:`mlvsdl.serve.files` while it is validated.

Parsing (JSON, CSV, multipart) and validation never raise anything but :class:`RequestError`, so
nothing a client sends can reach the model unchecked.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Required

import pandas as pd
from pydantic import ConfigDict, PlainValidator, TypeAdapter, ValidationError, WithJsonSchema
from typing_extensions import TypedDict

from mlvsdl.data.load import DEFAULT_NA_VALUES
from mlvsdl.errors import ConfigError
from mlvsdl.serve.files import DEFAULT_FILE_FIELD, MEDIA_KINDS, decode_media
from mlvsdl.types import ColumnKind, Schema

__all__ = [
    "FIELD_TYPES",
    "FieldType",
    "RequestError",
    "RowValidator",
    "media_field_type",
    "parse_csv",
    "parse_json",
]

_NA_TEXT = frozenset({"", "na", "nan", "null", "none", *DEFAULT_NA_VALUES})
_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0"})  # as TableCleaner reads booleans
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0"})


class RequestError(Exception):
    """A request the server answers with an error status and a JSON ``detail``."""

    def __init__(self, status_code: int, detail: Any) -> None:
        super().__init__(str(detail))
        self.status_code = status_code
        self.detail = detail


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in _NA_TEXT)


def _number(value: Any) -> float | None:
    if _missing(value):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a number, got {_kind_of(value)}")
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        raise ValueError(f"expected a number, got {_show(value)}") from None
    if math.isinf(number):
        raise ValueError("expected a finite number")
    return None if math.isnan(number) else number


def _boolean(value: Any) -> bool | None:
    if _missing(value):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, int | float | str) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected true or false (or yes/no, 1/0), got {_show(value)}")


def _datetime(value: Any) -> str | None:
    if _missing(value):
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected a date or time as text, got {_kind_of(value)}")
    try:
        pd.Timestamp(value.strip())
    except (ValueError, TypeError, OverflowError):
        raise ValueError(
            f"expected a date or time such as 2024-01-31 or 2024-01-31T12:00:00, got {_show(value)}"
        ) from None
    return value.strip()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected text, got {_kind_of(value)}")
    return str(value)


def _category(value: Any) -> str | None:
    if _missing(value):
        return None
    if not isinstance(value, int | float | str):
        raise ValueError(f"expected a category (text or number), got {_kind_of(value)}")
    return str(value)


def _ignored(value: Any) -> Any:
    return None


def _kind_of(value: Any) -> str:
    names = {bool: "a boolean", dict: "an object", list: "an array", str: "text"}
    return names.get(type(value), f"a {type(value).__name__}")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class FieldType:
    """How one column kind is validated and described (JSON Schema, form widget)."""

    validate: Callable[[Any], Any]
    json_schema: dict[str, Any]
    widget: str  # what the web form shows: number, boolean, datetime, text, category, image, audio


FIELD_TYPES: dict[ColumnKind, FieldType] = {
    ColumnKind.NUMERIC: FieldType(_number, {"type": ["number", "string", "null"]}, "number"),
    ColumnKind.BOOLEAN: FieldType(_boolean, {"type": ["boolean", "string", "null"]}, "boolean"),
    ColumnKind.DATETIME: FieldType(_datetime, {"type": ["string", "null"]}, "datetime"),
    ColumnKind.TEXT: FieldType(_text, {"type": ["string", "null"]}, "text"),
    ColumnKind.CATEGORICAL: FieldType(
        _category, {"type": ["string", "number", "boolean", "null"]}, "category"
    ),
}
_IGNORED = FieldType(_ignored, {"description": "accepted and ignored"}, "ignored")


def media_field_type(kind: ColumnKind, media: dict[str, Any]) -> FieldType:
    """The :class:`FieldType` of an image or audio column: a file, decoded to ``media``'s size."""
    schema = {
        "type": "object",
        "properties": {"base64": {"type": "string", "contentEncoding": "base64"}},
        "required": ["base64"],
        "additionalProperties": False,
        "description": f"the {kind} file's content, base64-encoded",
    }
    return FieldType(partial(decode_media, kind, dict(media)), schema, str(kind))


def field_type(kind: ColumnKind) -> FieldType:
    """The :class:`FieldType` for ``kind``; a kind the server cannot take yet is an error."""
    try:
        return FIELD_TYPES[kind]
    except KeyError:
        raise ConfigError(
            f"this run has {kind} columns, which the server cannot take yet; use 'mlvsdl predict'."
        ) from None


class RowValidator:
    """Validates records (dicts) against a schema and returns clean, model-ready rows.

    ``never_missing`` lists the fields that had a value in every training row; they are
    ``required`` unless ``allow_missing``.
    """

    def __init__(self, schema: Schema, *, allow_missing: bool = False) -> None:
        self.schema = schema
        self.features = schema.feature_names
        self.never_missing = [
            c.name
            for c in schema.columns
            if c.used and c.kind not in MEDIA_KINDS and not c.missing_fraction
        ]
        self.required = [] if allow_missing else list(self.never_missing)
        self.types: dict[str, FieldType] = {}
        self.media_columns: list[str] = []
        fields: dict[str, Any] = {}
        for column in schema.columns:
            if not column.used:
                fields[column.name] = _annotated(_IGNORED, column.name)
            elif column.kind in MEDIA_KINDS:
                kind = media_field_type(column.kind, schema.media)
                fields[column.name] = Required[_annotated(kind, column.name)]  # type: ignore[misc]
                self.types[column.name] = kind
                self.media_columns.append(column.name)
            else:
                kind = field_type(column.kind)
                fields[column.name] = _annotated(kind, column.name)
                self.types[column.name] = kind
        for ignored in (schema.target, schema.label):  # accepted in a record, never used
            if ignored is not None:
                fields.setdefault(ignored, _annotated(_IGNORED, ignored))
        row_type = TypedDict("Row", fields, total=False)  # type: ignore[misc]
        row_type.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
        self._rows = TypeAdapter(list[row_type])  # type: ignore[valid-type]
        self._row_type = row_type

    def missing_messages(self) -> dict[str, str]:
        """The message for each required (media) field when a record lacks it."""
        out = {}
        for name in self.media_columns:
            kind = self.types[name].widget
            fields = " or ".join(dict.fromkeys([repr(name), repr(DEFAULT_FILE_FIELD)]))
            out[name] = (
                f"missing: this model needs an {kind} file; upload it as multipart field "
                f'{fields}, or send {{"{name}": {{"base64": "..."}}}} in JSON'
            )
        return out

    def json_schema(self) -> dict[str, Any]:
        """JSON Schema of a request body: one record or an array of records."""
        row = TypeAdapter(self._row_type).json_schema()
        return {"anyOf": [row, {"type": "array", "items": row}]}

    def validate(self, records: list[Any], *, single: bool = False) -> list[dict[str, Any]]:
        """Clean rows (feature columns only, absent ones as None) or a 422 with every problem:
        invalid values, unknown fields and absent required fields together."""
        try:
            rows = self._rows.validate_python(records)
        except ValidationError as exc:
            errors = _field_errors(exc, single=single, missing=self.missing_messages())
            # the raw records, only read for which required fields they lack
            errors += self._absent_required(records, single=single, absent=_missing)
            raise RequestError(422, errors[:50]) from None
        errors = self._absent_required(rows, single=single)
        if errors:
            raise RequestError(422, errors[:50])
        features = self.features
        return [{name: row.get(name) for name in features} for row in rows]

    def _absent_required(
        self,
        rows: list[Any],
        *,
        single: bool,
        absent: Callable[[Any], bool] = lambda value: value is None,
    ) -> list[dict[str, Any]]:
        """One error per required field a row lacks (absent, or a value read as missing)."""
        out = []
        for index, row in enumerate(rows):
            if not isinstance(row, dict):
                continue
            for name in self.required:
                if absent(row.get(name)):
                    loc = ["body", name] if single else ["body", index, name]
                    out.append({"loc": loc, "msg": REQUIRED_MESSAGE})
        return out


def _annotated(kind: FieldType, name: str) -> Any:
    schema = {**kind.json_schema, "title": name}
    return Annotated[Any, PlainValidator(kind.validate), WithJsonSchema(schema)]


REQUIRED_MESSAGE = (
    "missing: this field had a value in every training row, so the model cannot answer "
    "reliably without it; send a value (or start the server with --allow-missing)"
)
_MESSAGES = {
    "extra_forbidden": "unknown field; GET /schema lists the fields this model takes",
    "dict_type": "expected an object with one field per column",
    "list_type": "expected an array of objects",
}


def _field_errors(
    exc: ValidationError, *, single: bool, missing: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Pydantic's errors as ``[{loc, msg}]``, without echoing input or internals (max 50)."""
    out = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False)[:50]:
        loc = list(error["loc"])
        if single and loc and loc[0] == 0:
            loc = loc[1:]
        message = _MESSAGES.get(error["type"], error["msg"].removeprefix("Value error, "))
        if error["type"] == "missing" and loc and str(loc[-1]) in (missing or {}):
            message = (missing or {})[str(loc[-1])]
        out.append({"loc": ["body", *loc], "msg": message})
    return out


def parse_json(body: bytes) -> tuple[list[Any], bool]:
    """Records from a JSON body (an object or an array of objects) and whether it was one."""
    if not body.strip():
        raise RequestError(422, "empty body; send a JSON object (one row) or an array of objects.")
    try:
        data = json.loads(body)
    except RecursionError:
        raise RequestError(422, "body is not valid JSON: nested too deeply.") from None
    except UnicodeDecodeError:
        raise RequestError(422, "body is not valid JSON: it is not UTF-8 text.") from None
    except ValueError as exc:
        raise RequestError(422, f"body is not valid JSON: {_json_error(exc)}.") from None
    if isinstance(data, dict):
        return [data], True
    if isinstance(data, list):
        if not data:
            raise RequestError(422, "no rows: the array is empty.")
        return data, False
    raise RequestError(
        422, f"expected a JSON object (one row) or an array of objects, got {_kind_of(data)}."
    )


def _json_error(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg.removesuffix(' at')} at line {exc.lineno} column {exc.colno}"
    return "a value cannot be read"


def parse_csv(body: bytes, *, sep: str = ",") -> list[dict[str, Any]]:
    """Records from CSV (or TSV) text with a header row; every cell is read as text."""
    if not body.strip():
        raise RequestError(422, "empty body; send CSV text with a header row and data rows.")
    try:
        frame = pd.read_csv(
            io.BytesIO(body),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding="utf-8",
            engine="c",
        )
    except ValueError:  # pandas' parser, empty-data and decoding errors are all ValueErrors
        raise RequestError(
            422, "body is not valid CSV: give UTF-8 text with a header row and data rows."
        ) from None
    if frame.empty:
        raise RequestError(422, "no rows: the CSV has a header but no data rows.")
    return frame.to_dict("records")
