"""A stored run's data: as ``compare`` split it, and re-read later from the run's source.

The store keeps no copy of the data. Steps that need it after the run (``mlvsdl curves RUN``,
``mlvsdl explain RUN --row N``) re-read the original file or folder with the run's own read
options, and refuse it unless its fingerprint matches the one stored with the run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlvsdl.data import Splits
from mlvsdl.errors import StoreError
from mlvsdl.evaluate.metrics import Metric
from mlvsdl.store import Store
from mlvsdl.types import Schema

__all__ = ["RunData", "load_run_data", "read_options", "source_path"]


@dataclass(frozen=True, eq=False)
class RunData:
    """The data of a run as ``compare`` split it (raw inputs, target, splits)."""

    X: pd.DataFrame
    y: np.ndarray
    schema: Schema
    splits: Splits
    metric: Metric
    seed: int


def source_path(run: dict[str, Any]) -> Path:
    """The run's data file or folder; a file is checked to be the very one it was trained on."""
    source, run_id = str(run["source"]), run["run_id"]
    if source.startswith("<"):
        raise StoreError(
            f"run {run_id} was made from in-memory data and the store keeps no copy of it; "
            "trace curves during compare (curves=True) or pass the data explicitly."
        )
    path = Path(source)
    if not path.exists():
        raise StoreError(
            f"the data of run {run_id} ({source}) is gone; put it back at that path, or "
            "re-run 'mlvsdl compare --curves' on the data."
        )
    if path.is_file():
        _check_fingerprint(run, hashlib.sha256(path.read_bytes()).hexdigest())
    return path


def _check_fingerprint(run: dict[str, Any], fingerprint: str) -> None:
    if fingerprint != run["fingerprint"]:
        raise StoreError(
            f"{run['source']} changed since run {run['run_id']} was made (its fingerprint "
            "differs from the stored one); restore the original or run 'mlvsdl compare' again."
        )


def read_options(run: dict[str, Any]) -> dict[str, Any]:
    """The options the run read its data with (``names``, ``na_values``, ``label_from_name``)."""
    settings = run["settings"]
    options = {
        k: tuple(v) if isinstance(v, list) else v
        for k, v in (settings.get("read_options") or {}).items()
    }
    return {**options, "label_from_name": settings.get("label_from_name")}


def load_run_data(store: Store, run_id: str) -> RunData:
    """Re-read a stored run's data from its source and split it exactly as ``compare`` did."""
    from mlvsdl.compare import _plan  # the same reading, schema and splits as the run itself

    run = store.db.run(run_id)
    settings = run["settings"]
    schema = Schema.from_dict(run["schema"])
    plan = _plan(
        str(source_path(run)),
        run["target"],
        run["task"],
        run["metric"],
        None,
        int(settings["n_folds"]),
        float(settings["test_size"]),
        int(run["seed"]),
        read_options(run),
        str(schema.modality),
        settings.get("on_bad_file", "skip"),
        test=settings.get("test_file"),  # the user's test file (--test), read again
    )
    _check_fingerprint(run, plan.table.fingerprint)
    return RunData(plan.frame, plan.y, plan.schema, plan.splits, plan.metric, int(run["seed"]))
