"""Provenance recorded with every run and artifact: library versions and the hardware.

It lives beside the store (not in ``result``, the read side) so that the writers — the trials'
recorder, bundles, refits — depend on the store alone.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata
from typing import Any

__all__ = ["hardware", "library_versions"]


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    libraries = ("numpy", "pandas", "scikit-learn", "lightgbm", "xgboost-cpu", "catboost")
    for dist in ("mlvsdl", *libraries, "torch", "skops"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return versions


def hardware() -> dict[str, Any]:
    import torch

    return {
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
    }
