"""Tests for mlvsdl.data.load: every format, the encoding fallbacks, and each bad input."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from mlvsdl.data.load import Table, read_table
from mlvsdl.errors import DataError, MlvsdlError

FRAME = pd.DataFrame(
    {
        "age": [31, 45, 27],
        "city": ["Paris", "Lyon", "Nice"],
        "score": [0.5, 1.25, -2.0],
    }
)


def _write(path: Path, frame: pd.DataFrame) -> Path:
    """Write ``frame`` in the format the suffix names, gzipped when it ends in .gz."""
    name = path.name.removesuffix(".gz")
    if name.endswith((".parquet", ".pq")):
        data = _parquet_bytes(frame)
    elif name.endswith((".jsonl", ".ndjson")):
        data = frame.to_json(orient="records", lines=True).encode()
    elif name.endswith(".json"):
        data = frame.to_json(orient="records").encode()
    else:
        data = frame.to_csv(index=False, sep="\t" if name.endswith(".tsv") else ",").encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    import io

    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


SUFFIXES = [".csv", ".tsv", ".txt", ".parquet", ".pq", ".jsonl", ".ndjson", ".json"]


@pytest.mark.parametrize("suffix", SUFFIXES + [s + ".gz" for s in SUFFIXES])
def test_reads_every_format_and_its_gzip_variant(tmp_path: Path, suffix: str) -> None:
    path = _write(tmp_path / f"data{suffix}", FRAME)
    table = read_table(path)
    assert isinstance(table, Table)
    assert list(table.frame.columns) == ["age", "city", "score"]
    assert table.frame["age"].tolist() == [31, 45, 27]
    assert table.frame["city"].tolist() == ["Paris", "Lyon", "Nice"]
    assert table.frame["score"].tolist() == [0.5, 1.25, -2.0]
    assert table.source == str(path)
    assert table.warnings == ()
    assert table.fingerprint == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("delimiter", "suffix"), [(";", ".csv"), ("\t", ".txt"), ("|", ".csv"), ("\t", ".tsv")]
)
def test_sniffs_the_delimiter(tmp_path: Path, delimiter: str, suffix: str) -> None:
    path = tmp_path / f"data{suffix}"
    path.write_text(FRAME.to_csv(index=False, sep=delimiter))
    frame = read_table(path).frame
    assert list(frame.columns) == ["age", "city", "score"]
    assert frame["score"].tolist() == [0.5, 1.25, -2.0]


def test_semicolon_file_with_decimal_commas_reads_numbers(tmp_path: Path) -> None:
    path = tmp_path / "eu.csv"
    path.write_text("name;price;qty\na;1,5;3\nb;2,25;4\nc;10,0;5\n")
    table = read_table(path)
    assert table.frame["price"].tolist() == [1.5, 2.25, 10.0]
    assert table.frame["qty"].tolist() == [3, 4, 5]
    assert any("decimal commas" in w and "'price'" in w for w in table.warnings)


def test_quoted_delimiters_stay_in_their_field(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    path.write_text('id,note\n1,"hello, world"\n2,"a; b"\n')
    frame = read_table(path).frame
    assert frame["note"].tolist() == ["hello, world", "a; b"]


def test_json_file_holding_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text('{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n')
    assert read_table(path).frame["a"].tolist() == [1, 2]


def test_json_object_of_columns(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text(json.dumps({"a": [1, 2], "b": ["x", "y"]}))
    assert read_table(path).frame["b"].tolist() == ["x", "y"]


def test_nested_json_records_are_flattened(tmp_path: Path) -> None:
    path = tmp_path / "nested.jsonl"
    path.write_text('{"a": 1, "user": {"age": 30}}\n{"a": 2, "user": {"age": 40}}\n')
    frame = read_table(path).frame
    assert frame["user.age"].tolist() == [30, 40]


def test_utf8_bom_is_removed_without_warning(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffname,x\nZoë,1\n".encode())
    table = read_table(path)
    assert list(table.frame.columns) == ["name", "x"]
    assert table.frame["name"].tolist() == ["Zoë"]
    assert table.warnings == ()


def test_cp1252_bytes_are_decoded_with_a_warning(tmp_path: Path, caplog) -> None:
    path = tmp_path / "win.csv"
    path.write_bytes("item,price\ncafé – menu,€5\n".encode("cp1252"))
    with caplog.at_level(logging.WARNING, logger="mlvsdl.data.load"):
        table = read_table(path)
    assert table.frame["item"].tolist() == ["café – menu"]
    assert table.frame["price"].tolist() == ["€5"]
    assert len(table.warnings) == 1
    assert "not valid UTF-8" in table.warnings[0] and "cp1252" in table.warnings[0]
    assert "cp1252" in caplog.text


def test_bytes_undefined_in_cp1252_fall_back_to_latin1(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"word,n\ncaf\xe9\x81,1\n")  # 0x81 is undefined in cp1252
    table = read_table(path)
    assert table.frame["word"].tolist() == ["caf\xe9\x81"]
    assert "latin-1" in table.warnings[0]


def test_utf16_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "excel.txt"
    path.write_bytes("a\tb\n1\tx\n2\ty\n".encode("utf-16"))
    assert read_table(path).frame["b"].tolist() == ["x", "y"]


def test_numeric_header_warns_that_it_may_be_data(tmp_path: Path) -> None:
    path = tmp_path / "noheader.csv"
    path.write_text("1,2\n3,4\n")
    assert "may be data" in read_table(path).warnings[0]


def test_dataframe_source_and_stable_fingerprint() -> None:
    first = read_table(FRAME)
    again = read_table(FRAME.copy())
    changed = read_table(FRAME.assign(age=[31, 45, 28]))
    assert first.source == "<DataFrame>"
    assert first.frame is not FRAME and first.frame.equals(FRAME)
    assert first.fingerprint == again.fingerprint
    assert first.fingerprint != changed.fingerprint
    assert len(first.fingerprint) == 64


def test_dataframe_with_list_cells_has_a_fingerprint() -> None:
    table = read_table(pd.DataFrame({"tags": [["a"], ["b", "c"]], "n": [1, 2]}))
    assert len(table.fingerprint) == 64


def test_dataframe_column_names_become_text() -> None:
    table = read_table(pd.DataFrame({0: [1, 2], 1: ["a", "b"]}))
    assert list(table.frame.columns) == ["0", "1"]
    assert "names" in table.warnings[0]


# --- bad input: one test each, asserting the type and the key words of the one-line message --


def _message(excinfo: pytest.ExceptionInfo[MlvsdlError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(DataError) as excinfo:
        read_table(path)
    message = _message(excinfo)
    assert "not found" in message and str(path) in message and "check the path" in message


def test_missing_file_is_reported_before_its_extension(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        read_table(tmp_path / "data.cvs")


def test_directory_instead_of_file(tmp_path: Path) -> None:
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(DataError) as excinfo:
        read_table(folder)
    assert "is a directory" in _message(excinfo)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "locked.csv", FRAME)

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(DataError) as excinfo:
        read_table(path)
    assert "permission denied" in _message(excinfo)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(DataError) as excinfo:
        read_table(path)
    assert "is empty (0 bytes)" in _message(excinfo)


def test_header_only_file(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("a,b,c\n")
    with pytest.raises(DataError) as excinfo:
        read_table(path)
    assert "header but no data rows" in _message(excinfo)


def test_empty_dataframe() -> None:
    with pytest.raises(DataError, match="no data rows"):
        read_table(pd.DataFrame({"a": []}))


def test_unsupported_extension_lists_the_supported_ones(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(DataError) as excinfo:
        read_table(path)
    message = _message(excinfo)
    assert "unsupported file type (.xlsx)" in message
    assert all(s in message for s in (".csv", ".tsv", ".parquet", ".jsonl", ".gz"))


def test_unparseable_parquet(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"this is not parquet at all")
    with pytest.raises(DataError) as excinfo:
        read_table(path)
    assert "cannot read" in _message(excinfo) and "as Parquet" in str(excinfo.value)


def test_ragged_csv(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n3,4,5,6\n")
    with pytest.raises(DataError) as excinfo:
        read_table(path)
    assert "cannot parse" in _message(excinfo) and "line 3" in str(excinfo.value)


def test_corrupt_gzip(tmp_path: Path) -> None:
    path = tmp_path / "data.csv.gz"
    path.write_bytes(b"not gzip")
    with pytest.raises(DataError) as excinfo:
        read_table(path)
    assert "not a valid gzip file" in _message(excinfo)


def test_invalid_json_lines_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n{"a": 2,,}\n')
    with pytest.raises(DataError) as excinfo:
        read_table(path)
    assert "line 2 is not valid JSON" in _message(excinfo)


def test_broken_json_names_the_position(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[{"a": 1},\n {"a": 2')
    with pytest.raises(DataError) as excinfo:
        read_table(path)
    assert "as JSON" in _message(excinfo) and "line 2" in str(excinfo.value)


def test_json_that_is_not_a_table(tmp_path: Path) -> None:
    path = tmp_path / "scalar.json"
    path.write_text("42")
    with pytest.raises(DataError) as excinfo:
        read_table(path)
    assert "not a table" in _message(excinfo)


def test_duplicate_dataframe_columns() -> None:
    frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(DataError) as excinfo:
        read_table(frame)
    assert "duplicate column names 'a'" in _message(excinfo)


def test_wrong_source_type() -> None:
    with pytest.raises(DataError, match="file path or a pandas DataFrame"):
        read_table(42)  # type: ignore[arg-type]
