"""compare --resume: a run killed with SIGKILL continues to the leaderboard of an unbroken run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from mlvsdl import compare
from mlvsdl.errors import ConfigError
from tests.conftest import make_table
from tests.test_cli import run_cli

FAMILIES = ["dummy", "naive_bayes", "linear", "decision_tree", "lgbm", "random_forest"]
COLUMNS = ["model", "status", "val_score", "val_std", "test_score"]


def _board(result):
    return result.leaderboard[COLUMNS].sort_values("model").reset_index(drop=True)


def _kill_after(store, script: str, n_candidates: int) -> str:
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ})
    db = store / "mlvsdl.db"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with sqlite3.connect(db) as conn:
                done = conn.execute("SELECT COUNT(*) FROM candidates").fetchone()[0]
        except sqlite3.OperationalError:  # no database or tables yet
            done = 0
        if done >= n_candidates:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(db) as conn:
        run_id, status = conn.execute("SELECT run_id, status FROM runs").fetchone()
        done = conn.execute("SELECT COUNT(*) FROM candidates").fetchone()[0]
    assert status == "running" and n_candidates <= done < len(FAMILIES)
    return run_id


def test_a_killed_run_resumes_to_the_leaderboard_of_an_unbroken_run(tmp_path):
    data = tmp_path / "t.csv"
    make_table(n=1200).to_csv(data, index=False)
    store = tmp_path / "store"
    options = dict(families=FAMILIES, cv=3, time_budget=None, seed=3)
    script = textwrap.dedent(f"""
        from mlvsdl import compare
        compare({str(data)!r}, "y", store={str(store)!r}, **{options!r})
    """)
    run_id = _kill_after(store, script, 2)
    resumed = compare(str(data), "y", store=store, resume=run_id, **options)
    assert resumed.run_id == run_id and resumed.status == "completed"
    assert resumed.report_path is not None and resumed.report_path.is_file()
    unbroken = compare(str(data), "y", store=tmp_path / "other", **options)
    assert _board(resumed).equals(_board(unbroken))


def test_resume_refuses_other_data_or_settings_in_one_line(tmp_path, monkeypatch, capsys):
    frame = make_table(n=150)
    store = tmp_path / "store"
    run = compare(frame, "y", families=["dummy", "linear"], cv=2, store=store, time_budget=None)
    with sqlite3.connect(store / "mlvsdl.db") as conn:  # as a killed run leaves it
        conn.execute("UPDATE runs SET status = 'running'")
    with pytest.raises(ConfigError, match=r"seed was 0, now 1; folds was 2, now 3"):
        compare(
            frame, "y", families=["dummy", "linear"], cv=3, seed=1, store=store, resume=run.run_id
        )
    data = tmp_path / "other.csv"
    make_table(n=150, seed=5).to_csv(data, index=False)
    code, _, err = run_cli(
        monkeypatch, capsys, "compare", str(data), "-t", "y", "--families", "dummy,linear",
        "--cv", "2", "--store", str(store), "--resume", run.run_id,
    )  # fmt: skip
    assert code == 2
    assert "data fingerprint was" in err and len(err.strip().splitlines()) == 1
