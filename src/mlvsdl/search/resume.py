"""Opening a run: a new one, or a stored unfinished one continued (``compare --resume RUN``).

A run continues only on the same data and the same protocol: the data fingerprint and the
settings that decide every score (target, task, metric, seed, families, folds, test size) must
equal the stored ones. Every candidate already recorded (completed, failed or skipped) is kept;
the rest run under what is left of the time budget, counting the time the run had spent until its
last recorded candidate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlvsdl.errors import ConfigError
from mlvsdl.store import Store
from mlvsdl.store.db import check_run_id

__all__ = ["OpenedRun", "open_run"]

# Run-row fields and settings that must be equal for a run to continue, with their names in errors.
ROW_FIELDS = {
    "fingerprint": "data fingerprint",
    "target": "target",
    "task": "task",
    "metric": "metric",
    "seed": "seed",
}
SETTINGS_FIELDS = {"families": "families", "n_folds": "folds", "test_size": "test size"}


@dataclass
class OpenedRun:
    run_id: str
    done: set[str] = field(default_factory=set)  # candidates already recorded, kept as they are
    spent_s: float = 0.0  # seconds the run had used before it was resumed


def open_run(store: Store, row: dict[str, Any], resume: str | None) -> OpenedRun:
    """Insert ``row`` as a new run, or (``resume``) check it against the stored run and reopen it.

    Raises ConfigError naming every setting that differs, before anything is written.
    """
    if resume is None:
        store.db.insert_run(row)
        return OpenedRun(row["run_id"])
    stored = store.db.run(check_run_id(resume))
    if stored["status"] == "completed":
        raise ConfigError(f"run {resume} is already completed; there is nothing to resume.")
    differs = _differences(stored, row)
    if differs:
        raise ConfigError(
            f"cannot resume run {resume}: {'; '.join(differs)}. Resume with the same data and "
            "settings, or start a new run."
        )
    candidates = store.db.candidates(resume)
    store.db.finish_run(resume, "running", None)
    last = max((c["finished_at"] for c in candidates), default=stored["created_at"])
    spent = _seconds_between(stored["created_at"], last)
    return OpenedRun(resume, {c["name"] for c in candidates}, spent)


def _differences(stored: dict[str, Any], row: dict[str, Any]) -> list[str]:
    settings = json.loads(row["settings_json"])
    pairs = [(label, stored[key], row[key]) for key, label in ROW_FIELDS.items()]
    pairs += [
        (label, stored["settings"].get(key), settings.get(key))
        for key, label in SETTINGS_FIELDS.items()
    ]
    return [f"{label} was {then!r}, now {now!r}" for label, then, now in pairs if then != now]


def _seconds_between(start_iso: str, end_iso: str) -> float:
    delta = datetime.fromisoformat(end_iso) - datetime.fromisoformat(start_iso)
    return max(delta.total_seconds(), 0.0)
