"""The store: a directory holding ``mlvsdl.db`` and one artifact folder per run.

    <store>/mlvsdl.db                         runs, candidates, metrics (SQLite, WAL)
    <store>/runs/<run_id>/<candidate>.skops   fitted model, preprocessing included
    <store>/runs/<run_id>/<candidate>.json    its manifest: schema, seed, versions, data fingerprint
    <store>/runs/<run_id>/<candidate>.oof.npy its out-of-fold validation predictions (float32),
                                              which ensembles are selected on

Everything downstream of a comparison (show, predict, report, serve, export) reads only this.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from mlvsdl.errors import StoreError
from mlvsdl.store.artifacts import load_estimator, save_estimator, write_bytes_atomic
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

    def save_oof(self, run_id: str, name: str, values: np.ndarray) -> tuple[str, str]:
        """Save a candidate's out-of-fold predictions (float32 ``.npy``, written atomically);
        return the file name and its SHA-256."""
        self.artifact_path(run_id, name)  # checks the name
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(values, dtype=np.float32), allow_pickle=False)
        data = buffer.getvalue()
        file = f"{name}.oof.npy"
        write_bytes_atomic(self.run_dir(run_id) / file, data)
        return file, hashlib.sha256(data).hexdigest()

    def load_oof(self, run_id: str, file: str, sha256: str) -> np.ndarray:
        """Out-of-fold predictions saved by :meth:`save_oof`; a changed file is refused."""
        path = self.run_dir(run_id) / Path(file).name
        if not path.is_file():
            raise StoreError(f"out-of-fold predictions {path} are missing.")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise StoreError(f"{path.name} was modified after it was written; refusing it.")
        return np.load(io.BytesIO(data), allow_pickle=False)
