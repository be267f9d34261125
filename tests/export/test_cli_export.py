"""``mlvsdl export`` and ``mlvsdl serve`` as a user runs them: files written, one-line errors."""

from __future__ import annotations

import pytest

from tests.test_cli import run_cli


def test_export_bundle_and_onnx(monkeypatch, capsys, small_run, tmp_path):
    pytest.importorskip("skl2onnx")
    store, run_id, _ = small_run
    out = tmp_path / "m.mlvsdl"
    code, _, err = run_cli(
        monkeypatch, capsys, "export", run_id, "--format", "bundle", "-o", str(out),
        "--store", str(store),
    )  # fmt: skip
    assert code == 0 and out.is_file() and "load_model" in err
    code, _, err = run_cli(
        monkeypatch, capsys, "export", "latest", "--model", "linear", "--format", "onnx",
        "-o", str(tmp_path / "m.onnx"), "--store", str(store),
    )  # fmt: skip
    assert code == 0 and (tmp_path / "m.onnx").is_file()
    assert "NOT included: the cleaning step" in err and "outputs: label, probabilities" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "pdf"], "unknown --format 'pdf'"),
        (["--format", "onnx", "--model", "dummy"], "DummyClassifier is not exported to ONNX"),
        (["--format", "onnx", "--model", "nope"], "has no fitted model 'nope'"),
    ],
)
def test_export_errors_are_one_line_exit_2(monkeypatch, capsys, small_run, tmp_path, args, message):
    pytest.importorskip("skl2onnx")
    store, run_id, _ = small_run
    code, _, err = run_cli(
        monkeypatch, capsys, "export", run_id, *args, "-o", str(tmp_path / "x"),
        "--store", str(store),
    )  # fmt: skip
    assert code == 2 and message in err
    assert not (tmp_path / "x").exists()


def test_serve_refuses_a_public_address_without_a_token(monkeypatch, capsys, small_run):
    pytest.importorskip("fastapi")
    store, run_id, _ = small_run
    monkeypatch.delenv("MLVSDL_TOKEN", raising=False)
    code, _, err = run_cli(
        monkeypatch, capsys, "serve", run_id, "--host", "0.0.0.0", "--store", str(store)
    )
    assert code == 2 and "--token" in err
