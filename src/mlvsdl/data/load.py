"""Read a user's table from a file or a DataFrame, with errors that say how to fix the input.

Supported: CSV/TSV/.txt (delimiter sniffed), Parquet, JSON Lines and JSON lists of records, each
optionally gzip-compressed (``data.csv.gz``). Text that is not UTF-8 is decoded as cp1252, then
latin-1, with a warning. Every problem raises :class:`~mlvsdl.errors.DataError` with one line.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import os
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mlvsdl.errors import DataError

__all__ = ["SUPPORTED_SUFFIXES", "Table", "normalize_columns", "read_table"]

logger = logging.getLogger(__name__)

_DELIMITED = (".csv", ".tsv", ".txt", ".data", ".dat")
_PARQUET = (".parquet", ".pq")
_JSON = (".jsonl", ".ndjson", ".json")
SUPPORTED_SUFFIXES: tuple[str, ...] = (*_DELIMITED, *_PARQUET, *_JSON)
_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_CHARS = 64 * 1024
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+(?:\.\d{3})*,\d+\s*$")


@dataclass(frozen=True, eq=False)
class Table:
    """A table as read: the frame, where it came from, what was odd about it, and its hash."""

    frame: pd.DataFrame
    source: str
    warnings: tuple[str, ...] = ()
    fingerprint: str = ""


DEFAULT_NA_VALUES: tuple[str, ...] = ("?",)


def read_table(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    names: Sequence[str] | None = None,
    na_values: Sequence[str] = DEFAULT_NA_VALUES,
) -> Table:
    """Read ``source`` (a path or a DataFrame) into a :class:`Table`.

    Args:
        names: column names for a delimited file that has no header row.
        na_values: cell values read as missing in delimited files, besides pandas' defaults
            (empty, NA, NaN, null, ...). A lone ``?`` is missing by default.

    Raises:
        DataError: the file is missing, a directory, unreadable, empty, of an unsupported
            format or cannot be parsed; or the DataFrame has no rows or columns.
    """
    if isinstance(source, pd.DataFrame):
        return _table_from_frame(source)
    if not isinstance(source, str | os.PathLike):
        raise DataError(
            f"cannot read data from a {type(source).__name__}; pass a file path or a pandas "
            "DataFrame."
        )
    path = Path(source).expanduser()
    _check_path(path)
    kind, compressed = _format_of(path)
    raw = _read_bytes(path)
    fingerprint = hashlib.sha256(raw).hexdigest()
    data = _gunzip(raw, path) if compressed else raw
    if not data.strip():
        raise DataError(
            f"{path} is empty ({len(raw)} bytes); export the table again with a header row and "
            "at least one data row."
        )
    warnings: list[str] = []
    if kind == "delimited":
        frame = _read_delimited(data, path, warnings, names=names, na_values=na_values)
    elif names is not None:
        raise DataError(
            f"column names (--names) apply only to CSV/TSV files without a header; {path.name} "
            "has its own column names."
        )
    else:
        frame = _READERS[kind](data, path, warnings)
    _check_not_empty(frame, str(path))
    frame, renamed = normalize_columns(frame, str(path))
    warnings += renamed
    for message in warnings:
        logger.warning(message)
    return Table(frame=frame, source=str(path), warnings=tuple(warnings), fingerprint=fingerprint)


def normalize_columns(frame: pd.DataFrame, source: str) -> tuple[pd.DataFrame, list[str]]:
    """Make every column name a unique string; return the frame and any warnings.

    Raises:
        DataError: two columns share a name.
    """
    warnings: list[str] = []
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns=str)
        warnings.append(f"{source}: column names were not all text; they were turned into text.")
    duplicated = frame.columns[frame.columns.duplicated()].unique().tolist()
    if duplicated:
        raise DataError(
            f"{source} has duplicate column names {', '.join(map(repr, duplicated))}; rename "
            "them so that every column name is unique."
        )
    return frame, warnings


def _table_from_frame(frame: pd.DataFrame) -> Table:
    source = "<DataFrame>"
    _check_not_empty(frame, source)
    frame, warnings = normalize_columns(frame.copy(deep=False), source)
    for message in warnings:
        logger.warning(message)
    return Table(frame, source, tuple(warnings), _frame_fingerprint(frame))


def _frame_fingerprint(frame: pd.DataFrame) -> str:
    """A stable sha256 of the frame's column names, dtypes and values (not its index)."""
    digest = hashlib.sha256()
    digest.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
    try:
        hashed = pd.util.hash_pandas_object(frame, index=False)
    except TypeError:  # unhashable cells such as lists or dicts
        hashed = pd.util.hash_pandas_object(frame.astype(str), index=False)
    digest.update(hashed.to_numpy().tobytes())
    return digest.hexdigest()


