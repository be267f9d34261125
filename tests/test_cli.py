"""The command line as a user runs it: exit codes, one-line errors, nothing half-written."""

from __future__ import annotations

import sqlite3
import sys
import time

import pandas as pd
import pytest
from rich.console import Console

from mlvsdl import cli
from mlvsdl.cli import main
from tests.conftest import make_table

FAST = ["--families", "dummy,linear,lgbm", "--cv", "3", "--time-budget", "120"]


def run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["mlvsdl", *args])
    monkeypatch.setattr(cli, "console", Console(width=200))
    monkeypatch.setattr(cli, "err_console", Console(width=400, stderr=True))
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def _runs_in(store) -> int:
    db = store / "mlvsdl.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]


@pytest.fixture()
def table_csv(tmp_path):
    path = tmp_path / "table.csv"
    make_table(n=150).to_csv(path, index=False)
    return path


def test_compare_show_runs_predict(monkeypatch, capsys, tmp_path, table_csv, store):
    code, out, err = run_cli(
        monkeypatch,
        capsys,
        "compare",
        str(table_csv),
        "--target",
        "y",
        *FAST,
        "--store",
        str(store),
    )
    assert code == 0, err
    assert "Leaderboard" in out and "LightGBM" in out and "Dummy baseline" in out
    assert "flag" in out and "boolean" in out  # the schema is shown

    code, out, _ = run_cli(monkeypatch, capsys, "runs", "--store", str(store))
    assert code == 0 and "completed" in out

    code, out, _ = run_cli(monkeypatch, capsys, "show", "latest", "--store", str(store))
    assert code == 0 and "Leaderboard" in out and "Schema" in out

    new_rows = tmp_path / "new.csv"
    make_table(n=20, seed=5).drop(columns="y").to_csv(new_rows, index=False)
    out_csv = tmp_path / "pred.csv"
    code, _, err = run_cli(
        monkeypatch,
        capsys,
        "predict",
        "latest",
        str(new_rows),
        "-o",
        str(out_csv),
        "--store",
        str(store),
    )
    assert code == 0, err
    predictions = pd.read_csv(out_csv)
    assert len(predictions) == 20
    assert set(predictions["prediction"]) <= {"yes", "no"}
    assert {"proba_no", "proba_yes"} <= set(predictions.columns)

    code, out, _ = run_cli(
        monkeypatch,
        capsys,
        "predict",
        "latest",
        str(new_rows),
        "--model",
        "dummy",
        "--store",
        str(store),
    )
    assert code == 0 and out.startswith("prediction,")


def test_families_lists_ml_and_dl(monkeypatch, capsys):
    code, out, _ = run_cli(monkeypatch, capsys, "families")
    assert code == 0
    for key in (
        "dummy",
        "linear",
        "knn",
        "naive_bayes",
        "decision_tree",
        "random_forest",
        "lgbm",
        "mlp",
        "resmlp",
    ):
        assert key in out
    assert "DL" in out and "ML" in out


def test_help_exits_zero(monkeypatch, capsys):
    code, out, _ = run_cli(monkeypatch, capsys, "--help")
    assert code == 0 and "compare" in out


def test_unknown_option_is_a_usage_error_not_a_traceback(monkeypatch, capsys):
    code, out, err = run_cli(monkeypatch, capsys, "compare", "data.csv", "--budget", "60")
    assert code == 2
    assert "No such option: --budget" in err
    assert "Traceback" not in out + err


