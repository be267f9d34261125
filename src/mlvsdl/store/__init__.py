"""The store: a directory holding ``mlvsdl.db`` and one artifact folder per run.

    <store>/mlvsdl.db                         runs, candidates, metrics (SQLite, WAL)
    <store>/runs/<run_id>/<candidate>.skops   fitted model, preprocessing included
    <store>/runs/<run_id>/<candidate>.json    its manifest: schema, seed, versions, data fingerprint

Everything downstream of a comparison (show, predict, report, serve, export) reads only this.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from mlvsdl.errors import StoreError
from mlvsdl.store.artifacts import load_estimator, save_estimator
from mlvsdl.store.db import Database, check_run_id

__all__ = ["DEFAULT_STORE", "Store", "resolve_store"]

DEFAULT_STORE = "mlvsdl-runs"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


def resolve_store(store: str | os.PathLike[str] | None) -> Path:
    """The store directory: the argument, else ``$MLVSDL_STORE``, else ``./mlvsdl-runs``."""
    if store is None:
        store = os.environ.get("MLVSDL_STORE") or DEFAULT_STORE
    return Path(store).expanduser()


class Store:
    def __init__(self, root: str | os.PathLike[str] | None = None, *, create: bool = True) -> None:
        self.root = resolve_store(root)
        db_path = self.root / "mlvsdl.db"
        if not create and not db_path.is_file():
            raise StoreError(
                f"no mlvsdl store at {self.root}; run 'mlvsdl compare' first or pass --store."
            )
        self.db = Database(db_path)

    def run_dir(self, run_id: str) -> Path:
        return self.root / "runs" / check_run_id(run_id)

    def artifact_path(self, run_id: str, name: str) -> Path:
        if not _NAME.match(name):
            raise StoreError(f"{name!r} is not a valid model name (letters, digits, _ . - only).")
        return self.run_dir(run_id) / f"{name}.skops"

    def save_model(
        self, run_id: str, name: str, estimator: Any, manifest: dict[str, Any]
    ) -> tuple[Path, str]:
        """Save a fitted model atomically; return its path and SHA-256."""
        path = self.artifact_path(run_id, name)
        return path, save_estimator(estimator, path, manifest)

    def load_model(self, run_id: str, name: str) -> Any:
        candidates = {c["name"]: c for c in self.db.candidates(check_run_id(run_id))}
        row = candidates.get(name)
        if row is None or row["status"] != "completed":
            usable = sorted(n for n, c in candidates.items() if c["status"] == "completed")
            raise StoreError(
                f"run {run_id} has no fitted model {name!r}; choose one of: "
                f"{', '.join(usable) or '(none)'}."
            )
        return load_estimator(self.artifact_path(run_id, name), row["artifact_sha256"])
