"""One portable file per model: ``write_bundle`` from the store, ``load_model`` without it.

A bundle is a zip archive (nothing in it is ever extracted to disk) with three members:

    manifest.json     format, version, run id, model name, schema, reference values, library
                      versions and ``model_sha256``, the SHA-256 of model.skops
    model.skops       the fitted pipeline exactly as the store holds it (skops, never pickle)
    checksum.sha256   the SHA-256 of manifest.json

Loading checks both checksums, so a bundle whose model or manifest changed after it was written
is refused, then loads the model with the store's own loader (``store/artifacts.py``): only
types from mlvsdl, scikit-learn, LightGBM and NumPy are rebuilt and nothing in the file runs
as code. The checksums detect corruption and edits; they are not signatures (whoever can
write the file can rewrite them), which is why the trusted-type check is what makes loading safe.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from mlvsdl.errors import StoreError
from mlvsdl.result import load_run, predict_frame
from mlvsdl.store import Store
from mlvsdl.store.artifacts import load_estimator, write_bytes_atomic
from mlvsdl.store.db import check_run_id
from mlvsdl.store.provenance import library_versions
from mlvsdl.types import Schema

__all__ = ["BUNDLE_FORMAT", "BundledModel", "load_model", "write_bundle"]

BUNDLE_FORMAT = "mlvsdl-bundle"
BUNDLE_VERSION = 1
MAX_MEMBER_BYTES = 2 * 1024**3  # refuse archive members claiming more than 2 GiB
_MANIFEST, _MODEL, _CHECKSUM = "manifest.json", "model.skops", "checksum.sha256"


@dataclass(frozen=True)
class BundledModel:
    """A model loaded from a bundle: the fitted pipeline plus what it was trained on."""

    name: str
    run_id: str
    estimator: Any
    schema: Schema
    reference: dict[str, Any]
    manifest: dict[str, Any]

    def predict(self, data: Any, **read_options: Any) -> pd.DataFrame:
        """Predictions (and ``proba_<class>`` columns) for a DataFrame or a file path."""
        return predict_frame(self.estimator, self.schema, data, **read_options)


def write_bundle(
    run_id: str,
    path: str | os.PathLike[str],
    *,
    store: str | os.PathLike[str] | None = None,
    model: str | None = None,
) -> tuple[Path, str]:
    """Write ``model`` (default: the best) of run ``run_id`` as one bundle file.

    The stored artifact is loaded first (checksum and trusted types checked), so a bundle is
    never made from a refused file. Returns the path and the model name.
    """
    result = load_run(check_run_id(run_id), store=store)
    name = model or result.best_model_name
    if name not in result.models:
        raise StoreError(
            f"run {run_id} has no fitted model {name!r}; choose one of: {', '.join(result.models)}."
        )
    _ = result.models[name]  # loads the artifact: checksum and trusted types verified
    db_store = Store(result.store, create=False)
    data = db_store.artifact_path(run_id, name).read_bytes()
    manifest = {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "run_id": run_id,
        "model": name,
        "schema": result.schema.to_dict(),
        "reference": result.settings.get("reference") or {},
        "metric": result.metric,
        "versions": library_versions(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model_sha256": hashlib.sha256(data).hexdigest(),
    }
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True, default=str).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(_MANIFEST, manifest_bytes)
        archive.writestr(_MODEL, data)
        archive.writestr(_CHECKSUM, hashlib.sha256(manifest_bytes).hexdigest())
    out = Path(path)
    write_bytes_atomic(out, buffer.getvalue())
    return out, name


def load_model(path: str | os.PathLike[str]) -> BundledModel:
    """Load a bundle written by ``mlvsdl export --format bundle``, without any store.

    Raises:
        StoreError: the file is missing, not a bundle, changed since it was written, or holds
            types mlvsdl does not trust.
    """
    source = Path(path)
    if not source.is_file():
        raise StoreError(
            f"no bundle at {source}; write one with 'mlvsdl export RUN --format bundle'."
        )
    members = _read_members(source)
    manifest_bytes, data = members[_MANIFEST], members[_MODEL]
    if hashlib.sha256(manifest_bytes).hexdigest() != members[_CHECKSUM].decode(errors="replace"):
        raise StoreError(
            f"{source.name}: the manifest was modified (checksum mismatch); refusing it."
        )
    manifest = _parse_manifest(manifest_bytes, source)
    with tempfile.TemporaryDirectory(prefix="mlvsdl-bundle-") as tmp:
        model_path = Path(tmp) / f"{source.stem}.skops"
        model_path.write_bytes(data)
        estimator = load_estimator(model_path, str(manifest["model_sha256"]))
    return BundledModel(
        name=str(manifest["model"]),
        run_id=str(manifest["run_id"]),
        estimator=estimator,
        schema=Schema.from_dict(manifest["schema"]),
        reference=dict(manifest.get("reference") or {}),
        manifest=manifest,
    )


def _read_members(source: Path) -> dict[str, bytes]:
    """The three members' bytes, refusing non-zips, missing members and oversized claims."""
    try:
        with zipfile.ZipFile(source) as archive:
            infos = {info.filename: info for info in archive.infolist()}
            missing = [m for m in (_MANIFEST, _MODEL, _CHECKSUM) if m not in infos]
            if missing:
                raise StoreError(
                    f"{source.name} is not an mlvsdl bundle (missing {', '.join(missing)})."
                )
            if any(infos[m].file_size > MAX_MEMBER_BYTES for m in infos):
                raise StoreError(f"{source.name} has a member larger than 2 GiB; refusing it.")
            return {m: archive.read(m) for m in (_MANIFEST, _MODEL, _CHECKSUM)}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        raise StoreError(f"{source.name} is not a readable mlvsdl bundle ({exc}).") from None


def _parse_manifest(data: bytes, source: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(data)
    except ValueError:
        raise StoreError(f"{source.name}: the manifest is not valid JSON; refusing it.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise StoreError(f"{source.name} is not an mlvsdl bundle (unknown format).")
    if manifest.get("version") != BUNDLE_VERSION:
        raise StoreError(
            f"{source.name} is bundle version {manifest.get('version')!r}; this mlvsdl reads "
            f"version {BUNDLE_VERSION}. Upgrade mlvsdl or export the model again."
        )
    needed = ("model", "run_id", "schema", "model_sha256")
    if any(key not in manifest for key in needed):
        raise StoreError(f"{source.name}: the manifest lacks {', '.join(needed)}; refusing it.")
    return manifest
