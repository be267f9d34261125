"""``--refit-all``: the chosen model refitted on every row (training and test), for deployment.

The tested model stays as it was; the refit is stored beside it as ``<model>_all``, labelled,
never ranked, and with no test score, since its test rows are in its training data.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from mlvsdl.families.registry import all_families, get_family
from mlvsdl.search.record import now_iso, to_json
from mlvsdl.search.trial import limit_rows
from mlvsdl.store import Store
from mlvsdl.store.provenance import library_versions
from mlvsdl.tasks import get_task

__all__ = ["REFIT_SUFFIX", "refit_on_all_rows"]

REFIT_SUFFIX = "_all"


def refit_on_all_rows(store: Store, run_id: str, plan: Any, seed: int) -> str | None:
    """Refit the recommended (else the best) model's family on the training and test rows and
    store it as ``<model>_all``. Returns its name (None: the run has no ranked model)."""
    from mlvsdl.evaluate.analysis import load_analysis
    from mlvsdl.result import load_run

    board = load_run(run_id, store=store.root).leaderboard
    done = board[(board["status"] == "completed") & board["rank"].notna()]
    done = done[done["model"].isin({f.key for f in all_families()})]  # not an ensemble
    if done.empty:
        return None
    chosen = ((load_analysis(store, run_id) or {}).get("recommendation") or {}).get("model")
    name = chosen if chosen in set(done["model"]) else str(done.iloc[0]["model"])
    tested = done.set_index("model").loc[name]
    family = get_family(name)
    rows = limit_rows(np.arange(len(plan.frame)), family.max_train_rows, seed)
    estimator = family.build(plan.schema, random_state=seed)
    if "model__max_time_s" in estimator.get_params():  # a network: the tested fit's time, scaled
        scale = len(rows) / max(int(tested["n_train_rows"]), 1)
        estimator.set_params(model__max_time_s=max(5.0, 2 * float(tested["fit_time_s"]) * scale))
    y = None if plan.y is None else plan.y[rows]
    start = time.perf_counter()
    get_task(plan.schema.task).fit(estimator, plan.frame.iloc[rows], y)
    fit_time_s = time.perf_counter() - start
    refit_name = f"{name}{REFIT_SUFFIX}"
    manifest = {
        "run_id": run_id,
        "model": refit_name,
        "refit_of": name,
        "kind": str(family.kind),
        "seed": seed,
        "schema": plan.schema.to_dict(),
        "data_fingerprint": plan.table.fingerprint,
        "versions": library_versions(),
        "created_at": now_iso(),
    }
    path, sha256 = store.save_model(run_id, refit_name, estimator, manifest)
    subsample = (
        f" (a seeded subsample of {len(plan.frame):,})" if len(rows) < len(plan.frame) else ""
    )
    row = {
        "name": refit_name,
        "family": family.key,
        "kind": str(family.kind),
        "status": "completed",
        "reason": f"{name} refitted on all {len(rows):,} rows{subsample}, training and test, for "
        "deployment; not ranked and no test score: the test rows are in its training data",
        "fit_time_s": fit_time_s,
        "model_bytes": path.stat().st_size,
        "n_train_rows": len(rows),
        "artifact": path.name,
        "artifact_sha256": sha256,
        "details_json": to_json({"refit_of": name}),
        "finished_at": now_iso(),
    }
    store.db.insert_candidate(run_id, row, {})
    return refit_name
