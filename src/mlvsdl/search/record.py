"""Writing one finished trial to the store, and the small helpers runs are recorded with.

The artifact is written first, then the row that points to it, so a row never dangles: a run
killed between the two leaves an unreferenced file, never a candidate without its model.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import numpy as np

from mlvsdl.families.base import Family
from mlvsdl.search.trial import TrialResult
from mlvsdl.store import Store
from mlvsdl.store.provenance import hardware, library_versions
from mlvsdl.types import Schema

__all__ = ["hardware", "now_iso", "record_trial", "to_json"]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def record_trial(
    store: Store,
    run_id: str,
    *,
    schema: Schema,
    fingerprint: str,
    metric: str,
    family: Family,
    result: TrialResult,
    seed: int,
    base: dict[str, Any],
    measured: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the artifact first, then the row that points to it (so a row never dangles)."""
    row: dict[str, Any] = {**base, "status": result.status, "reason": result.reason}
    if result.status == "completed":
        manifest = {
            "run_id": run_id,
            "model": family.key,
            "kind": str(family.kind),
            "seed": seed,
            "schema": schema.to_dict(),
            "data_fingerprint": fingerprint,
            "versions": library_versions(),
            "created_at": now_iso(),
        }
        path, sha256 = store.save_model(run_id, family.key, result.estimator, manifest)
        details = {"fold_scores": result.fold_scores, "subsampled": result.subsampled}
        details |= measured or {}
        if result.oof is not None:
            oof_file, oof_sha = store.save_oof(run_id, family.key, result.oof)
            details["oof"] = {"file": oof_file, "sha256": oof_sha}
        row.update(
            val_score=result.val_score,
            val_std=result.val_std,
            test_score=result.score("test", metric),
            fit_time_s=result.fit_time_s,
            predict_time_s_per_1k=result.predict_time_s_per_1k,
            model_bytes=path.stat().st_size,
            n_train_rows=result.n_train_rows,
            artifact=path.name,
            artifact_sha256=sha256,
            details_json=to_json(details | _network_details(result.estimator)),
        )
        notes = list(result.notes)
        if result.subsampled:
            notes.insert(
                0,
                f"trained on a seeded subsample of {result.n_train_rows:,} of "
                f"{result.n_available_rows:,} training rows",
            )
        if notes:
            row["reason"] = "; ".join(notes)
    row["finished_at"] = now_iso()
    store.db.insert_candidate(run_id, row, result.metrics)
    return row


def _network_details(estimator: Any) -> dict[str, Any]:
    model = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    out: dict[str, Any] = {}
    for attr in ("n_params_", "best_epoch_", "stop_reason_", "history_", "device_"):
        if hasattr(model, attr):
            out[attr.rstrip("_")] = getattr(model, attr)
    return out


def to_json(value: Any) -> str:
    return json.dumps(value, default=_json_default)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
