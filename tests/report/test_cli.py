"""The report, curves and explain commands, and the end of compare, as a user runs them."""

from __future__ import annotations

import pytest

from mlvsdl import compare
from mlvsdl.evaluate.analysis import load_analysis
from mlvsdl.store import Store
from tests.conftest import make_table
from tests.test_cli import run_cli


def test_compare_ends_with_the_recommendation_and_the_report(monkeypatch, capsys, tmp_path):
    data = tmp_path / "t.csv"
    make_table(n=150).to_csv(data, index=False)
    code, out, err = run_cli(
        monkeypatch, capsys, "compare", str(data), "--target", "y", "--families",
        "dummy,linear", "--cv", "3", "--store", str(tmp_path / "s"),
    )  # fmt: skip
    assert code == 0, err
    assert "Recommendation: use Linear" in out
    assert "What it costs:" in out and "What would change it:" in out
    report = out.split("Report: ")[1].split()[0]
    assert report.endswith("report.html") and (tmp_path / "s").exists()


def test_report_command_writes_where_asked(monkeypatch, capsys, reported_run, tmp_path):
    result, _ = reported_run
    target = tmp_path / "out" / "r.html"
    code, out, err = run_cli(
        monkeypatch, capsys, "report", result.run_id, "-o", str(target), "--store",
        str(result.store),
    )  # fmt: skip
    assert code == 0, err
    assert target.is_file() and "<svg" in target.read_text(encoding="utf-8")
    assert str(target) in out.replace("\n", "")


def test_explain_a_row_of_the_runs_own_data(monkeypatch, capsys, reported_run):
    result, _ = reported_run
    store = str(result.store)
    code, out, err = run_cli(monkeypatch, capsys, "explain", result.run_id, "--row", "4",
                             "--model", "linear", "--store", store)  # fmt: skip
    assert code == 0, err
    assert "Row 4: linear predicts" in out and "coefficient x input" in out
    assert "x1" in out and "colour" in out
    code, out, err = run_cli(monkeypatch, capsys, "explain", "latest", "--row", "9999",
                             "--store", store)  # fmt: skip
    assert code == 2 and "out of range" in err


def test_explain_rows_of_a_given_file(monkeypatch, capsys, reported_run, tmp_path):
    result, _ = reported_run
    rows = tmp_path / "new.csv"
    make_table(n=5, seed=7).drop(columns="y").to_csv(rows, index=False)
    code, out, err = run_cli(monkeypatch, capsys, "explain", result.run_id, "--data", str(rows),
                             "--row", "2", "--model", "mlp", "--top", "3",
                             "--store", str(result.store))  # fmt: skip
    assert code == 0, err
    assert "integrated gradients" in out


@pytest.fixture()
def cheap_csv_run(tmp_path):
    data = tmp_path / "t.csv"
    make_table(n=160).to_csv(data, index=False)
    result = compare(str(data), "y", families=["linear"], cv=3, store=tmp_path / "s")
    return result, data


def test_curves_command_traces_curves_later(monkeypatch, capsys, cheap_csv_run):
    result, data = cheap_csv_run
    code, out, err = run_cli(monkeypatch, capsys, "curves", "latest", "--time-budget", "60",
                             "--store", str(result.store))  # fmt: skip
    assert code == 0, err
    assert "Learning curves" in out and "Linear" in out and "Report:" in out
    doc = load_analysis(Store(result.store), result.run_id)
    assert doc["curves"]["status"] == "done"
    assert "Learning curves were not computed" not in result.report_path.read_text()
    data.write_text(data.read_text() + "0,0,red,True,2024-01-01,no\n")
    code, _, err = run_cli(monkeypatch, capsys, "curves", result.run_id,
                           "--store", str(result.store))  # fmt: skip
    assert code == 2 and "changed since run" in err
