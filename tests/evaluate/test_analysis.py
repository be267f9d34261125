"""The analysis step of compare: what it stores, how a failing section is kept apart, and how
a stored run's data is re-read (only when unchanged) to trace learning curves later."""

from __future__ import annotations

import time

import numpy as np
import pytest

from mlvsdl import compare
from mlvsdl.errors import StoreError
from mlvsdl.evaluate import analysis
from mlvsdl.evaluate.analysis import load_analysis, load_run_data, update_curves
from mlvsdl.report import write_report
from mlvsdl.store import Store
from tests.conftest import make_table

CHEAP = ["dummy", "linear"]


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("analysis")
    data = root / "table.csv"
    make_table(n=200).to_csv(data, index=False)
    result = compare(
        str(data), "y", families=CHEAP, cv=3, store=root / "store", time_budget=None, curves=True
    )
    return result, data


def test_compare_stores_every_cheap_section(csv_run):
    result, _ = csv_run
    doc = load_analysis(Store(result.store), result.run_id)
    assert doc["format"] == 1 and doc["errors"] == {}
    assert set(doc["costs"]) == set(doc["diagnostics"]) == {"dummy", "linear"}
    assert doc["costs"]["linear"]["latency_p50_ms"] > 0
    assert doc["importance"]["models"]["linear"]["native_method"].startswith("mean |coef")
    curves = doc["curves"]  # traced within the run: no time budget, so every seed
    assert curves["status"] == "done" and list(curves["models"]) == ["linear"]
    assert len({p["seed"] for p in curves["models"]["linear"]["points"]}) == 3
    assert curves["crossover"] is None  # one kind only
    variants = [r["variant"] for r in doc["engineering"]["rows"] if r["model"] == "linear"]
    assert variants[0].startswith("raw input") and "engineered features" in variants[1]
    confusion = np.asarray(doc["diagnostics"]["linear"]["confusion"])
    assert confusion.shape == (2, 2) and confusion.sum() == result.settings["n_test"]
    assert doc["overfitting"]["linear"]["gap"] is not None
    assert doc["recommendation"]["model"] == "linear" == result.recommendation.model
    assert doc["examples"]["models"]["linear"]["contributions"]
    assert result.report_path is not None and result.report_path.is_file()


def test_regression_gets_residual_histograms(tmp_path):
    result = compare(make_table(n=160, task="regression"), "y", families=CHEAP, cv=3,
                     store=tmp_path, time_budget=None)  # fmt: skip
    doc = load_analysis(Store(tmp_path), result.run_id)
    diag = doc["diagnostics"]["linear"]
    assert sum(diag["residual_counts"]) == diag["n_rows"] == result.settings["n_test"]
    assert np.asarray(diag["counts"]).sum() == diag["n_rows"]
    assert doc["recommendation"]["model"] == "linear"
    assert doc["curves"]["status"] == "not run" and "engineering" not in doc  # both refit
    page = result.report_path.read_text(encoding="utf-8")
    assert "Residuals: Linear" in page and "predicted value (y units)" in page
    assert "could not be drawn" not in page and "Confusion matrix" not in page
    with pytest.raises(StoreError, match="in-memory data"):  # the store keeps no copy of it
        load_run_data(Store(tmp_path), result.run_id)


def test_a_failing_section_is_recorded_and_the_others_are_kept(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(analysis, "error_diagnostics", broken)
    result = compare(make_table(n=80), "y", families=["dummy"], cv=3, store=tmp_path)
    doc = load_analysis(Store(tmp_path), result.run_id)
    assert doc["errors"] == {"diagnostics": "RuntimeError: boom"}
    assert "diagnostics" not in doc and "costs" in doc and doc["recommendation"]


def test_run_data_is_re_read_only_from_the_unchanged_file(csv_run, tmp_path):
    result, data = csv_run
    store = Store(result.store)
    again = load_run_data(store, result.run_id)
    assert len(again.splits.test) == result.settings["n_test"]
    assert len(again.X) == len(again.y) == 200
    moved = tmp_path / "moved.csv"
    moved.write_bytes(data.read_bytes())
    data.unlink()
    try:
        with pytest.raises(StoreError, match="is gone"):
            load_run_data(store, result.run_id)
        data.write_bytes(moved.read_bytes() + b"\n1,2,red,True,2024-01-01,no\n")
        with pytest.raises(StoreError, match="changed since run"):
            load_run_data(store, result.run_id)
    finally:
        data.write_bytes(moved.read_bytes())


def test_curves_can_be_traced_later_and_merge_into_the_analysis(csv_run):
    result, _ = csv_run
    store = Store(result.store)
    doc = update_curves(store, result.run_id, load_run_data(store, result.run_id), budget_s=60)
    curves = doc["curves"]
    assert curves["status"] == "done" and len(curves["sizes"]) >= 5
    assert "fit" in curves["models"]["linear"] and "dummy" not in curves["models"]
    stored = load_analysis(store, result.run_id)
    assert stored["curves"]["models"]["linear"]["at_current"] == pytest.approx(
        curves["models"]["linear"]["at_current"]
    )
    assert stored["costs"] and stored["recommendation"]["model"] == "linear"
    assert any("network" in c for c in stored["recommendation"]["changes"])


def test_past_the_budget_only_the_best_model_of_each_kind_is_measured(tmp_path):
    data = tmp_path / "table.csv"
    make_table(n=200).to_csv(data, index=False)
    families = ["dummy", "linear", "lgbm", "mlp", "resmlp"]
    result = compare(
        str(data), "y", families=families, cv=3, store=tmp_path / "s", time_budget=None
    )
    store = Store(result.store)
    full = load_analysis(store, result.run_id)
    assert set(full["costs"]) == set(families) and full["skipped"] == {}
    # the same run analysed again with no time left: past the deadline the best ML and the
    # best DL model (the two the report shows) are still measured, the others are listed
    late = analysis.analyse_run(
        store, result.run_id, load_run_data(store, result.run_id), {}, time_left_s=0.0
    )
    singles = store.db.candidates(result.run_id, refits=False, ensembles=False)
    ranked = sorted(
        (c for c in singles if c["status"] == "completed"), key=lambda c: -c["val_score"]
    )
    best = {kind: next(c["name"] for c in ranked if c["kind"] == kind) for kind in ("ml", "dl")}
    assert set(late["costs"]) == set(late["diagnostics"]) == set(best.values())
    assert sorted(late["skipped"]["costs"]) == sorted(set(families) - set(best.values()))
    page = write_report(store, result.run_id).read_text(encoding="utf-8")
    assert "Not profiled, to keep the time budget" in page


def test_the_budget_counts_from_when_the_command_started(tmp_path):
    # a command whose libraries and data took the whole budget to load trains nothing
    result = compare(make_table(n=80), "y", families=CHEAP, cv=3, store=tmp_path,
                     time_budget=30, started=time.monotonic() - 30)  # fmt: skip
    assert set(result.leaderboard["note"]) == {"time budget used up"}
