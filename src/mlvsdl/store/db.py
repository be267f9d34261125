"""The run database: one SQLite file (stdlib ``sqlite3``, WAL) per store directory.

Tables: ``runs`` (one row per compare), ``candidates`` (one row per model family tried in a run,
whatever its outcome) and ``metrics`` (every metric of every candidate, per evaluation split).
Each write is its own transaction, so a kill at any moment leaves every finished candidate and a
readable database; a run killed mid-way keeps ``status = 'running'`` and is shown as unfinished.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from mlvsdl.errors import StoreError

__all__ = ["RUN_ID_PATTERN", "Database", "check_run_id"]

RUN_ID_PATTERN = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    task TEXT NOT NULL,
    metric TEXT NOT NULL,
    seed INTEGER NOT NULL,
    n_rows INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    schema_json TEXT NOT NULL,
    settings_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS candidates (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    name TEXT NOT NULL,
    family TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    val_score REAL,
    val_std REAL,
    test_score REAL,
    fit_time_s REAL,
    predict_time_s_per_1k REAL,
    model_bytes INTEGER,
    n_train_rows INTEGER,
    artifact TEXT,
    artifact_sha256 TEXT,
    details_json TEXT NOT NULL DEFAULT '{}',
    finished_at TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL,
    candidate TEXT NOT NULL,
    split TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (run_id, candidate, split, metric)
);
"""

CANDIDATE_FIELDS = (
    "name",
    "family",
    "kind",
    "status",
    "reason",
    "val_score",
    "val_std",
    "test_score",
    "fit_time_s",
    "predict_time_s_per_1k",
    "model_bytes",
    "n_train_rows",
    "artifact",
    "artifact_sha256",
    "details_json",
    "finished_at",
)


def check_run_id(run_id: str) -> str:
    """Return ``run_id`` if it is well formed; refuse anything that could name another path."""
    if not RUN_ID_PATTERN.match(run_id):
        raise StoreError(
            f"{run_id!r} is not a run id (expected e.g. 20260101-120000-1a2b3c); "
            "run 'mlvsdl runs' to list them."
        )
    return run_id


class Database:
    """Thin access to the run database; every public method is one transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(self.path, timeout=30)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open run database {self.path}: {exc}") from None
        with closing(conn):
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            with conn:  # commit on success, roll back on error
                yield conn

    def insert_run(self, row: dict[str, Any]) -> None:
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self._connect() as conn:
            conn.execute(f"INSERT INTO runs ({cols}) VALUES ({marks})", tuple(row.values()))

    def finish_run(self, run_id: str, status: str, finished_at: str | None) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE runs SET status = ?, finished_at = ? WHERE run_id = ?",
                (status, finished_at, run_id),
            )

    def insert_candidate(
        self, run_id: str, row: dict[str, Any], metrics: dict[str, dict[str, float]]
    ) -> None:
        """Record one candidate and its metrics (``{split: {metric: value}}``) atomically."""
        values = [row.get(f) for f in CANDIDATE_FIELDS]
        marks = ", ".join("?" for _ in ("run_id", *CANDIDATE_FIELDS))
        with self._connect() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO candidates (run_id, {', '.join(CANDIDATE_FIELDS)}) "
                f"VALUES ({marks})",
                (run_id, *values),
            )
            conn.executemany(
                "INSERT OR REPLACE INTO metrics VALUES (?, ?, ?, ?, ?)",
                [
                    (run_id, row["name"], split, key, value)
                    for split, scores in metrics.items()
                    for key, value in scores.items()
                ],
            )

    def runs(self) -> list[dict[str, Any]]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT r.*, (SELECT COUNT(*) FROM candidates c WHERE c.run_id = r.run_id "
                "AND c.status = 'completed') AS n_completed FROM runs r ORDER BY created_at DESC"
            ).fetchall()
        return [dict(r) for r in rows]

    def run(self, run_id: str) -> dict[str, Any]:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise StoreError(
                f"no run {run_id!r} in {self.path.parent}; run 'mlvsdl runs' to list them "
                "or pass --store."
            )
        out = dict(row)
        out["schema"] = json.loads(out.pop("schema_json"))
        out["settings"] = json.loads(out.pop("settings_json"))
        return out

    def candidates(
        self, run_id: str, *, refits: bool = True, ensembles: bool = True
    ) -> list[dict[str, Any]]:
        """The run's candidates in the order they ran; ``refits=False`` leaves out the models
        refitted on all rows (``--refit-all``), which have no validation or test score, and
        ``ensembles=False`` the ensembles of other candidates (``search/ensemble.py``)."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM candidates WHERE run_id = ? ORDER BY rowid", (run_id,)
            ).fetchall()
        out = []
        for r in rows:
            item = dict(r)
            item["details"] = json.loads(item.pop("details_json") or "{}")
            if not refits and "refit_of" in item["details"]:
                continue
            if not ensembles and "members" in item["details"]:
                continue
            out.append(item)
        return out

    def metrics(self, run_id: str) -> list[dict[str, Any]]:
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM metrics WHERE run_id = ?", (run_id,)).fetchall()
        return [dict(r) for r in rows]