def _check_not_empty(frame: pd.DataFrame, source: str) -> None:
    if frame.shape[1] == 0:
        raise DataError(f"{source} has no columns; give a table with a header row of names.")
    if frame.shape[0] == 0:
        raise DataError(
            f"{source} has a header but no data rows; add rows below the header "
            f"({frame.shape[1]} columns found)."
        )


def _format_of(path: Path) -> tuple[str, bool]:
    """The format ('delimited', 'parquet' or 'json') and whether the file is gzipped."""
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    suffix = (suffixes[-2] if len(suffixes) > 1 else "") if compressed else path.suffix.lower()
    for kind, group in (("delimited", _DELIMITED), ("parquet", _PARQUET), ("json", _JSON)):
        if suffix in group:
            return kind, compressed
    supported = ", ".join(SUPPORTED_SUFFIXES)
    shown = "".join(path.suffixes[-2:] if compressed else path.suffixes[-1:]) or "no extension"
    raise DataError(
        f"{path}: unsupported file type ({shown}); use one of {supported} (optionally "
        "gzipped, e.g. .csv.gz), e.g. save a spreadsheet as CSV."
    )


def _check_path(path: Path) -> None:
    if not path.exists():
        where = "" if path.is_absolute() else f" (looked in {Path.cwd()})"
        raise DataError(f"file not found: {path}{where}; check the path and its spelling.")
    if path.is_dir():
        raise DataError(f"{path} is a directory, not a file; pass the path of a data file in it.")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except PermissionError as exc:
        raise DataError(
            f"cannot read {path}: permission denied; make the file readable (e.g. chmod +r)."
        ) from exc
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}; check the file.") from exc


def _gunzip(raw: bytes, path: Path) -> bytes:
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"{path} is not a valid gzip file ({exc}); re-compress it with gzip or drop the .gz "
            "extension."
        ) from exc


