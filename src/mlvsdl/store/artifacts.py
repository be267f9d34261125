"""Model artifacts: safe to load, atomic to write.

Format and trust model
----------------------
A fitted model (preprocessing included) is saved with ``skops.io``, never pickle. Loading a
skops file rebuilds objects from an explicit description and refuses every type that is not
trusted, so a file cannot run code on load the way a pickle can. mlvsdl trusts only the types of
the libraries it builds models from (``mlvsdl``, ``sklearn``, ``lightgbm``, ``numpy``, and
``scipy.sparse`` matrices, which a k-nearest-neighbours model keeps as its training data); a file
naming any other type is refused. Networks store their weights as plain numpy arrays plus a JSON
config inside the same file (see ``families/dl``), so no torch deserialization happens at all.
The SHA-256 of every artifact is kept in the run database, and a file whose bytes changed is
refused before it is parsed.

Atomicity: each artifact is written as ``<dir>/.<name>.tmp-*`` and renamed to ``<dir>/<name>``
only once complete and flushed, so a kill leaves either no artifact or a whole one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import skops.io as sio

from mlvsdl.errors import StoreError

__all__ = [
    "TRUSTED_PREFIXES",
    "file_sha256",
    "load_estimator",
    "save_estimator",
    "write_bytes_atomic",
]

TRUSTED_PREFIXES = ("mlvsdl.", "sklearn.", "lightgbm.", "numpy.", "scipy.sparse.")
TRUSTED_EXACT = frozenset({"collections.OrderedDict", "builtins.slice"})


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_estimator(estimator: Any, path: Path, manifest: dict[str, Any]) -> str:
    """Save ``estimator`` to ``path`` (skops) and its manifest beside it; return the SHA-256."""
    data = sio.dumps(estimator)
    sha = hashlib.sha256(data).hexdigest()
    manifest_path = path.with_suffix(".json")
    write_bytes_atomic(path, data)
    write_bytes_atomic(
        manifest_path, json.dumps({**manifest, "sha256": sha}, indent=2, default=str).encode()
    )
    return sha


def _is_trusted(type_name: str) -> bool:
    return type_name in TRUSTED_EXACT or type_name.startswith(TRUSTED_PREFIXES)


def load_estimator(path: Path, expected_sha256: str | None) -> Any:
    """Load a model saved by :func:`save_estimator`, refusing changed or untrusted files."""
    if not path.is_file():
        raise StoreError(f"model artifact {path} is missing; the run may have been interrupted.")
    data = path.read_bytes()
    if expected_sha256 is not None and hashlib.sha256(data).hexdigest() != expected_sha256:
        raise StoreError(
            f"model artifact {path.name} was modified after it was written (checksum mismatch); "
            "refusing to load it. Re-run the comparison to rebuild it."
        )
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # skops raises several types for a malformed archive
        raise StoreError(f"model artifact {path.name} is not a valid skops file: {exc}") from None
    refused = [t for t in untrusted if not _is_trusted(t)]
    if refused:
        raise StoreError(
            f"model artifact {path.name} contains types mlvsdl does not trust "
            f"({', '.join(refused[:5])}); refusing to load it."
        )
    return sio.loads(data, trusted=untrusted)