def _bad(tmp_path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


BAD_INPUTS = {
    "missing file": (lambda p: str(p / "nope.csv"), [], "not found"),
    "empty file": (lambda p: _bad(p, "empty.csv", b""), [], "empty"),
    "header only": (lambda p: _bad(p, "header.csv", b"a,b,y\n"), [], "no data rows"),
    "unsupported format": (lambda p: _bad(p, "data.xlsx", b"PK"), [], "unsupported"),
    "unreadable parquet": (lambda p: _bad(p, "bad.parquet", b"garbage"), [], "parquet"),
    "unknown target": (None, ["--target", "yy"], "did you mean"),
    "target all missing": (lambda p: _bad(p, "nan.csv", b"a,y\n1,\n2,\n3,\n"), [], "missing"),
    "one class": (
        lambda p: _bad(p, "one.csv", b"a,y\n" + b"".join(b"%d,x\n" % i for i in range(50))),
        [],
        "class",
    ),
    "too few rows": (
        lambda p: _bad(p, "few.csv", b"a,y\n1.5,p\n0.5,q\n1.5,p\n2.5,q\n0.5,p\n2.5,q\n"),
        [],
        "at least",
    ),
    "unknown family": (None, ["--families", "lgbmm"], "did you mean 'lgbm'"),
    "bad metric": (None, ["--metric", "rmse"], "does not apply"),
    "bad task": (None, ["--task", "clustering"], "binary"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gives_one_line_exit_2_and_no_run(
    case, monkeypatch, capsys, tmp_path, table_csv, store
):
    make_path, extra, words = BAD_INPUTS[case]
    data = make_path(tmp_path) if make_path else str(table_csv)
    args = ["compare", data, "--target", "y", "--families", "dummy", "--store", str(store)]
    for i in range(0, len(extra), 2):  # later options override earlier ones
        if extra[i] in args:
            args[args.index(extra[i]) + 1] = extra[i + 1]
        else:
            args += extra[i : i + 2]
    code, out, err = run_cli(monkeypatch, capsys, *args)
    assert code == 2, (out, err)
    assert "Traceback" not in err + out
    message = err.strip()
    assert message.startswith("error:") and len(message.splitlines()) == 1, message
    assert words.lower() in message.lower(), message
    assert _runs_in(store) == 0


def test_predict_with_missing_columns_is_a_clear_error(
    monkeypatch, capsys, tmp_path, table_csv, store
):
    assert (
        run_cli(
            monkeypatch,
            capsys,
            "compare",
            str(table_csv),
            "--target",
            "y",
            "--families",
            "dummy,linear",
            "--cv",
            "3",
            "--store",
            str(store),
        )[0]
        == 0
    )
    bad = tmp_path / "bad.csv"
    make_table(n=10).drop(columns=["y", "colour"]).to_csv(bad, index=False)
    code, _, err = run_cli(
        monkeypatch, capsys, "predict", "latest", str(bad), "--store", str(store)
    )
    assert code == 2 and "colour" in err and len(err.strip().splitlines()) == 1


def test_unknown_run_is_a_clear_error(monkeypatch, capsys, store):
    store.mkdir()
    code, _, err = run_cli(
        monkeypatch, capsys, "show", "20260101-000000-abcdef", "--store", str(store)
    )
    assert code == 2 and "no mlvsdl store" in err
    code, _, err = run_cli(monkeypatch, capsys, "show", "../../etc", "--store", str(store))
    assert code == 2


def test_mlflow_and_ray_may_be_given_without_a_value():
    from mlvsdl.cli import fill_optional_values

    assert fill_optional_values(["compare", "d.csv", "--mlflow"]) == [
        "compare", "d.csv", "--mlflow", "store",
    ]  # fmt: skip
    assert fill_optional_values(["compare", "d.csv", "--ray", "--seed", "1"]) == [
        "compare", "d.csv", "--ray", "local", "--seed", "1",
    ]  # fmt: skip
    given = ["compare", "d.csv", "--ray", "auto", "--mlflow", "sqlite:////x.db"]
    assert fill_optional_values(given) == given


def test_the_first_command_counts_loading_the_libraries_in_its_budget(monkeypatch):
    from mlvsdl import _clock

    monkeypatch.setattr(_clock, "_load_s", 5.0)  # loading took 5 s
    monkeypatch.setattr(_clock, "_claimed", False)
    first = _clock.command_started()
    assert time.monotonic() - first == pytest.approx(5.0, abs=0.5)
    later = _clock.command_started()  # a second command in one process: from its own start
    assert time.monotonic() - later < 0.5
