"""End-to-end: compare on a DataFrame, the store, load_run, reproducibility, failures, kills."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from mlvsdl import compare, load_run
from mlvsdl.families import registry
from mlvsdl.families.base import Family
from mlvsdl.types import SUPERVISED, Kind, Modality, Task
from tests.conftest import make_table

FAST = ["dummy", "linear", "lgbm", "mlp"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    store = tmp_path_factory.mktemp("store")
    return compare(make_table(n=200), target="y", families=FAST, cv=3, store=store, seed=0)


def test_leaderboard_ranks_ml_and_dl(run):
    board = run.leaderboard
    for col in (
        "model",
        "kind",
        "status",
        "val_score",
        "test_score",
        "fit_time_s",
        "predict_time_s_per_1k",
        "model_bytes",
    ):
        assert col in board.columns
    # the ensembles within ML and across both kinds (one network: no ensemble within DL)
    assert set(board["model"]) == {*FAST, "ensemble_ml", "ensemble_all"}
    assert set(board["kind"]) == {"ml", "dl", "ml+dl"}
    assert (board["status"] == "completed").all()
    scores = board["val_score"].tolist()
    assert scores == sorted(scores, reverse=True)  # ROC AUC: higher first
    assert board.loc[board["model"] == "dummy", "val_score"].item() == pytest.approx(0.5)
    assert (board["model_bytes"] > 0).all()


def test_best_model_takes_raw_dataframes(run):
    new = make_table(n=30, seed=9).drop(columns="y")
    assert set(run.best_model.predict(new)) <= {"yes", "no"}
    proba = run.best_model.predict_proba(new)
    assert proba.shape == (30, 2)
    preds = run.predict(new, model="mlp")
    assert list(preds.columns) == ["prediction", "proba_no", "proba_yes"]


def test_load_run_gives_the_same_result(run):
    again = load_run(run.run_id, store=run.store)
    pd.testing.assert_frame_equal(again.leaderboard, run.leaderboard)
    new = make_table(n=30, seed=9).drop(columns="y")
    for name in FAST:
        np.testing.assert_array_equal(
            again.models[name].predict_proba(new), run.models[name].predict_proba(new)
        )
    assert again.schema == run.schema and again.status == "completed"


def test_same_seed_same_scores(run, tmp_path):
    again = compare(make_table(n=200), target="y", families=FAST, cv=3, store=tmp_path, seed=0)
    cols = ["model", "val_score", "val_std", "test_score"]
    pd.testing.assert_frame_equal(again.leaderboard[cols], run.leaderboard[cols])


def test_regression_and_multiclass(tmp_path):
    reg = compare(
        make_table(n=200, task="regression"),
        "y",
        families=["dummy", "linear"],
        cv=3,
        store=tmp_path,
    )
    assert reg.schema.task is Task.REGRESSION and reg.metric == "rmse"
    board = reg.leaderboard.set_index("model")
    assert board.loc["linear", "val_score"] < board.loc["dummy", "val_score"]  # lower is better
    multi = compare(
        make_table(n=200, task="multiclass"), "y", families=["dummy", "lgbm"], cv=3, store=tmp_path
    )
    assert multi.schema.task is Task.MULTICLASS and multi.metric == "accuracy"
    assert multi.best_model_name == "lgbm"


def _boom(schema, seed):
    raise RuntimeError("this family always fails")


def test_failing_family_is_recorded_and_run_goes_on(tmp_path, monkeypatch):
    broken = Family(
        "broken",
        "Broken",
        Kind.ML,
        SUPERVISED,
        frozenset({Modality.TABULAR}),
        _boom,
        relative_cost=0.001,
    )
    monkeypatch.setitem(registry._FAMILIES, "broken", broken)
    result = compare(make_table(n=120), "y", families=["broken", "dummy"], cv=3, store=tmp_path)
    board = result.leaderboard.set_index("model")
    assert board.loc["broken", "status"] == "failed"
    assert "always fails" in board.loc["broken", "note"]
    assert board.loc["dummy", "status"] == "completed"
    assert result.best_model_name == "dummy"


def test_budget_skips_with_reason(tmp_path):
    result = compare(
        make_table(n=200),
        "y",
        families=["dummy", "linear", "lgbm"],
        cv=3,
        store=tmp_path,
        time_budget=0.001,
    )
    board = result.leaderboard.set_index("model")
    assert (board["status"] == "skipped").sum() >= 2
    assert board.loc[board["status"] == "skipped", "note"].str.contains("budget").all()


def test_kill_9_keeps_finished_candidates(tmp_path):
    data = tmp_path / "t.csv"
    make_table(n=3000).to_csv(data, index=False)
    store = tmp_path / "store"
    script = textwrap.dedent(f"""
        from mlvsdl import compare
        compare({str(data)!r}, "y", families=["dummy", "linear", "lgbm", "random_forest",
                "mlp", "resmlp"], cv=5, store={str(store)!r}, time_budget=600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ})
    db = store / "mlvsdl.db"
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db) as conn:
                    done = conn.execute("SELECT COUNT(*) FROM candidates").fetchone()[0]
            except sqlite3.OperationalError:  # the tables are being created right now
                done = 0
            if done >= 2:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(db) as conn:  # readable
        run_id, status = conn.execute("SELECT run_id, status FROM runs").fetchone()
    assert status == "running"  # shown as unfinished
    result = load_run(run_id, store=store)
    finished = result.leaderboard[result.leaderboard["status"] == "completed"]
    assert len(finished) >= 2
    new = make_table(n=10, seed=3).drop(columns="y")
    for name in finished["model"]:
        assert len(result.models[name].predict(new)) == 10


def test_holdout_validation_reports_a_bootstrap_spread(tmp_path):
    result = compare(make_table(n=300), "y", families=["dummy", "linear"], cv=1, store=tmp_path)
    assert result.settings["n_folds"] == 1
    linear = result.leaderboard.set_index("model").loc["linear"]
    assert linear["val_std"] > 0  # from bootstrap resamples of the one validation fold


def test_families_leave_part_of_the_budget_for_the_analysis_and_report():
    from mlvsdl.compare import _family_budget_s

    assert _family_budget_s(None, curves=False) is None
    assert _family_budget_s(120, curves=False) == pytest.approx(120 - 18)  # 15 %
    assert _family_budget_s(30, curves=False) == pytest.approx(20)  # at least 10 s
    assert _family_budget_s(1000, curves=False) == pytest.approx(910)  # at most 90 s
    assert _family_budget_s(4, curves=False) == pytest.approx(2)  # at most half
    assert _family_budget_s(100, curves=True) == pytest.approx(70)  # the curves' share covers it


def test_validation_folds_follow_size_and_what_a_row_costs():
    from mlvsdl.plan import auto_folds as _auto_folds
    from mlvsdl.types import Modality

    assert [_auto_folds(n) for n in (10_000, 50_000, 100_000)] == [5, 3, 1]
    text = [_auto_folds(n, Modality.TEXT) for n in (1_500, 5_000, 10_000)]
    assert text == [5, 3, 1]  # a 10k-text run trains each family once, on a holdout
    assert _auto_folds(10_000, Modality.IMAGE) == 1