def _decode(data: bytes, path: Path, warnings: list[str]) -> str:
    """Decode text as UTF-8 (BOM allowed; UTF-16 with a BOM), else cp1252, else latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass  # not UTF-16 after all: try the 8-bit encodings below
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    try:
        text, encoding = data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:  # bytes cp1252 leaves undefined; latin-1 decodes any byte
        text, encoding = data.decode("latin-1"), "latin-1"
    warnings.append(
        f"{path}: text is not valid UTF-8 (first bad byte at offset {first_bad}); decoded it "
        f"as {encoding}. Re-save the file as UTF-8 if characters look wrong."
    )
    return text


def _read_delimited(
    data: bytes,
    path: Path,
    warnings: list[str],
    *,
    names: Sequence[str] | None = None,
    na_values: Sequence[str] = DEFAULT_NA_VALUES,
) -> pd.DataFrame:
    text = _decode(data, path, warnings)
    default = "\t" if ".tsv" in [s.lower() for s in path.suffixes] else ","
    delimiter = _sniff_delimiter(text[:_SNIFF_CHARS], default)
    logger.debug("%s: delimiter %r", path, delimiter)
    if names is not None:
        _check_names(names, text, delimiter, path)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            low_memory=False,
            header=None if names is not None else "infer",
            names=list(names) if names is not None else None,
            skipinitialspace=True,
            na_values=list(na_values),
        )
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path} holds no table; add a header row and data rows.") from exc
    except (pd.errors.ParserError, ValueError) as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise DataError(
            f"cannot parse {path} as delimited text with delimiter {delimiter!r} ({detail}); "
            "check the quoting and the number of fields on that line."
        ) from exc
    if delimiter == ";":
        frame = _fix_decimal_commas(frame, path, warnings)
    if len(frame.columns) > 1 and all(_is_number(c) for c in frame.columns):
        warnings.append(
            f"{path}: every column name is a number, so the first row may be data, not a "
            "header; add a header row if so."
        )
    return frame


def _check_names(names: Sequence[str], text: str, delimiter: str, path: Path) -> None:
    first = next(csv.reader(io.StringIO(text[:_SNIFF_CHARS]), delimiter=delimiter), [])
    if len(names) != len(first):
        raise DataError(
            f"--names gives {len(names)} column names but the rows of {path.name} have "
            f"{len(first)} fields; give one name per field."
        )


def _sniff_delimiter(sample: str, default: str) -> str:
    """Sniff the delimiter; keep the first candidate that splits the sample consistently."""
    try:
        guess: str | None = csv.Sniffer().sniff(sample, delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        guess = None
    candidates = dict.fromkeys([c for c in (guess, default) if c] + list(_DELIMITERS))
    for candidate in candidates:
        if _splits_consistently(sample, candidate):
            return candidate
    return guess or default


def _splits_consistently(sample: str, delimiter: str) -> bool:
    """Whether at least 90% of the sampled rows have as many fields as the header (> 1)."""
    lines = sample.splitlines()
    if len(sample) >= _SNIFF_CHARS and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut off
    try:
        widths = [len(row) for row in csv.reader(lines, delimiter=delimiter) if row]
    except csv.Error:
        return False
    if not widths or widths[0] < 2:
        return False
    rows = widths[1:] or widths
    return sum(w == widths[0] for w in rows) >= 0.9 * len(rows)


def _fix_decimal_commas(frame: pd.DataFrame, path: Path, warnings: list[str]) -> pd.DataFrame:
    """Turn text columns written with decimal commas ('1,5') into numbers, as in ';' files."""
    converted = []
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_numeric_dtype(col) or col.isna().all():
            continue
        values = col.dropna().astype(str)
        if values.str.match(_DECIMAL_COMMA).all():
            cleaned = values.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
            frame[name] = pd.to_numeric(cleaned, errors="coerce").reindex(frame.index)
            converted.append(str(name))
    if converted:
        warnings.append(
            f"{path}: read decimal commas as decimal points in {', '.join(map(repr, converted))}."
        )
    return frame


def _is_number(value: Any) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def _read_parquet(data: bytes, path: Path, warnings: list[str]) -> pd.DataFrame:
    try:
        return pd.read_parquet(io.BytesIO(data))
    except (ValueError, OSError, TypeError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"cannot read {path} as Parquet ({detail}); check that it is a complete Parquet "
            "file, or give it the extension of its real format."
        ) from exc


def _read_json(data: bytes, path: Path, warnings: list[str]) -> pd.DataFrame:
    """JSON Lines (one object per line), a JSON list of records, or an object of columns."""
    text = _decode(data, path, warnings)
    is_json = path.suffixes[-2 if path.suffix.lower() == ".gz" else -1].lower() == ".json"
    if is_json:
        try:
            return _frame_from_document(json.loads(text), path)
        except json.JSONDecodeError as exc:
            if not text.lstrip().startswith("{"):  # not JSON Lines in a .json file either
                raise DataError(
                    f"cannot parse {path} as JSON ({exc.msg} at line {exc.lineno}, column "
                    f"{exc.colno}); fix the JSON there, or write one JSON object per line."
                ) from exc
    return _frame_from_records(_parse_json_lines(text, path), path)


def _parse_json_lines(text: str, path: Path) -> list[Any]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DataError(
                f"cannot parse {path} as JSON Lines: line {number} is not valid JSON "
                f"({exc.msg}); fix that line, or write one JSON object per line."
            ) from exc
    return records


def _frame_from_document(document: Any, path: Path) -> pd.DataFrame:
    if isinstance(document, list):
        return _frame_from_records(document, path)
    if isinstance(document, dict) and not any(
        isinstance(v, list | dict) for v in document.values()
    ):
        return _frame_from_records([document], path)  # a single record
    if (
        isinstance(document, dict)
        and document
        and all(isinstance(v, list | dict) for v in document.values())
    ):
        try:
            return pd.DataFrame(document)
        except ValueError as exc:
            raise DataError(
                f"cannot read {path} as an object of columns ({exc}); give every column the "
                "same number of values, or write a list of records."
            ) from exc
    raise DataError(
        f"{path} holds a JSON {type(document).__name__}, not a table; write JSON Lines (one "
        'object per line) or a list of records like [{"a": 1, "b": 2}, ...].'
    )


def _frame_from_records(records: list[Any], path: Path) -> pd.DataFrame:
    if not records:
        raise DataError(f"{path} holds no records; add at least one JSON object.")
    bad = next((i for i, r in enumerate(records) if not isinstance(r, dict)), None)
    if bad is not None:
        raise DataError(
            f"{path}: record {bad + 1} is a JSON {type(records[bad]).__name__}, not an object; "
            'write every record as an object like {"a": 1, "b": 2}.'
        )
    return pd.json_normalize(records)


_READERS: dict[str, Callable[[bytes, Path, list[str]], pd.DataFrame]] = {
    "delimited": _read_delimited,
    "parquet": _read_parquet,
    "json": _read_json,
}
