"""Stable JSON documents for scripts: ``mlvsdl runs|show|families --json``.

The keys are documented in the README and only ever added to, never renamed or removed. Missing
numbers are ``null``; nothing is shortened to fit a terminal.
"""

from __future__ import annotations

import math
from typing import Any

from mlvsdl.families.base import Family
from mlvsdl.result import CompareResult

__all__ = ["families_document", "run_document", "runs_document"]

LEADERBOARD_KEYS = (
    "rank",
    "model",
    "title",
    "kind",
    "status",
    "val_score",
    "val_std",
    "test_score",
    "fit_time_s",
    "predict_time_s_per_1k",
    "model_bytes",
    "n_train_rows",
    "note",
)


def _plain(value: Any) -> Any:
    """numpy and pandas scalars as JSON values; NaN and NA as None."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    try:
        if value != value or (isinstance(value, float) and math.isinf(value)):
            return None
    except (TypeError, ValueError):  # pandas NA refuses comparison
        return None
    return value


def _status(status: str) -> str:
    return "unfinished" if status == "running" else status


def runs_document(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One object per run, newest first (``mlvsdl runs --json``)."""
    return [
        {
            "run_id": r["run_id"],
            "created_at": r["created_at"],
            "finished_at": r.get("finished_at"),
            "status": _status(r["status"]),
            "source": r["source"],
            "target": r["target"],
            "task": r["task"],
            "metric": r["metric"],
            "n_rows": r["n_rows"],
            "n_models": r["n_completed"],
        }
        for r in rows
    ]


def run_document(result: CompareResult) -> dict[str, Any]:
    """A run's schema and leaderboard (``mlvsdl show RUN --json``)."""
    completed = (result.leaderboard["status"] == "completed").any()
    schema = result.schema
    return {
        "run_id": result.run_id,
        "status": _status(result.status),
        "source": result.source,
        "target": schema.target,
        "task": str(schema.task),
        "metric": result.metric,
        "modality": str(schema.modality),
        "n_rows": schema.n_rows,
        "classes": [_plain(c) for c in schema.classes] if schema.classes is not None else None,
        "best_model": result.best_model_name if completed else None,
        "columns": [
            {
                "name": c.name,
                "kind": str(c.kind),
                "used": c.used,
                "missing_fraction": c.missing_fraction,
                "reason": c.reason,
            }
            for c in schema.columns
        ],
        "warnings": list(schema.notes),
        "leaderboard": [
            {key: _plain(row.get(key)) for key in LEADERBOARD_KEYS}
            for row in result.leaderboard.to_dict("records")
        ],
    }


def families_document(items: list[Family]) -> list[dict[str, Any]]:
    """One object per registered family (``mlvsdl families --json``)."""
    return [
        {
            "key": f.key,
            "title": f.title,
            "kind": str(f.kind),
            "tasks": sorted(map(str, f.tasks)),
            "modalities": sorted(map(str, f.modalities)),
            "interpretable": bool(f.interpretable),
            "description": f.description,
        }
        for f in items
    ]
