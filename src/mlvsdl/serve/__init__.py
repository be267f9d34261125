"""Serve a stored model over HTTP (FastAPI + uvicorn): ``create_app`` and ``run_server``.

Needs the ``serve`` extra: ``pip install 'mlvsdl[serve]'``. Importing this package without it
raises a :class:`~mlvsdl.errors.ConfigError` that says so.
"""

from __future__ import annotations

from importlib.util import find_spec

from mlvsdl.errors import ConfigError

_MISSING = [name for name in ("fastapi", "uvicorn", "multipart") if find_spec(name) is None]
if _MISSING:
    raise ConfigError(
        f"serving needs {', '.join(_MISSING)}, which are not installed; "
        "run: pip install 'mlvsdl[serve]'"
    )

from mlvsdl.serve.app import create_app  # noqa: E402
from mlvsdl.serve.server import run_server  # noqa: E402

__all__ = ["create_app", "run_server"]
